// SPDX-License-Identifier: GPL-2.0
#include "machine.hpp"

#include "kmsdk/kernel_log.hpp"
#include "text.hpp"

#include <fmt/format.h>

#include <sys/wait.h>

namespace kmsdk::detail {
namespace {

// What a kernel with too little memory says before it stops.
StartFailure memory_failure(const MachineConfig& config)
{
    auto console = read_if_present(config.console_log);
    for (const char* sign : {"Out of memory", "out of memory", "deadlocked on memory",
                             "Initramfs unpacking failed", "Unable to mount root fs"})
        if (console.find(sign) != std::string::npos)
            return {fmt::format("the guest ran out of memory with {} MiB (its kernel said \"{}\"); "
                                "give it more with --memory or GuestOptions::memory_mb",
                                config.memory_mb, sign),
                    true};
    return {};
}

}  // namespace

ChildProcess launch(const MachineConfig& config)
{
    for (const auto& stale : {config.agent_socket, config.qmp_socket, config.gdb_socket, config.qemu_log})
        if (!stale.empty())
            std::filesystem::remove(stale);
    return start_qemu(config);
}

StartFailure qemu_exit_failure(int status, const MachineConfig& config)
{
    // A guest that dies exits QEMU with 0 (-no-reboot); a QEMU that cannot
    // start the machine (a bad -device, say) exits 1.
    if (auto memory = memory_failure(config); memory.final)
        return memory;
    bool refused = WIFEXITED(status) && WEXITSTATUS(status) != 0;
    auto log = read_if_present(config.qemu_log);
    return {fmt::format("QEMU {}{}{}", describe_wait_status(status), log.empty() ? "" : ": ",
                        last_lines(log, 5)),
            refused};
}

Started await_agent(ChildProcess qemu, const MachineConfig& config, const Deadline& deadline,
                    const WaitCheck& check)
{
    try {
        auto link = AgentLink::connect(config.agent_socket, deadline);
        std::optional<int> exited;
        auto hello = link.await_hello(deadline, [&] {
            check();
            exited = qemu.poll();
            return exited.has_value();
        });
        if (hello)
            return Machine{std::move(qemu), std::move(link), hello->release};
        if (exited)
            return qemu_exit_failure(*exited, config);
        if (auto memory = memory_failure(config); memory.final)
            return memory;
        return StartFailure{fmt::format("no answer from the agent within {}",
                                        seconds(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            deadline.budget())))};
    } catch (const ChannelClosed& closed) {
        auto status = qemu.wait_for(std::chrono::milliseconds(500));
        return status ? qemu_exit_failure(*status, config) : StartFailure{closed.what()};
    } catch (const proto::ProtocolError& error) {
        return StartFailure{error.what()};
    }
}

Started boot_machine(const MachineConfig& config, const Deadline& deadline, const WaitCheck& check)
{
    return await_agent(launch(config), config, deadline, check);
}

}  // namespace kmsdk::detail
