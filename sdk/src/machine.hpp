// SPDX-License-Identifier: GPL-2.0
#pragma once

#include "agent_link.hpp"
#include "child_process.hpp"
#include "deadline.hpp"
#include "qemu.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace kmsdk::detail {

// A QEMU whose agent answered: the process and the conversation with it.
struct Machine {
    ChildProcess qemu;
    AgentLink link;
    std::string release;  // the guest kernel's, from Hello
};

// Why a machine did not come up. `final` when trying again cannot help
// (QEMU refused its command line, the guest ran out of memory).
struct StartFailure {
    std::string reason;
    bool final = false;
};

// A Machine, or why there is none.
class Started {
public:
    Started(Machine machine) : machine_{std::move(machine)} {}
    Started(StartFailure failure) : failure_{std::move(failure)} {}
    explicit operator bool() const { return machine_.has_value(); }
    Machine take() { return std::move(*machine_); }
    const StartFailure& failure() const { return failure_; }

private:
    std::optional<Machine> machine_;
    StartFailure failure_;
};

// Called while waiting; throws to stop the wait (Interrupted).
using WaitCheck = std::function<void()>;

// Starts QEMU on `config`, its sockets cleared first.
ChildProcess launch(const MachineConfig& config);

// Connects to a started QEMU's agent and waits for its Hello.
Started await_agent(ChildProcess qemu, const MachineConfig& config, const Deadline& deadline,
                    const WaitCheck& check);

// Boots `config` from scratch: launch, then await_agent.
Started boot_machine(const MachineConfig& config, const Deadline& deadline, const WaitCheck& check);

// Why QEMU exited, with the last lines of its own log.
StartFailure qemu_exit_failure(int status, const MachineConfig& config);

}  // namespace kmsdk::detail
