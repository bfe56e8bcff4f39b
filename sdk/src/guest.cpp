// SPDX-License-Identifier: GPL-2.0
//
// The Guest facade. Each part owns one thing: machine.cpp starts a QEMU and
// reaches its agent, snapshot_session.cpp restores and saves snapshots,
// agent_link.cpp carries requests and streamed runs, health.cpp reads what
// the kernel said. This file decides when each runs, and turns their
// failures into the errors guest.hpp promises.
#include "kmsdk/guest.hpp"

#include "accel.hpp"
#include "agent_link.hpp"
#include "folder_trust.hpp"
#include "health.hpp"
#include "kmsdk/initramfs.hpp"
#include "kmsdk/kernel_log.hpp"
#include "kmsdk/snapshots.hpp"
#include "machine.hpp"
#include "memory_debugging.hpp"
#include "memory_floor.hpp"
#include "snapshot_eviction.hpp"
#include "snapshot_session.hpp"
#include "staging.hpp"
#include "temp_dir.hpp"
#include "terminal.hpp"
#include "text.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <sys/random.h>
#include <type_traits>
#include <unistd.h>
#include <utility>

namespace kmsdk {

using detail::Deadline;

namespace {

// The folder out-of-tree modules are delivered to.
std::string extra_dir(const std::string& release)
{
    return "/lib/modules/" + release + "/extra";
}

bool cold_by_environment()
{
    const char* cold = std::getenv("KMSDK_COLD");
    return cold && *cold && std::string_view{cold} != "0";
}

}  // namespace

class Guest::Impl {
public:
    explicit Impl(GuestOptions options)
        : options_{std::move(options)},
          kernel_{Kernel::find(options_.kernel_)},
          memory_debugging_{options_.debug_memory_ || detail::memory_debugging_by_environment()
                                ? detail::memory_debugging_parameters(kernel_)
                                : std::vector<std::string>{}},
          dir_{(detail::remove_abandoned("kmsdk-guest"), "kmsdk-guest")},
          plan_{detail::plan_staging(options_, kernel_)}
    {
        console_ = options_.console_log_.empty() ? dir_.path() / "console.log" : options_.console_log_;
        initrd_ = base_initramfs(InitramfsInputs{kernel_, detail::agent_binary()});
        detail::check_memory(kernel_, initrd_, options_.memory_mb_);
        accel_ = detail::choose_accel(options_.accel_, [this](const std::string& accel) {
            return static_cast<bool>(
                detail::boot_machine(machine_config(accel), Deadline{std::chrono::seconds(4)},
                                     [this] { check_interrupted(); }));
        });
        if (!options_.cold_ && !cold_by_environment()) {
            auto dir = snapshot_dir(kernel_);
            if (auto why = detail::distrust_folder(dir))
                notice(fmt::format("not using snapshots: {}, and kmsdk restores guests only from a "
                                   "folder you own that no one else can write; booting cold "
                                   "(chmod go-w it, or point KMSDK_SNAPSHOT_DIR elsewhere)",
                                   *why));
            else
                snapshot_.emplace(machine_config(accel_), dir,
                                  [this](const std::string& text) { notice(text); });
        }
        if (snapshot_)
            staged_ = staged_session();
        boot();
    }

    ~Impl() { kill(); }

    const Kernel& kernel() const { return kernel_; }
    const std::string& release() const { return release_; }
    const BootStats& stats() const { return stats_; }
    const GuestOptions& options() const { return options_; }
    const std::vector<std::string>& memory_debugging() const { return memory_debugging_; }
    std::filesystem::path gdb_socket() const
    {
        return options_.gdb_stub_ ? dir_.path() / "gdb.sock" : std::filesystem::path{};
    }

    void boot()
    {
        kill();
        stats_ = {};
        if (snapshot_ && boot_from_snapshots())
            return;
        std::string failures;
        auto config = machine_config(accel_);
        for (unsigned attempt = 1; attempt <= options_.boot_attempts_; ++attempt) {
            stats_.attempts = attempt;
            auto started = std::chrono::steady_clock::now();
            auto booted = detail::boot_machine(config, Deadline{options_.boot_timeout_},
                                               [this] { check_interrupted(); });
            if (booted) {
                adopt(booted.take(), started);
                ready();
                return;
            }
            const auto& failure = booted.failure();
            if (failure.final)
                throw BootError(fmt::format(
                    "the {} guest cannot start: {}\nCheck the devices and options given, or run "
                    "scripts/setup.sh if QEMU is broken.",
                    kernel_.release(), failure.reason));
            // The next QEMU truncates the console: keep what this one said.
            stats_.failed_attempts.push_back(
                fmt::format("{}\nConsole tail:\n{}", failure.reason, console_tail(10)));
            failures += fmt::format("attempt {}: {}\n", attempt, failure.reason);
        }
        throw BootError(fmt::format(
            "the {} guest did not come up in {} attempts of {} each:\n{}Console tail:\n{}\n"
            "If the machine is very busy, raise the boot timeout; otherwise this is a bug in kmsdk.",
            kernel_.release(), options_.boot_attempts_, detail::seconds(options_.boot_timeout_),
            failures, console_tail(20)));
    }

    CommandResult run(const Command& command, Streams& streams, std::chrono::milliseconds timeout,
                      const std::function<bool()>& stop = {})
    {
        if (command.argv.empty())
            throw GuestError("Guest::run needs a command: an empty argument vector runs nothing");
        proto::Run request{.argv = command.argv,
                           .cwd = "",
                           .input = !streams.in.empty(),
                           .rows = streams.rows,
                           .cols = streams.cols};
        auto what = fmt::format("`{}`", command.describe());
        return with_link(what, timeout, [&](detail::AgentLink& link, const Deadline& deadline) {
            auto exited = link.stream(request, streams, deadline,
                                      {options_.signal_fd_, options_.signal_grace_}, stop);
            return CommandResult{.status = exited.status, .out = {}, .err = {}, .elapsed = exited.elapsed};
        });
    }

    // Collects stdout and stderr, up to the cap; past it the command is
    // killed and its output dropped.
    CommandResult collect(const Command& command, std::chrono::milliseconds timeout)
    {
        std::string out, err;
        bool over = false;
        auto keep = [&](std::string& into) {
            return [&](std::string_view data) {
                if (out.size() + err.size() + data.size() > options_.output_cap_)
                    over = true;
                if (!over)
                    into.append(data);
            };
        };
        Streams streams{.out = keep(out), .err = keep(err), .in = {}, .rows = 0, .cols = 0};
        auto result = run(command, streams, timeout, [&] { return over; });
        if (over)
            throw OutputTooLarge(fmt::format(
                "`{}` wrote more than {} MiB, the most Guest::run collects; it was killed. Stream "
                "its output with Guest::run(command, streams, timeout), or raise "
                "GuestOptions::output_cap",
                command.describe(), options_.output_cap_ >> 20));
        result.out = std::move(out);
        result.err = std::move(err);
        return result;
    }

    int interactive(std::string_view command)
    {
        detail::RawTerminal raw{STDIN_FILENO};
        auto size = detail::terminal_size(STDOUT_FILENO);
        Streams streams{.out = [](std::string_view data) { detail::write_all(STDOUT_FILENO, data); },
                        .err = {},
                        .in = InputSource::descriptor(STDIN_FILENO),
                        .rows = size.rows,
                        .cols = size.cols};
        auto shell = command.empty() ? Command{{"/bin/sh", "-i"}} : Command::shell(command);
        // A session lasts as long as its user wants.
        return run(shell, streams, std::chrono::hours(24 * 365)).status;
    }

    template <class Reply, class Request>
    Reply request(const Request& message, std::string_view what)
    {
        return with_link(what, options_.command_timeout_,
                         [&](detail::AgentLink& link, const Deadline& deadline) {
                             return link.request<Reply>(message, deadline);
                         });
    }

    std::string read(const std::string& path)
    {
        return request<proto::FileData>(proto::GetFile{path}, fmt::format("reading {}", path)).data;
    }

    void write(const std::string& path, std::string_view contents, unsigned mode)
    {
        request<proto::Ok>(proto::PutFile{path, mode, std::string{contents}},
                           fmt::format("writing {}", path));
    }

    ModuleResult module_reply(const proto::ModuleResult& reply)
    {
        return {reply.error, reply.message, std::chrono::nanoseconds(reply.elapsed_ns)};
    }

    ModuleResult insmod(std::string_view module, std::string_view params)
    {
        std::string path{module};
        if (path.find('/') == std::string::npos) {
            if (!path.ends_with(".ko"))
                path += ".ko";
            path = extra_dir(release_) + "/" + path;
        }
        return module_reply(request<proto::ModuleResult>(
            proto::Insmod{path, std::string{params}}, fmt::format("insmod {} {}", path, params)));
    }

    ModuleResult rmmod(std::string_view name, bool force)
    {
        return module_reply(request<proto::ModuleResult>(
            proto::Rmmod{std::string{name}, force},
            fmt::format("rmmod {}{}", force ? "-f " : "", name)));
    }

    proto::KernelLog kernel_log_since(std::uint64_t first)
    {
        return request<proto::KernelLog>(proto::ReadKernelLog{first}, "reading the kernel log");
    }

    std::uint64_t log_mark() { return kernel_log_since(health_.next_seq()).next; }

    std::string dmesg_since(std::uint64_t mark)
    {
        return format_dmesg(parse_kmsg(kernel_log_since(mark).records));
    }

    HealthReport health()
    {
        try {
            auto log = kernel_log_since(health_.next_seq());
            return health_.update(parse_kmsg(log.records), log.next, log.taint);
        } catch (const GuestError&) {
            // The agent is gone: what the kernel said last is on the console.
            return health_.from_console(console_text());
        }
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
        return detail::last_lines(console_text(), lines);
    }

    void shutdown()
    {
        if (machine_ && !machine_->qemu.poll()) {
            try {
                machine_->link.send(proto::frame(machine_->link.next_id(), proto::Shutdown{}),
                                    Deadline{std::chrono::seconds(5)});
                machine_->qemu.wait_for(std::chrono::seconds(10));
            } catch (const std::exception&) {
                // Killed below, which is all a throw-away guest needs.
            }
        }
        kill();
    }

    void kill() { machine_.reset(); }

private:
    // Runs `action` on a live link, booting first if the guest is down,
    // and turns what can go wrong on the way into guest.hpp's errors.
    template <class Action>
    auto with_link(std::string_view what, std::chrono::milliseconds timeout, Action&& action)
        -> std::invoke_result_t<Action, detail::AgentLink&, const Deadline&>
    {
        ensure_running();
        Deadline deadline{timeout};
        try {
            return action(machine_->link, deadline);
        } catch (const detail::AgentRefused& refused) {
            throw GuestError(fmt::format("{}: {}", what, refused.what()));
        } catch (const detail::ChannelClosed&) {
            auto status = machine_->qemu.wait_for(std::chrono::milliseconds(500));
            auto why = status ? detail::qemu_exit_failure(*status, config()).reason
                              : std::string{"its channel closed"};
            auto report = detail::crash_report(console_text());
            kill();
            throw GuestCrashed(fmt::format(
                "{}: the guest died ({}). It will boot again for its next use.\n{}", what, why,
                report));
        } catch (const proto::ProtocolError& error) {
            kill();
            throw GuestError(fmt::format("{}: {}; the guest will boot again for its next use",
                                         what, error.what()));
        } catch (const detail::ReplyTimeout&) {
            auto report = detail::crash_report(console_text());
            kill();
            throw CommandTimeout(fmt::format(
                "{} did not finish within {}; the guest was stopped and will boot again for its "
                "next use.\n{}",
                what, detail::seconds(timeout), report));
        } catch (const Interrupted&) {
            kill();
            throw;
        }
    }

    void ensure_running()
    {
        // QEMU's exit can show on the channel before waitpid reports it.
        if (machine_ && !machine_->qemu.poll() && !machine_->link.peer_closed())
            return;
        if (machine_) {
            // It went away by itself (a panic, or a command that powered
            // off): keep what the kernel said for the next health check.
            health_.keep_for_next_report(console_text());
        }
        boot();
    }

    // Throws Interrupted when a signal came through GuestOptions::signals.
    void check_interrupted() const
    {
        if (options_.signal_fd_ < 0)
            return;
        unsigned char signal = 0;
        if (::read(options_.signal_fd_, &signal, 1) == 1)
            throw Interrupted(signal, fmt::format("{} came while the {} guest was starting",
                                                  signal_name(signal), kernel_.release()));
    }

    // The machine every boot and restore of this guest runs.
    detail::MachineConfig machine_config(const std::string& accel) const
    {
        return detail::MachineConfig{
            .vmlinux = kernel_.vmlinux(),
            .initrd = initrd_,
            .kernel_cmdline = kernel_cmdline(),
            .memory_mb = options_.memory_mb_,
            .cpus = options_.cpus_,
            .accel = accel,
            .devices = options_.devices_,
            .console_log = console_,
            .agent_socket = dir_.path() / "agent.sock",
            .qmp_socket = dir_.path() / "qmp.sock",
            .gdb_socket = gdb_socket(),
            .ram_file = {},
            .ram_shared = false,
            .incoming_fd = -1,
            .qemu_log = dir_.path() / "qemu.log",
        };
    }
    detail::MachineConfig config() const { return machine_config(accel_); }

    std::string kernel_cmdline() const
    {
        // initcall_blacklist: self-tests and key types no guest of kmsdk's
        // uses, 390 ms of a 6.12 cold boot (docs/DESIGN.md, Kernel parameters).
        std::string cmdline = "console=ttyS0 quiet panic=-1 cryptomgr.notests "
                              "initcall_blacklist=crypto_kdf108_init,init_encrypted,jent_mod_init";
        // 7.x starts DAMON's statistics thread at boot (kdamond.0, waking
        // every few ms); no guest of kmsdk's reads what it gathers
        // (docs/DESIGN.md, Kernel parameters).
        if (kernel_.config_enabled("DAMON_STAT_ENABLED_DEFAULT"))
            cmdline += " damon_stat.enabled=N";
        for (const auto& parameter : memory_debugging_)
            cmdline += " " + parameter;
        // A PVH boot already skips the decompressor that randomizes the
        // kernel's base; nokaslr makes that a promise a debugger can rely
        // on, not an accident of the boot path.
        if (options_.gdb_stub_)
            cmdline += " nokaslr";
        if (!options_.cmdline_.empty())
            cmdline += " " + options_.cmdline_;
        return cmdline;
    }

    // How long a run waits for another that makes the snapshot it needs.
    std::chrono::milliseconds snapshot_patience() const
    {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
            options_.boot_timeout_ * options_.boot_attempts_ + std::chrono::seconds(60));
    }

    // A guest with something to stage keeps a staged snapshot, unless it
    // has devices: QEMU does not migrate some (edu), which would come back
    // reset under the driver the boot pass bound to them.
    std::optional<detail::SnapshotSession> staged_session()
    {
        if (plan_.files.empty() || !options_.devices_.empty())
            return std::nullopt;
        std::uint64_t limit = 0;
        try {
            limit = detail::staged_snapshot_limit();
        } catch (const std::invalid_argument& error) {
            throw GuestError(error.what());
        }
        if (limit == 0)
            return std::nullopt;
        auto session = snapshot_->staged(plan_.hash(), limit);
        if (auto why = detail::distrust_folder(session.folder())) {
            notice(fmt::format("not using staged snapshots: {}; staging every guest (chmod go-w "
                               "it, or remove it)",
                               *why));
            return std::nullopt;
        }
        return session;
    }

    // The guest from its staged snapshot, else from the snapshot, which it
    // makes first when there is none. False when neither worked out (a
    // notice says why); the caller then boots cold.
    bool boot_from_snapshots()
    {
        auto started = std::chrono::steady_clock::now();
        std::optional<detail::SnapshotLock> staging_lock;
        std::optional<detail::SnapshotSession::Making> staging;
        if (staged_) {
            if (restore_staged(started))
                return true;
            // Held while this run makes the staged snapshot; concurrent
            // runs staged alike wait for it rather than make it too.
            staging_lock = staged_->claim(snapshot_patience(), [this] { check_interrupted(); });
            if (staging_lock && restore_staged(started))
                return true;
            if (staging_lock)
                staging = staged_->prepare(config());
        }
        auto restored = restore(staging);
        bool made_here = false;  // this run booted to make the snapshot
        if (!restored) {
            // Held while this run makes the missing snapshot, as above.
            auto making = snapshot_->claim(snapshot_patience(), [this] { check_interrupted(); });
            // Another run may have made it while this one waited.
            if (making)
                if (auto made = restore(staging))
                    restored.emplace(std::move(*made));
            if (!restored && making) {
                auto made = make_snapshot();
                if (made.unsaved) {
                    adopt(std::move(*made.unsaved), started);
                    ready();
                    return true;
                }
                made_here = made.committed;
                if (made.committed)
                    if (auto made_restored = restore(staging))
                        restored.emplace(std::move(*made_restored));
            }
        }
        if (!restored)
            return false;
        adopt(std::move(*restored), started);
        // A run that made the snapshot booted, in effect.
        stats_.restored = !made_here;
        stats_.attempts = 1;
        resume();
        if (staging && staging->writer)
            return save_staged(std::move(*staging), started);
        ready();
        return true;
    }

    // The snapshot, restored onto `staging`'s RAM file when there is one.
    std::optional<detail::Machine> restore(std::optional<detail::SnapshotSession::Making>& staging)
    {
        return snapshot_->restore(config(), options_.boot_timeout_, [this] { check_interrupted(); },
                                  staging ? &*staging : nullptr);
    }

    // The guest from its staged snapshot. `found`: this boot found it,
    // rather than just made it, so it counts as restored and staged;
    // otherwise BootStats stay as the making left them.
    bool restore_staged(std::chrono::steady_clock::time_point started, bool found = true)
    {
        auto restored = staged_->restore(config(), options_.boot_timeout_, [this] { check_interrupted(); });
        if (!restored)
            return false;
        adopt(std::move(*restored), started);
        if (found) {
            stats_.restored = true;
            stats_.staged = true;
        }
        stats_.attempts = 1;
        resume();
        baseline();
        return true;
    }

    // What make_snapshot() came to: a snapshot to restore, or a machine
    // that came up but could not be saved and goes on as it is, or neither.
    struct Made {
        bool committed = false;
        std::optional<detail::Machine> unsaved;
    };

    // Boots cold into a new snapshot's RAM file and saves it. Nothing when
    // that did not work out (a notice says why, but for a boot that
    // failed, which the caller's own boot then meets and reports).
    Made make_snapshot()
    {
        auto making = snapshot_->prepare(config());
        if (!making)
            return {};
        auto booted = detail::boot_machine(making->config, Deadline{options_.boot_timeout_},
                                           [this] { check_interrupted(); });
        if (!booted)
            return {};
        stats_.attempts = 1;
        auto saved = snapshot_->save(booted.take(), std::move(*making));
        if (saved.took)
            stats_.snapshot_save = *saved.took;
        return {saved.took.has_value(), std::move(saved.machine)};
    }

    // The restored guest running on `staging`'s RAM file is staged, saved
    // as the staged snapshot, and restored from it.
    bool save_staged(detail::SnapshotSession::Making staging, std::chrono::steady_clock::time_point started)
    {
        stage();
        auto machine = std::move(*machine_);
        machine_.reset();
        auto saved = staged_->save(std::move(machine), std::move(staging));
        if (saved.machine) {
            machine_.emplace(std::move(*saved.machine));
            baseline();
            return true;
        }
        if (saved.took && restore_staged(started, /*found=*/false)) {
            stats_.staged_save = *saved.took;
            return true;
        }
        // The staged guest is gone and no snapshot came of it: boot again,
        // staging as without staged snapshots.
        staged_.reset();
        boot();
        return true;
    }

    void adopt(detail::Machine machine, std::chrono::steady_clock::time_point started)
    {
        stats_.to_agent = std::chrono::steady_clock::now() - started;
        release_ = machine.release;
        machine_.emplace(std::move(machine));
    }

    std::string console_text() const { return detail::read_if_present(console_); }

    // A restored guest starts from the random pool and the clock it was
    // saved with: give it its own.
    void resume()
    {
        std::string seed(64, '\0');
        if (::getrandom(seed.data(), seed.size(), 0) != static_cast<ssize_t>(seed.size()))
            throw GuestError(fmt::format("getrandom: {}", std::strerror(errno)));
        auto now = std::chrono::system_clock::now().time_since_epoch();
        proto::Resume request_to_resume{
            .seed = seed,
            .realtime_ns = static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()),
            .repair_pci_bars = !options_.devices_.empty()};
        auto resumed = request<proto::Resumed>(request_to_resume, "resuming the restored guest");
        stats_.resume_log = std::move(resumed.log);
        stats_.boot_pass_log = std::move(resumed.boot_pass_log);
    }

    // Staging, then the health baseline: the boot's own messages are not
    // the tests'.
    void ready()
    {
        stage();
        baseline();
    }

    void baseline()
    {
        auto log = kernel_log_since(0);
        health_.baseline(log.next, log.taint);
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
        auto pass = request<proto::BootPassResult>(proto::BootPass{}, "the boot pass");
        stats_.boot_pass_log = pass.log;
        stats_.staging = std::chrono::steady_clock::now() - started;
        if (pass.status != 0)
            throw BootError(fmt::format("the guest's boot pass failed (status {}):\n{}{}",
                                        pass.status, pass.log, pass.errors));
    }

    // A notice is one line, even when what it quotes (QEMU's log) is not.
    void notice(const std::string& text) const
    {
        if (options_.on_notice_)
            options_.on_notice_(detail::one_line(text));
        else
            std::cerr << "kmsdk: " << detail::one_line(text) << std::endl;
    }

    GuestOptions options_;
    Kernel kernel_;
    std::vector<std::string> memory_debugging_;
    detail::TempDir dir_;
    detail::StagingPlan plan_;
    std::filesystem::path console_;
    std::filesystem::path initrd_;
    std::string accel_;
    std::string release_;
    std::optional<detail::SnapshotSession> snapshot_;  // none: this guest boots cold
    std::optional<detail::SnapshotSession> staged_;    // none: it stages every boot
    std::optional<detail::Machine> machine_;
    detail::HealthWatch health_;
    BootStats stats_;
};

Guest::Guest(GuestOptions options) : impl_{std::make_unique<Impl>(std::move(options))} {}
Guest::~Guest() = default;
Guest::Guest(Guest&&) noexcept = default;
Guest& Guest::operator=(Guest&&) noexcept = default;

const Kernel& Guest::kernel() const { return impl_->kernel(); }
const std::string& Guest::release() const { return impl_->release(); }

CommandResult Guest::run(std::string_view command_line)
{
    return run(Command::shell(command_line));
}

CommandResult Guest::run(std::string_view command_line, std::chrono::milliseconds timeout)
{
    return run(Command::shell(command_line), timeout);
}

CommandResult Guest::run(const Command& command)
{
    return run(command, impl_->options().command_timeout_);
}

CommandResult Guest::run(const Command& command, std::chrono::milliseconds timeout)
{
    return impl_->collect(command, timeout);
}

CommandResult Guest::run(const Command& command, Streams& streams, std::chrono::milliseconds timeout)
{
    return impl_->run(command, streams, timeout);
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
    auto mark = impl_->log_mark();
    auto result = run(fmt::format("modprobe {}", args));
    if (!result.ok()) {
        // busybox words failures vaguely; the kernel says what went wrong.
        auto said = impl_->dmesg_since(mark);
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

std::string Guest::dmesg() { return impl_->dmesg_since(0); }
std::uint64_t Guest::log_mark() { return impl_->log_mark(); }
std::string Guest::dmesg_since(std::uint64_t mark) { return impl_->dmesg_since(mark); }
HealthReport Guest::health() { return impl_->health(); }
void Guest::check_healthy(std::string_view allowed_taints) { impl_->check_healthy(allowed_taints); }
std::string Guest::console_tail(std::size_t lines) const { return impl_->console_tail(lines); }
const BootStats& Guest::boot_stats() const { return impl_->stats(); }
const std::vector<std::string>& Guest::memory_debugging() const { return impl_->memory_debugging(); }
std::filesystem::path Guest::gdb_socket() const { return impl_->gdb_socket(); }
void Guest::reboot() { impl_->boot(); }
void Guest::shutdown() { impl_->shutdown(); }

}  // namespace kmsdk
