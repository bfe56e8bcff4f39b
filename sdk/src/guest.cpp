// SPDX-License-Identifier: GPL-2.0
#include "kmsdk/guest.hpp"

#include "accel.hpp"
#include "channel.hpp"
#include "child_process.hpp"
#include "deadline.hpp"
#include "kmsdk/cache.hpp"
#include "kmsdk/initramfs.hpp"
#include "kmsdk/kernel_log.hpp"
#include "kmsdk/protocol.hpp"
#include "kmsdk/snapshots.hpp"
#include "qemu.hpp"
#include "qmp.hpp"
#include "snapshot_store.hpp"
#include "staging.hpp"
#include "temp_dir.hpp"
#include "terminal.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <future>
#include <iostream>
#include <optional>
#include <poll.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sstream>
#include <thread>
#include <unistd.h>
#include <utility>

namespace kmsdk {

using detail::Deadline;
using proto::PayloadReader;
using proto::PayloadWriter;
using proto::Type;

namespace {

std::string read_text_file(const std::filesystem::path& path)
{
    std::ifstream in{path, std::ios::binary};
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string last_lines(const std::string& text, std::size_t count)
{
    std::size_t pos = text.size();
    // A trailing newline does not start a line of its own.
    if (pos > 0 && text[pos - 1] == '\n')
        --pos;
    while (count > 0 && pos > 0) {
        pos = text.rfind('\n', pos - 1);
        if (pos == std::string::npos) {
            pos = 0;
            break;
        }
        --count;
    }
    return text.substr(pos == 0 ? 0 : pos + 1);
}

std::string seconds(std::chrono::milliseconds duration)
{
    return fmt::format("{:.1f} s", static_cast<double>(duration.count()) / 1000.0);
}

// The folder out-of-tree modules are delivered to.
std::string extra_dir(const std::string& release)
{
    return "/lib/modules/" + release + "/extra";
}

}  // namespace

bool HealthReport::healthy(std::string_view allowed) const
{
    if (!agent_alive || !problems.empty())
        return false;
    for (char taint : new_taints)
        if (allowed.find(taint) == std::string_view::npos)
            return false;
    return true;
}

std::string HealthReport::describe() const
{
    std::string text;
    if (!agent_alive)
        text += "The guest's agent stopped answering (the kernel may have panicked).\n";
    for (const auto& problem : problems)
        text += problem + "\n";
    if (!new_taints.empty())
        text += fmt::format("New taint flags: {} (now {}).\n", new_taints, taints);
    if (text.empty())
        text = "The guest is healthy.\n";
    return text;
}

class Guest::Impl {
public:
    explicit Impl(GuestOptions options)
        : options_{std::move(options)},
          kernel_{Kernel::find(options_.kernel_)},
          dir_{"kmsdk-guest"},
          plan_{detail::plan_staging(options_, kernel_)}
    {
        console_ = options_.console_log_.empty() ? dir_.path() / "console.log" : options_.console_log_;
        initrd_ = base_initramfs(InitramfsInputs{kernel_, detail::agent_binary()});
        accel_ = detail::choose_accel(options_.accel_, [this](const std::string& accel) {
            return boot_once(accel, std::chrono::seconds(4));
        });
        const char* cold = std::getenv("KMSDK_COLD");
        if (!options_.cold_ && !(cold && *cold && std::string_view{cold} != "0"))
            choose_snapshot();
        boot();
    }

    ~Impl() { kill(); }

    const Kernel& kernel() const { return kernel_; }
    const std::string& release() const { return release_; }
    const BootStats& stats() const { return stats_; }
    std::chrono::milliseconds command_timeout() const { return options_.command_timeout_; }

    // The sequence number the next kernel log record will get.
    std::uint64_t kernel_log_mark()
    {
        std::uint64_t next = 0;
        kernel_log_since(log_seq_, &next, nullptr);
        return next;
    }

    void boot()
    {
        kill();
        stats_ = {};
        // Held while this run boots cold to make the missing snapshot, so
        // that concurrent runs wait for it rather than make it too.
        std::optional<detail::SnapshotLock> making;
        if (!snapshot_.path.empty()) {
            bool restored = restore();
            if (!restored) {
                making = claim_snapshot();
                // Another run may have made it while this one waited.
                restored = making && restore();
            }
            if (restored) {
                making.reset();
                stage();
                baseline_health();
                return;
            }
        }
        std::string failures;
        for (unsigned attempt = 1; attempt <= options_.boot_attempts_; ++attempt) {
            stats_.attempts = attempt;
            if (boot_once(accel_, options_.boot_timeout_)) {
                if (making)
                    save_snapshot();
                making.reset();
                stage();
                baseline_health();
                return;
            }
            if (qemu_refused_) {
                kill();
                throw BootError(fmt::format(
                    "QEMU refused to start the guest: {}\nCheck the devices and options given "
                    "(see the message above), or run scripts/setup.sh if QEMU is broken.",
                    last_boot_failure_));
            }
            // The next QEMU truncates the console: keep what this one said.
            stats_.failed_attempts.push_back(
                fmt::format("{}\nConsole tail:\n{}", last_boot_failure_, console_tail(10)));
            failures += fmt::format("attempt {}: {}\n", attempt, last_boot_failure_);
            kill();
        }
        throw BootError(fmt::format(
            "the {} guest did not come up in {} attempts of {} each:\n{}Console tail:\n{}\n"
            "If the machine is very busy, raise the boot timeout; otherwise this is a bug in kmsdk.",
            kernel_.release(), options_.boot_attempts_, seconds(options_.boot_timeout_), failures,
            console_tail(20)));
    }

    // Starts QEMU and waits for the agent's Hello. False, with the reason
    // in last_boot_failure_, when it does not come in time or QEMU exits.
    bool boot_once(const std::string& accel, std::chrono::milliseconds timeout)
    {
        auto started = std::chrono::steady_clock::now();
        qemu_.emplace(detail::start_qemu(machine_config(accel)));
        Deadline deadline{timeout};
        if (await_agent(deadline)) {
            stats_.to_agent = std::chrono::steady_clock::now() - started;
            return true;
        }
        kill();
        return false;
    }

    // The machine every boot and restore of this guest runs: the same but
    // for a restore's saved stream.
    detail::MachineConfig machine_config(const std::string& accel, int incoming_fd = -1)
    {
        qemu_refused_ = false;
        for (const char* stale : {"agent.sock", "qmp.sock", "qemu.log"})
            std::filesystem::remove(dir_.path() / stale);
        return detail::MachineConfig{
            .vmlinux = kernel_.vmlinux(),
            .initrd = initrd_,
            .kernel_cmdline = kernel_cmdline(),
            .memory_mb = options_.memory_mb_,
            .accel = accel,
            .devices = options_.devices_,
            .console_log = console_,
            .agent_socket = dir_.path() / "agent.sock",
            .qmp_socket = dir_.path() / "qmp.sock",
            .incoming_fd = incoming_fd,
            .qemu_log = dir_.path() / "qemu.log",
        };
    }

    // Connects to the started QEMU's agent channel and waits for the
    // agent's Hello. False, with the reason in last_boot_failure_, when it
    // does not come by the deadline or QEMU exits.
    bool await_agent(const Deadline& deadline)
    {
        try {
            channel_.emplace(detail::Channel::connect(dir_.path() / "agent.sock", deadline));
            // The Hello the agent sends on opening its port may have gone
            // before we connected: ask again now and then.
            auto next_ping = std::chrono::steady_clock::now();
            for (;;) {
                if (std::chrono::steady_clock::now() >= next_ping) {
                    channel_->send({Type::Ping, 0, {}}, deadline);
                    next_ping += std::chrono::milliseconds(250);
                }
                Deadline slice{std::chrono::milliseconds(50)};
                auto frame = channel_->receive(deadline.expired() ? deadline : slice);
                if (frame && frame->type == Type::Hello) {
                    PayloadReader hello{frame->payload};
                    release_ = hello.bytes();
                    return true;
                }
                if (deadline.expired()) {
                    last_boot_failure_ = fmt::format(
                        "no answer from the agent within {}",
                        seconds(std::chrono::duration_cast<std::chrono::milliseconds>(deadline.budget())));
                    return false;
                }
                if (auto status = qemu_->poll()) {
                    last_boot_failure_ = qemu_exit_reason(*status);
                    return false;
                }
            }
        } catch (const detail::ChannelClosed& closed) {
            auto status = qemu_->wait_for(std::chrono::milliseconds(500));
            last_boot_failure_ = status ? qemu_exit_reason(*status) : closed.what();
        } catch (const proto::ProtocolError& error) {
            last_boot_failure_ = error.what();
        }
        return false;
    }

    // Which snapshot this guest restores, and makes when it is missing: one
    // per machine (memory, devices, kernel command line), in the kernel's
    // snapshot folder; its key covers everything else it must match.
    void choose_snapshot()
    {
        auto machine = machine_config(accel_);
        auto slot = ContentHash{}.add(machine.memory_mb).add(machine.accel).add(machine.kernel_cmdline);
        std::string devices;
        for (const auto& device : machine.devices) {
            slot.add(device);
            devices += (devices.empty() ? "" : " ") + device;
        }
        snapshot_.path = snapshot_dir(kernel_) /
                         fmt::format("m{}-{}{}", machine.memory_mb, slot.hex().substr(0, 12),
                                     detail::snapshot_suffix);
        snapshot_.key = ContentHash{}.add(detail::machine_identity(machine)).hex();
        snapshot_.machine = fmt::format("{} MiB, {}, devices: {}", machine.memory_mb, machine.accel,
                                        devices.empty() ? "none" : devices);
    }

    // A notice is one line, even when what it quotes (QEMU's log) is not.
    void notice(std::string text) const
    {
        while (!text.empty() && text.back() == '\n')
            text.pop_back();
        for (auto newline = text.find('\n'); newline != std::string::npos; newline = text.find('\n'))
            text.replace(newline, 1, "; ");
        if (options_.on_notice_)
            options_.on_notice_(text);
        else
            std::cerr << "kmsdk: " << text << std::endl;
    }

    // Says once why a snapshot cannot be used; a cold boot replaces it.
    void snapshot_unusable(std::string why)
    {
        while (!why.empty() && std::isspace(static_cast<unsigned char>(why.back())))
            why.pop_back();
        auto identity = file_identity(snapshot_.path);
        if (identity == snapshot_.reported_broken)
            return;
        snapshot_.reported_broken = identity;
        notice(fmt::format("the snapshot {} is {}; booting cold and replacing it",
                           snapshot_.path.string(), why));
    }

    // Which file is at `path` now (inode and change time), so that one
    // found broken is not tried again until it is replaced.
    static std::string file_identity(const std::filesystem::path& path)
    {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0)
            return {};
        return fmt::format("{}:{}.{}", st.st_ino, st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
    }

    // Starts QEMU from the snapshot and waits for the agent. False (after
    // a notice if the snapshot is broken) when there is no usable one.
    bool restore()
    {
        if (!snapshot_.reported_broken.empty() &&
            file_identity(snapshot_.path) == snapshot_.reported_broken)
            return false;
        std::optional<detail::SnapshotFile> file;
        try {
            file = detail::open_snapshot(snapshot_.path, snapshot_.key);
        } catch (const detail::SnapshotBroken& broken) {
            snapshot_unusable(broken.what());
            return false;
        }
        if (!file)
            return false;

        auto started = std::chrono::steady_clock::now();
        // Checked while QEMU loads it; the guest runs only once it passed.
        auto intact = std::async(std::launch::async, [&file] {
            return detail::stream_intact(file->fd.get(), file->header);
        });
        qemu_.emplace(detail::start_qemu(machine_config(accel_, file->fd.get())));
        Deadline deadline{options_.boot_timeout_};
        std::string why;
        try {
            auto qmp = detail::Qmp::connect(dir_.path() / "qmp.sock", deadline);
            std::string state;
            while ((state = qmp.execute("query-status", deadline).value("status", "")) == "inmigrate") {
                if (deadline.expired())
                    throw std::runtime_error(fmt::format(
                        "QEMU was still loading it after {}", seconds(options_.boot_timeout_)));
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            if (!intact.get())
                why = "corrupt: its stream does not have the checksum it was saved with";
            else if (state != "paused")
                why = fmt::format("not loadable: QEMU is {} after loading it", state);
            else {
                qmp.execute("cont", deadline);
                if (await_agent(deadline)) {
                    stats_.to_agent = std::chrono::steady_clock::now() - started;
                    stats_.restored = true;
                    stats_.attempts = 1;
                    resume();
                    return true;
                }
                why = fmt::format("not usable: the restored guest failed ({})", last_boot_failure_);
            }
        } catch (const std::exception& error) {
            auto status = qemu_->wait_for(std::chrono::milliseconds(500));
            why = fmt::format("not loadable: {}", status ? qemu_exit_reason(*status) : error.what());
        }
        if (intact.valid())
            intact.wait();
        kill();
        snapshot_unusable(why);
        return false;
    }

    // A restored guest starts from the random pool and the clock it was
    // saved with: give it its own.
    void resume()
    {
        std::string seed(64, '\0');
        if (::getrandom(seed.data(), seed.size(), 0) != static_cast<ssize_t>(seed.size()))
            throw GuestError(fmt::format("getrandom: {}", std::strerror(errno)));
        auto now = std::chrono::system_clock::now().time_since_epoch();
        auto reply = transact(Type::Resume,
                              PayloadWriter{}.bytes(seed).u64(static_cast<std::uint64_t>(
                                  std::chrono::duration_cast<std::chrono::nanoseconds>(now).count())).take(),
                              options_.command_timeout_, "resuming the restored guest");
        stats_.resume_log = PayloadReader{reply.payload}.bytes();
    }

    // The right to make the missing (or broken) snapshot. Another run may
    // be making it: wait for that one, then restore what it made.
    // nullopt when the snapshot was restored meanwhile, or when the other
    // run takes too long (this one then boots cold without saving).
    std::optional<detail::SnapshotLock> claim_snapshot()
    {
        auto patience = options_.boot_timeout_ * options_.boot_attempts_ + std::chrono::seconds(60);
        auto lock = detail::SnapshotLock::acquire(snapshot_.path, Deadline{patience});
        if (!lock) {
            notice(fmt::format("another run has been making the snapshot {} for over {}; "
                               "booting cold without it",
                               snapshot_.path.string(),
                               seconds(std::chrono::duration_cast<std::chrono::milliseconds>(patience))));
            return std::nullopt;
        }
        return lock;
    }

    // Saves the guest that just came up, agent ready and nothing staged,
    // as this machine's snapshot. The guest stands still meanwhile; a
    // failure (a full disk, say) is a notice, and the guest goes on.
    void save_snapshot()
    {
        auto started = std::chrono::steady_clock::now();
        try {
            detail::SnapshotWriter writer{snapshot_.path};
            Deadline deadline{std::chrono::seconds(60)};
            auto qmp = detail::Qmp::connect(dir_.path() / "qmp.sock", deadline);
            qmp.execute("stop", deadline);
            std::string failure;
            try {
                qmp.pass_fd("snapshot", writer.fd(), deadline);
                qmp.execute("migrate", {{"uri", "fd:snapshot"}}, deadline);
                for (;;) {
                    auto progress = qmp.execute("query-migrate", deadline);
                    auto status = progress.value("status", "");
                    if (status == "completed")
                        break;
                    if (status == "failed" || status == "cancelled") {
                        failure = progress.value("error-desc", "QEMU's migration " + status);
                        break;
                    }
                    if (deadline.expired()) {
                        qmp.execute("migrate_cancel", Deadline{std::chrono::seconds(5)});
                        failure = "QEMU had not written it after 60 s";
                        break;
                    }
                    std::this_thread::sleep_for(std::chrono::milliseconds(10));
                }
            } catch (const std::exception& error) {
                failure = error.what();
            }
            qmp.execute("cont", Deadline{std::chrono::seconds(5)});
            if (!failure.empty())
                throw std::runtime_error(failure);
            auto took = std::chrono::steady_clock::now() - started;
            writer.commit(detail::SnapshotHeader{
                .key = snapshot_.key,
                .machine = snapshot_.machine,
                .created = std::time(nullptr),
                .save_ms = static_cast<std::uint64_t>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(took).count()),
            });
            snapshot_.reported_broken.clear();
            stats_.snapshot_save = std::chrono::steady_clock::now() - started;
        } catch (const std::exception& error) {
            notice(fmt::format("could not save a snapshot into {} ({}); going on without one",
                               snapshot_.path.parent_path().string(), error.what()));
        }
    }

    // Sends the request and waits for its reply. A reply of type Error
    // throws GuestError with the agent's message.
    proto::Frame transact(Type type, std::string payload, std::chrono::milliseconds timeout,
                          std::string_view what)
    {
        ensure_running();
        proto::Frame request{type, ++next_id_, std::move(payload)};
        Deadline deadline{timeout};
        try {
            channel_->send(request, deadline);
            while (auto reply = channel_->receive(deadline)) {
                if (reply->id != request.id)
                    continue;  // a late Hello, or the reply to a request given up on
                if (reply->type == Type::Error) {
                    PayloadReader error{reply->payload};
                    error.i32();
                    throw GuestError(fmt::format("{}: {}", what, error.bytes()));
                }
                return std::move(*reply);
            }
        } catch (const detail::ChannelClosed&) {
            auto status = qemu_->wait_for(std::chrono::milliseconds(500));
            std::string why = status ? qemu_exit_reason(*status) : "its channel closed";
            kill();
            throw GuestCrashed(fmt::format(
                "{}: the guest died ({}). It will boot again for its next use.\n{}", what, why,
                crash_report()));
        } catch (const proto::ProtocolError& error) {
            kill();
            throw GuestError(fmt::format("{}: {}; the guest will boot again for its next use",
                                         what, error.what()));
        }
        kill();
        throw CommandTimeout(fmt::format(
            "{} did not finish within {}; the guest was stopped and will boot again for its "
            "next use.\n{}",
            what, seconds(timeout), crash_report()));
    }

    CommandResult run(std::string_view command, std::chrono::milliseconds timeout)
    {
        auto reply = transact(Type::Run, PayloadWriter{}.bytes(command).bytes("").bytes("").take(),
                              timeout, fmt::format("`{}`", command));
        PayloadReader result{reply.payload};
        CommandResult r;
        r.status = result.i32();
        r.out = result.bytes();
        r.err = result.bytes();
        r.elapsed = std::chrono::nanoseconds(result.u64());
        return r;
    }

    int interactive(std::string_view command)
    {
        ensure_running();
        detail::RawTerminal raw{STDIN_FILENO};
        auto size = detail::terminal_size(STDOUT_FILENO);
        proto::Frame open{Type::PtyOpen, ++next_id_,
                          PayloadWriter{}.bytes(command).u32(size.rows).u32(size.cols).take()};
        try {
            channel_->send(open, Deadline{options_.command_timeout_});
            bool stdin_open = true;
            for (;;) {
                pollfd fds[2] = {{channel_->fd(), POLLIN, 0},
                                 {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
                if (::poll(fds, 2, 1000) < 0 && errno != EINTR)
                    throw GuestError(fmt::format("poll: {}", std::strerror(errno)));
                if (fds[1].revents & (POLLIN | POLLHUP)) {
                    char keys[4096];
                    auto n = ::read(STDIN_FILENO, keys, sizeof keys);
                    // At the end of piped input, Ctrl-D ends the shell.
                    std::string input = n > 0 ? std::string(keys, static_cast<std::size_t>(n)) : "\x04";
                    stdin_open = n > 0;
                    channel_->send({Type::PtyInput, open.id, PayloadWriter{}.bytes(input).take()},
                                   Deadline{options_.command_timeout_});
                }
                while (auto frame = channel_->receive(Deadline{std::chrono::milliseconds(0)})) {
                    if (frame->id != open.id)
                        continue;
                    PayloadReader reader{frame->payload};
                    if (frame->type == Type::PtyOutput) {
                        auto output = reader.bytes();
                        detail::write_all(STDOUT_FILENO, output);
                    } else if (frame->type == Type::PtyExit) {
                        return reader.i32();
                    } else if (frame->type == Type::Error) {
                        reader.i32();
                        throw GuestError("the guest refused a terminal: " + reader.bytes());
                    }
                }
                if (qemu_->poll())
                    throw detail::ChannelClosed("QEMU exited");
            }
        } catch (const detail::ChannelClosed&) {
            kill();
            throw GuestCrashed(fmt::format("the guest died during the session.\n{}",
                                           crash_report()));
        }
    }

    std::string read(const std::string& path)
    {
        auto reply = transact(Type::GetFile, PayloadWriter{}.bytes(path).take(),
                              options_.command_timeout_, fmt::format("reading {}", path));
        return PayloadReader{reply.payload}.bytes();
    }

    void write(const std::string& path, std::string_view contents, unsigned mode)
    {
        transact(Type::PutFile, PayloadWriter{}.bytes(path).u32(mode).bytes(contents).take(),
                 options_.command_timeout_, fmt::format("writing {}", path));
    }

    ModuleResult module_request(Type type, std::string payload, std::string what)
    {
        auto reply = transact(type, std::move(payload), options_.command_timeout_, what);
        PayloadReader result{reply.payload};
        ModuleResult r;
        r.error = result.i32();
        r.message = result.bytes();
        r.elapsed = std::chrono::nanoseconds(result.u64());
        return r;
    }

    ModuleResult insmod(std::string_view module, std::string_view params)
    {
        std::string path{module};
        if (path.find('/') == std::string::npos) {
            if (!path.ends_with(".ko"))
                path += ".ko";
            path = extra_dir(release_) + "/" + path;
        }
        return module_request(Type::Insmod, PayloadWriter{}.bytes(path).bytes(params).take(),
                              fmt::format("insmod {} {}", path, params));
    }

    ModuleResult rmmod(std::string_view name, bool force)
    {
        return module_request(Type::Rmmod, PayloadWriter{}.bytes(name).u32(force ? 1 : 0).take(),
                              fmt::format("rmmod {}{}", force ? "-f " : "", name));
    }

    std::vector<KernelLogRecord> kernel_log_since(std::uint64_t first, std::uint64_t* next,
                                                  std::uint64_t* taint)
    {
        auto reply = transact(Type::ReadKernelLog, PayloadWriter{}.u64(first).take(),
                              options_.command_timeout_, "reading the kernel log");
        PayloadReader log{reply.payload};
        auto next_seq = log.u64();
        auto taint_mask = log.u64();
        auto records = parse_kmsg(log.bytes());
        if (next)
            *next = next_seq;
        if (taint)
            *taint = taint_mask;
        return records;
    }

    std::string dmesg() { return format_dmesg(kernel_log_since(0, nullptr, nullptr)); }

    HealthReport health()
    {
        HealthReport report;
        // What a guest that died between requests said before it went.
        report.problems = std::exchange(unreported_problems_, {});
        std::vector<KernelProblem> problems;
        try {
            std::uint64_t next = 0;
            std::uint64_t taint = 0;
            problems = scan(kernel_log_since(log_seq_, &next, &taint));
            report.new_taints = new_taints(taint_, taint);
            report.taints = taint_letters(taint);
            log_seq_ = next;
            taint_ = taint;
        } catch (const GuestError&) {
            // The agent is gone: what the kernel said last is on the console.
            report.agent_alive = false;
            problems = scan_console(read_text_file(console_));
        }
        for (const auto& problem : problems)
            report.problems.push_back(describe({problem}));
        return report;
    }

    void check_healthy(std::string_view allowed)
    {
        auto report = health();
        if (report.healthy(allowed))
            return;
        kill();  // boots again, clean, for its next use
        throw GuestUnhealthy(fmt::format("the {} guest is not healthy:\n{}", kernel_.release(),
                                         report.describe()));
    }

    std::string console_tail(std::size_t lines) const
    {
        return last_lines(read_text_file(console_), lines);
    }

    void shutdown()
    {
        if (qemu_ && !qemu_->poll() && channel_) {
            try {
                Deadline deadline{std::chrono::seconds(5)};
                channel_->send({Type::Shutdown, ++next_id_, {}}, deadline);
                qemu_->wait_for(std::chrono::seconds(10));
            } catch (const std::exception&) {
                // Killed below, which is all a throw-away guest needs.
            }
        }
        kill();
    }

    void kill()
    {
        channel_.reset();
        if (qemu_)
            qemu_->kill();
        qemu_.reset();
    }

private:
    void ensure_running()
    {
        // QEMU's exit can show on the channel before waitpid reports it.
        if (qemu_ && !qemu_->poll() && channel_ && !channel_->peer_closed())
            return;
        if (qemu_) {
            // It went away by itself (a panic, or a command that powered
            // off): keep what the kernel said for the next health check.
            for (const auto& problem : scan_console(read_text_file(console_)))
                unreported_problems_.push_back(describe({problem}));
        }
        boot();
    }

    std::string kernel_cmdline() const
    {
        std::string cmdline = "console=ttyS0 quiet panic=-1 cryptomgr.notests";
        // QEMU's local APIC timer ticks at 62.5 MHz (its 1 GHz bus divided
        // by the 16 Linux programs), so the kernel's 100 ms calibration of
        // it can be skipped: that is 0.1 s of every boot under emulation.
        if (auto hz = std::atoi(kernel_.config_value("CONFIG_HZ").c_str()); hz > 0)
            cmdline += fmt::format(" lapic_timer_period={}", 62'500'000 / hz);
        if (!options_.cmdline_.empty())
            cmdline += " " + options_.cmdline_;
        return cmdline;
    }

    // The problems the kernel printed on its console, then its last lines:
    // a panic's headline can be far above the end of its stack dump.
    std::string crash_report() const
    {
        auto console = read_text_file(console_);
        auto problems = scan_console(console);
        return fmt::format("{}Console tail:\n{}",
                           problems.empty() ? "" : "The kernel reported:\n" + describe(problems),
                           last_lines(console, 30));
    }

    void stage()
    {
        auto started = std::chrono::steady_clock::now();
        // A guest given nothing has nothing to index, load or coldplug for.
        if (plan_.files.empty())
            return;
        // Files go out before anything runs, so the boot pass sees them.
        for (const auto& file : plan_.files)
            write(file.path, file.contents, file.mode);
        auto pass = transact(Type::BootPass, {}, options_.command_timeout_, "the boot pass");
        PayloadReader result{pass.payload};
        auto status = result.i32();
        stats_.boot_pass_log = result.bytes();
        auto errors = result.bytes();
        stats_.staging = std::chrono::steady_clock::now() - started;
        if (status != 0)
            throw BootError(fmt::format("the guest's boot pass failed (status {}):\n{}{}", status,
                                        stats_.boot_pass_log, errors));
    }

    void baseline_health()
    {
        kernel_log_since(0, &log_seq_, &taint_);
    }

    // A guest that dies exits QEMU with 0 (-no-reboot); a QEMU that
    // cannot start the machine (a bad -device, say) exits 1: not worth
    // another attempt.
    std::string qemu_exit_reason(int status)
    {
        qemu_refused_ = WIFEXITED(status) && WEXITSTATUS(status) != 0;
        auto log = read_text_file(dir_.path() / "qemu.log");
        return fmt::format("QEMU {}{}{}", detail::describe_wait_status(status),
                           log.empty() ? "" : ": ", last_lines(log, 5));
    }

    GuestOptions options_;
    Kernel kernel_;
    detail::TempDir dir_;
    detail::StagingPlan plan_;
    std::filesystem::path console_;
    std::filesystem::path initrd_;
    std::string accel_;
    std::string release_;
    std::optional<detail::ChildProcess> qemu_;
    std::optional<detail::Channel> channel_;
    std::uint32_t next_id_ = 0;
    std::string last_boot_failure_;
    BootStats stats_;
    std::uint64_t log_seq_ = 0;
    std::uint64_t taint_ = 0;
    std::vector<std::string> unreported_problems_;
    bool qemu_refused_ = false;
    struct {
        std::filesystem::path path;  // empty: this guest boots cold
        std::string key;
        std::string machine;
        std::string reported_broken;  // file_identity() of one said broken
    } snapshot_;
};

Guest::Guest(GuestOptions options) : impl_{std::make_unique<Impl>(std::move(options))} {}
Guest::~Guest() = default;
Guest::Guest(Guest&&) noexcept = default;
Guest& Guest::operator=(Guest&&) noexcept = default;

const Kernel& Guest::kernel() const { return impl_->kernel(); }
const std::string& Guest::release() const { return impl_->release(); }

CommandResult Guest::run(std::string_view command)
{
    return impl_->run(command, impl_->command_timeout());
}

CommandResult Guest::run(std::string_view command, std::chrono::milliseconds timeout)
{
    return impl_->run(command, timeout);
}

int Guest::interactive(std::string_view command) { return impl_->interactive(command); }
std::string Guest::read(const std::string& guest_path) { return impl_->read(guest_path); }

void Guest::write(const std::string& guest_path, std::string_view contents, unsigned mode)
{
    impl_->write(guest_path, contents, mode);
}

void Guest::push(const std::filesystem::path& local, const std::string& guest_path)
{
    std::ifstream in{local, std::ios::binary};
    if (!in)
        throw GuestError(fmt::format("cannot read {} to push it into the guest", local.string()));
    std::ostringstream data;
    data << in.rdbuf();
    auto mode = static_cast<unsigned>(std::filesystem::status(local).permissions()) & 07777;
    impl_->write(guest_path, data.str(), mode);
}

void Guest::pull(const std::string& guest_path, const std::filesystem::path& local)
{
    auto data = impl_->read(guest_path);
    std::ofstream out{local, std::ios::binary | std::ios::trunc};
    out << data;
    if (!out)
        throw GuestError(fmt::format("cannot write {}", local.string()));
}

ModuleResult Guest::insmod(std::string_view module, std::string_view params)
{
    return impl_->insmod(module, params);
}

ModuleResult Guest::rmmod(std::string_view name, bool force) { return impl_->rmmod(name, force); }

CommandResult Guest::modprobe(std::string_view args)
{
    auto mark = impl_->kernel_log_mark();
    auto result = impl_->run(fmt::format("modprobe {}", args), impl_->command_timeout());
    if (!result.ok()) {
        // busybox words failures vaguely; the kernel says what went wrong.
        auto said = format_dmesg(impl_->kernel_log_since(mark, nullptr, nullptr));
        if (!said.empty())
            result.err += "kernel log:\n" + said;
    }
    return result;
}

std::vector<std::string> Guest::loaded_modules()
{
    std::vector<std::string> names;
    std::istringstream modules{read("/proc/modules")};
    for (std::string line; std::getline(modules, line);)
        names.push_back(line.substr(0, line.find(' ')));
    return names;
}

std::string Guest::dmesg() { return impl_->dmesg(); }
HealthReport Guest::health() { return impl_->health(); }
void Guest::check_healthy(std::string_view allowed_taints) { impl_->check_healthy(allowed_taints); }
std::string Guest::console_tail(std::size_t lines) const { return impl_->console_tail(lines); }
const BootStats& Guest::boot_stats() const { return impl_->stats(); }
void Guest::reboot() { impl_->boot(); }
void Guest::shutdown() { impl_->shutdown(); }

}  // namespace kmsdk
