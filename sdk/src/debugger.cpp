// SPDX-License-Identifier: GPL-2.0
#include "kmsdk/debugger.hpp"

#include "child_process.hpp"
#include "deadline.hpp"
#include "gdb_script.hpp"
#include "host_command.hpp"
#include "kallsyms_elf.hpp"
#include "temp_dir.hpp"
#include "unique_fd.hpp"

#include "kmsdk/modinfo.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <optional>
#include <poll.h>
#include <sys/wait.h>
#include <sstream>
#include <unistd.h>

namespace kmsdk {

namespace fs = std::filesystem;
using detail::Deadline;

DebuggerOptions& DebuggerOptions::module(fs::path ko)
{
    modules_.push_back(std::move(ko));
    return *this;
}

DebuggerOptions& DebuggerOptions::modules(const std::vector<fs::path>& kos)
{
    modules_.insert(modules_.end(), kos.begin(), kos.end());
    return *this;
}

DebuggerOptions& DebuggerOptions::commands(fs::path file)
{
    commands_ = std::move(file);
    return *this;
}

DebuggerOptions& DebuggerOptions::kernel_symbols(fs::path vmlinux)
{
    kernel_symbols_ = std::move(vmlinux);
    return *this;
}

DebuggerOptions& DebuggerOptions::gdb(fs::path program)
{
    gdb_ = std::move(program);
    return *this;
}

namespace {

// gdb has this long to connect and put the module watch in place: reading
// a -dbg vmlinux's DWARF (605 MB for 6.1) took 20 s of it on an idle host.
constexpr auto attach_budget = std::chrono::seconds{120};

fs::path gdb_program(const fs::path& chosen)
{
    if (!chosen.empty())
        return chosen;
    if (const char* variable = std::getenv("KMSDK_GDB"); variable && *variable) {
        if (::access(variable, X_OK) != 0)
            throw GuestError(fmt::format("KMSDK_GDB={} is not an executable; unset it or fix the path", variable));
        return variable;
    }
    auto found = detail::find_in_path("gdb");
    if (found.empty())
        throw GuestError("gdb is not installed: run 'apt-get install gdb' (or point KMSDK_GDB at one)");
    return found;
}

fs::path linker()
{
    auto found = detail::find_in_path("ld");
    if (found.empty())
        throw GuestError("ld is not installed, and kmsdk debug links each module at its load addresses "
                         "with it: run 'apt-get install binutils'");
    return found;
}

// As a shell reports a child's end: its exit status, or 128 + signal.
int exit_code(int wait_status)
{
    return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

// The address of each of `names` in the guest's /proc/kallsyms; 0 for
// those it does not list.
std::map<std::string, std::uint64_t> kernel_addresses(Guest& guest, const std::vector<std::string>& names)
{
    std::string pattern;
    for (const auto& name : names)
        pattern += (pattern.empty() ? "" : "|") + name;
    auto listing = guest.run(fmt::format("grep -wE '{}' /proc/kallsyms", pattern)).out;
    std::map<std::string, std::uint64_t> addresses;
    std::istringstream lines{listing};
    for (std::string address, type, name; lines >> address >> type >> name;)
        if (!addresses.contains(name))
            addresses[name] = std::stoull(address, nullptr, 16);
    return addresses;
}

}  // namespace

class Debugger::Impl {
public:
    Impl(Guest& guest, DebuggerOptions options)
        : guest_{guest}, options_{std::move(options)}, dir_{(detail::remove_abandoned("kmsdk-gdb"), "kmsdk-gdb")}
    {
        auto socket = guest_.gdb_socket();
        if (socket.empty())
            throw GuestError("this guest has no gdbstub to attach gdb to: make it with GuestOptions::gdb_stub()");
        auto gdb = gdb_program(options_.gdb_);
        if (!options_.commands_.empty() && !fs::is_regular_file(options_.commands_))
            throw GuestError(fmt::format("the gdb commands file {} does not exist", options_.commands_.string()));

        int ready[2];
        if (::pipe2(ready, O_CLOEXEC) != 0)
            throw GuestError(fmt::format("cannot make a pipe for gdb: {}", std::strerror(errno)));
        detail::UniqueFd ready_read{ready[0]};
        detail::UniqueFd ready_write{ready[1]};

        auto script = dir_.path() / "module-watch.py";
        std::ofstream{script} << detail::module_watch_script(watch(detail::ChildProcess::passed_fd_number));
        auto symbols = kernel_symbol_file();

        std::vector<std::string> argv = {gdb.string(), "-q"};
        if (batch())
            argv.insert(argv.end(), {"-nx", "-batch"});
        argv.insert(argv.end(), {"-ex", "set breakpoint pending on", symbols.string(),
                                 "-ex", "target remote " + socket.string(), "-x", script.string()});
        if (batch())
            argv.insert(argv.end(), {"-x", options_.commands_.string()});
        // At its terminal gdb shares kmsdk's process group, so that Ctrl-C
        // reaches it (and it stops the guest); in batch mode it is
        // kmsdk's to end.
        gdb_.emplace(argv, fs::path{},
                     detail::ChildProcess::Options{.own_process_group = batch(),
                                                   .pass_fd = ready_write.get(),
                                                   .inherit_stdin = !batch()});
        ready_write.reset();
        await_ready(ready_read.get());
    }

    const std::string& kernel_symbols() const { return kernel_symbols_; }
    Guest& guest() { return guest_; }

    CommandResult run(const Command& command, Streams& streams, std::chrono::milliseconds timeout)
    {
        return guest_.run(command, streams, timeout);
    }

    int finish(std::chrono::milliseconds timeout)
    {
        if (!scripted_) {
            // The command could end only while the guest ran: gdb is in a
            // `continue`, and gets its prompt back.
            gdb_->signal(SIGINT);
            while (!gdb_->wait_for(std::chrono::hours{1})) {
            }
            return exit_code(*gdb_->poll());
        }
        Deadline deadline{timeout};
        // A `continue` that waits for a guest with nothing left to do ends
        // only when gdb interrupts it.
        auto patience = std::chrono::milliseconds{500};
        while (!gdb_->wait_for(patience) && !deadline.expired()) {
            gdb_->signal(SIGINT);
            patience = std::chrono::seconds{2};
        }
        if (auto status = gdb_->poll())
            return exit_code(*status);
        gdb_->kill();
        throw GuestError(fmt::format("gdb did not finish its commands within {} s of the guest's command ending "
                                     "(a `continue` with nothing left to stop at?); it was killed",
                                     std::chrono::duration_cast<std::chrono::seconds>(timeout).count()));
    }

private:
    bool batch() const { return !options_.commands_.empty(); }

    detail::ModuleWatch watch(int ready_fd)
    {
        auto hooks = kernel_addresses(guest_, {"module_finalize", "free_module"});
        if (!hooks["module_finalize"])
            throw GuestError(fmt::format("the {} kernel lists no module_finalize in /proc/kallsyms, where kmsdk "
                                         "learns where modules load; debug with its -dbg vmlinux and "
                                         "lx-symbols instead",
                                         guest_.release()));
        detail::ModuleWatch watch{.modules = {},
                                  .load_hook = hooks["module_finalize"],
                                  .unload_hook = hooks["free_module"],
                                  .ready_fd = ready_fd,
                                  .linker = linker(),
                                  .folder = dir_.path(),
                                  .interactive = !batch()};
        for (const auto& ko : options_.modules_) {
            auto name = ModuleInfo::read(ko).name();
            auto listing = guest_.run(fmt::format(
                "cd /sys/module/{}/sections 2>/dev/null && for s in .* *; do [ -f \"$s\" ] && echo \"$s $(cat \"$s\")\"; done",
                name)).out;
            watch.modules.push_back({name, fs::absolute(ko), detail::parse_sections(listing)});
        }
        return watch;
    }

    fs::path kernel_symbol_file()
    {
        if (!options_.kernel_symbols_.empty()) {
            if (!fs::is_regular_file(options_.kernel_symbols_))
                throw GuestError(fmt::format("the kernel symbols {} do not exist",
                                             options_.kernel_symbols_.string()));
            kernel_symbols_ = options_.kernel_symbols_.string();
            return options_.kernel_symbols_;
        }
        auto elf = dir_.path() / "kallsyms.elf";
        try {
            auto count = detail::write_kallsyms_elf(guest_.read("/proc/kallsyms"), elf);
            kernel_symbols_ = fmt::format("the guest's /proc/kallsyms ({} functions, {} objects; no types: "
                                          "'kmsdk kernels fetch --debug-symbols' has them)",
                                          count.functions, count.objects);
        } catch (const std::runtime_error& error) {
            throw GuestError(fmt::format("no kernel symbols for gdb: {}", error.what()));
        }
        return elf;
    }

    void await_ready(int ready_fd)
    {
        Deadline deadline{attach_budget};
        while (!deadline.expired()) {
            pollfd watched[2] = {{ready_fd, POLLIN, 0}, {gdb_->pidfd(), POLLIN, 0}};
            if (::poll(watched, 2, deadline.poll_ms()) < 0 && errno != EINTR)
                break;
            char byte = 0;
            if ((watched[0].revents & POLLIN) && ::read(ready_fd, &byte, 1) == 1)
                return;
            if (auto status = gdb_->poll())
                throw GuestError(fmt::format("gdb {} before it was attached to the guest (its messages are above)",
                                             detail::describe_wait_status(*status)));
            if (watched[0].revents & POLLHUP)
                break;
        }
        gdb_->kill();
        throw GuestError(fmt::format("gdb did not attach to the guest's gdbstub within {} s",
                                     attach_budget.count()));
    }

    Guest& guest_;
    DebuggerOptions options_;
    detail::TempDir dir_;
    std::string kernel_symbols_;
    std::optional<detail::ChildProcess> gdb_;
    // gdb reads a script, or commands piped in: no one is at its prompt
    // to end a `continue` once the guest has nothing left to do.
    bool scripted_ = batch() || !::isatty(STDIN_FILENO);
};

Debugger::Debugger(Guest& guest, DebuggerOptions options)
    : impl_{std::make_unique<Impl>(guest, std::move(options))}
{
}

Debugger::~Debugger() = default;

const std::string& Debugger::kernel_symbols() const { return impl_->kernel_symbols(); }

CommandResult Debugger::run(const Command& command, Streams& streams, std::chrono::milliseconds timeout)
{
    return impl_->run(command, streams, timeout);
}

CommandResult Debugger::run(const Command& command, std::chrono::milliseconds timeout)
{
    return impl_->guest().run(command, timeout);
}

int Debugger::finish(std::chrono::milliseconds timeout) { return impl_->finish(timeout); }

}  // namespace kmsdk
