// SPDX-License-Identifier: GPL-2.0
//
// A throw-away QEMU guest on a real kernel from the kmsdk cache, with an
// agent as PID 1 that runs commands, moves files and loads modules:
//
//   kmsdk::Guest guest{kmsdk::GuestOptions{}.kernel("6.12").module(hello_ko)};
//   auto r = guest.run("insmod kms_hello.ko whom=7");
//   CHECK(guest.read("/sys/module/kms_hello/parameters/whom") == "7\n");
//   guest.check_healthy();
//
// A guest starts by restoring the saved snapshot of an identical machine
// (kmsdk/snapshots.hpp) in about a tenth of a second; the first guest of
// its kind boots the kernel and saves that snapshot. Modules and files are
// staged after either.
//
// Every wait has a deadline. A guest that does not come up in time is
// killed and booted again; a command that does not finish in time throws
// CommandTimeout and the guest is rebooted before its next use, staged as
// it was asked to be. QEMU never outlives the Guest, nor the thread that
// started it (the constructor's, or the one whose call restarted it): it
// gets SIGKILL when that thread dies, however it dies. So a Guest made on
// a worker thread must not outlive that thread's use.
#pragma once

#include "kmsdk/kernel.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kmsdk {

using namespace std::chrono_literals;

// What Guest::run runs: an argument vector exec'd exactly as given
// (argv[0] a path, or a name looked up in the guest's PATH).
struct Command {
    std::vector<std::string> argv;

    // `sh -c line`.
    static Command shell(std::string_view line);
    // How `kmsdk run -- WORDS` reads its words, as env, nice and docker run
    // do: one word is a shell command line, two or more an argument vector.
    static Command from_words(std::vector<std::string> words);
    // For messages: a shell line as it was given, other words quoted
    // where a shell would need it.
    std::string describe() const;
};

// Where a streamed command's stdin comes from.
class InputSource {
public:
    // /dev/null.
    static InputSource none() { return InputSource{}; }
    // These bytes, then end of file.
    static InputSource bytes(std::string data);
    // Read from this descriptor until its end of file (a pipe, a file);
    // Guest never closes it, and stops reading it when the command exits.
    static InputSource descriptor(int fd);

    bool empty() const { return fd_ < 0 && !has_bytes_; }
    int fd() const { return fd_; }
    const std::string& data() const { return data_; }

private:
    int fd_ = -1;
    bool has_bytes_ = false;
    std::string data_;
};

// A command's streams while it runs: output is handed over as it arrives,
// in pieces of any size, binary-safe. An unset sink discards its stream.
struct Streams {
    std::function<void(std::string_view)> out;
    std::function<void(std::string_view)> err;
    InputSource in;
    // Run on a pseudo-terminal of this size (0: none): stdout and stderr
    // then both arrive on `out`, as a terminal shows them.
    unsigned rows = 0;
    unsigned cols = 0;
};

struct CommandResult {
    int status = 0;  // exit status, or 128 + signal
    std::string out;  // collected by run(); empty from a streamed run
    std::string err;
    std::chrono::nanoseconds elapsed{};  // measured in the guest
    bool ok() const { return status == 0; }
};

struct ModuleResult {
    int error = 0;        // 0, or the errno the kernel returned
    std::string message;  // worded as kmod's insmod/rmmod would
    std::chrono::nanoseconds elapsed{};
    bool ok() const { return error == 0; }
};

// What the kernel reported since the previous health check.
struct HealthReport {
    std::vector<std::string> problems;  // one paragraph each: kind, headline, trace
    std::string new_taints;             // taint letters that appeared, e.g. "OE"
    std::string taints;                 // all taint letters now
    bool agent_alive = true;
    // Healthy unless there were problems, the agent died, or taints other
    // than `allowed` appeared (O and E: out-of-tree and unsigned modules).
    bool healthy(std::string_view allowed = "OE") const;
    std::string describe() const;
};

class GuestError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
class BootError : public GuestError {
public:
    using GuestError::GuestError;
};
class CommandTimeout : public GuestError {
public:
    using GuestError::GuestError;
};
class GuestCrashed : public GuestError {
public:
    using GuestError::GuestError;
};
class GuestUnhealthy : public GuestError {
public:
    using GuestError::GuestError;
};
// A signal came through GuestOptions::signals(): during a boot, or after
// the command it was delivered to did not end within the grace period
// (the guest was then stopped, and boots again for its next use).
class Interrupted : public GuestError {
public:
    Interrupted(int signal, const std::string& message) : GuestError{message}, signal_{signal} {}
    int signal() const { return signal_; }

private:
    int signal_;
};
// "SIGTERM", or "signal 70" for a number with no name.
std::string signal_name(int signal);

// A collecting run() whose command wrote more than GuestOptions::output_cap.
class OutputTooLarge : public GuestError {
public:
    using GuestError::GuestError;
};

class GuestOptions;
namespace detail {
struct StagingPlan;
StagingPlan plan_staging(const GuestOptions& options, const Kernel& kernel);
}  // namespace detail

// The most CPUs GuestOptions::cpus takes.
inline constexpr unsigned max_guest_cpus = 64;

class GuestOptions {
public:
    // A cached kernel by release or series ("6.1"); "" is the newest.
    GuestOptions& kernel(std::string release_or_series);
    // Out-of-tree modules, delivered to /lib/modules/<release>/extra/. Their
    // `depends:` closure among the kernel's own modules comes with them.
    GuestOptions& module(std::filesystem::path ko);
    GuestOptions& modules(const std::vector<std::filesystem::path>& kos);
    // Modules of the kernel itself, by name or alias, with their closure.
    GuestOptions& kernel_module(std::string name);
    // A QEMU -device argument, e.g. "edu".
    GuestOptions& device(std::string qemu_device);
    // A program of the host's, copied to guest_path (default:
    // /usr/bin/<its name>, on the guest's PATH). It should be static: the
    // guest holds only the shared libraries of its own tools.
    GuestOptions& program(std::filesystem::path host_path, std::string guest_path = "");
    GuestOptions& memory_mb(unsigned mb);
    // Virtual CPUs (default 1). Under TCG each runs on a host thread of its
    // own: more than one makes guest processes truly concurrent, and each
    // count is a machine, and a snapshot, of its own.
    GuestOptions& cpus(unsigned count);
    // Any file, written before the boot pass.
    GuestOptions& file(std::string guest_path, std::string contents, unsigned mode = 0644);
    // /etc/modprobe.d/<name>.conf
    GuestOptions& modprobe_conf(const std::string& name, std::string contents);
    // A line in /etc/modules-load.d/kmsdk.conf: loaded by the boot pass.
    GuestOptions& modules_load(std::string module_name);
    GuestOptions& kernel_cmdline(const std::string& extra);
    GuestOptions& boot_timeout(std::chrono::milliseconds timeout);
    GuestOptions& command_timeout(std::chrono::milliseconds timeout);
    GuestOptions& boot_attempts(unsigned attempts);
    // The most a collecting run() keeps of a command's stdout and stderr
    // together (default 64 MiB); past it, run() stops the command and
    // throws OutputTooLarge. Streamed runs have no cap.
    GuestOptions& output_cap(std::size_t bytes);
    // A descriptor that yields signal numbers, a byte each (a self-pipe
    // written by the caller's SIGINT/SIGTERM/SIGHUP handlers). A signal
    // that arrives while the guest boots stops the boot and throws
    // Interrupted; one that arrives while a command runs is delivered to
    // that command's process group, and if the command has not ended
    // `grace` later the guest is stopped and Interrupted thrown.
    GuestOptions& signals(int fd, std::chrono::milliseconds grace = 2s);
    // "tcg" or "kvm"; default: $KMSDK_ACCEL, else a cached probe.
    GuestOptions& accel(std::string accel);
    // Keep the serial console's text here (default: a temporary file).
    GuestOptions& console_log(std::filesystem::path path);
    // Boot from scratch even where a saved guest could be restored (so
    // does $KMSDK_COLD=1). By default a guest restores the snapshot of an
    // identical machine (kmsdk/snapshots.hpp), and the first guest of its
    // kind saves one, once its agent is ready and before staging. A guest
    // with no devices and something to stage also saves a staged snapshot
    // once staging is done, and guests staged alike restore that instead.
    GuestOptions& cold(bool cold = true);
    // Boot with the kernel's memory-error detectors on, those this kernel
    // has (so does $KMSDK_DEBUG_MEMORY=1): SLUB debugging
    // (slub_debug=FZPU: poison, red zones, consistency checks, owner
    // tracking), KFENCE (kfence.sample_interval=1), page poisoning and
    // init_on_free. The health check then reports a use-after-free, an
    // out-of-bounds write or a double free as a problem. Slower: every
    // allocation is checked. A machine of its own, with snapshots of its own.
    GuestOptions& debug_memory(bool on = true);
    // QEMU's gdbstub on a Unix socket (Guest::gdb_socket()), and the kernel
    // booted with nokaslr, so that its addresses are those of its
    // System.map and of /proc/kallsyms at every boot: for gdb's
    // `target remote` (kmsdk/debugger.hpp). A machine of its own.
    GuestOptions& gdb_stub(bool on = true);
    // Where one-line notices go: a snapshot found broken and replaced, one
    // that could not be saved. Default: stderr, as "kmsdk: <notice>".
    GuestOptions& on_notice(std::function<void(const std::string&)> notice);

private:
    friend class Guest;
    friend detail::StagingPlan detail::plan_staging(const GuestOptions&, const Kernel&);
    struct StagedFile {
        std::string path;
        std::string contents;
        unsigned mode;
    };
    std::string kernel_;
    std::vector<std::filesystem::path> modules_;
    std::vector<std::string> kernel_modules_;
    std::vector<std::string> devices_;
    std::vector<StagedFile> files_;
    struct Program {
        std::filesystem::path host_path;
        std::string guest_path;
    };
    std::vector<Program> programs_;
    std::size_t output_cap_ = 64u << 20;
    int signal_fd_ = -1;
    std::chrono::milliseconds signal_grace_ = 2s;
    std::vector<std::string> modules_load_;
    std::string cmdline_;
    std::string accel_;
    std::filesystem::path console_log_;
    bool cold_ = false;
    bool debug_memory_ = false;
    bool gdb_stub_ = false;
    std::function<void(const std::string&)> on_notice_;
    unsigned memory_mb_ = 256;
    unsigned cpus_ = 1;
    unsigned boot_attempts_ = 3;
    std::chrono::milliseconds boot_timeout_ = 30s;
    std::chrono::milliseconds command_timeout_ = 60s;
};

struct BootStats {
    // QEMU start to the agent's Hello, booted or restored.
    std::chrono::nanoseconds to_agent{};
    bool restored = false;  // from a snapshot rather than booted
    // From a staged snapshot: its modules and files were in place, and
    // its boot pass done, when it was saved (staging is then zero).
    bool staged = false;
    // Saving this machine's snapshot, when this boot made it (the guest
    // stood still meanwhile); zero otherwise.
    std::chrono::nanoseconds snapshot_save{};
    // The same for its staged snapshot, saved once staging was done.
    std::chrono::nanoseconds staged_save{};
    std::chrono::nanoseconds staging{};   // files, modules and the boot pass
    unsigned attempts = 0;
    // Why each attempt before the one that came up failed, with the
    // console's last lines then.
    std::vector<std::string> failed_attempts;
    // What the boot pass did, a line per step; from a staged snapshot,
    // the boot pass it ran before it was saved.
    std::string boot_pass_log;
    // After a restore: the PCI BARs the agent rewrote for devices whose
    // state QEMU does not migrate (edu), a line each.
    std::string resume_log;
};

class Guest {
public:
    explicit Guest(GuestOptions options);
    ~Guest();
    Guest(Guest&&) noexcept;
    Guest& operator=(Guest&&) noexcept;
    Guest(const Guest&) = delete;
    Guest& operator=(const Guest&) = delete;

    const Kernel& kernel() const;
    const std::string& release() const;

    // `sh -c command_line`, or an argument vector, in the folder of the
    // staged modules, with stdin at /dev/null; stdout and stderr are
    // collected, up to GuestOptions::output_cap.
    CommandResult run(std::string_view command_line);
    CommandResult run(std::string_view command_line, std::chrono::milliseconds timeout);
    CommandResult run(const Command& command);
    CommandResult run(const Command& command, std::chrono::milliseconds timeout);
    // The same, streamed: output reaches the sinks as the command writes
    // it, stdin comes from streams.in. Flow control keeps what either side
    // holds bounded whatever the volume.
    CommandResult run(const Command& command, Streams& streams, std::chrono::milliseconds timeout);

    // `command` (default: an interactive shell) on a terminal in the guest,
    // wired to this process's stdin and stdout; its exit status. The host
    // terminal is in raw mode meanwhile. Ends when it exits or the guest dies.
    int interactive(std::string_view command = "");

    std::string read(const std::string& guest_path);
    // A regular file is replaced whole (written aside, then renamed). A
    // file under /sys or /proc is written in place with one write(), as
    // `echo` would; the kernel's refusal (say EINVAL from a parameter's
    // setter) throws GuestError naming the errno.
    void write(const std::string& guest_path, std::string_view contents, unsigned mode = 0644);
    void push(const std::filesystem::path& local, const std::string& guest_path);
    void pull(const std::string& guest_path, const std::filesystem::path& local);

    // finit_module / delete_module made by the agent itself. A bare name
    // ("kms_hello") means the staged kms_hello.ko.
    ModuleResult insmod(std::string_view module, std::string_view params = "");
    ModuleResult rmmod(std::string_view name, bool force = false);
    // The guest's modprobe (kmod's) with these arguments; a failure's message carries
    // what the kernel logged meanwhile.
    CommandResult modprobe(std::string_view args);
    // Names of loaded modules, from /proc/modules.
    std::vector<std::string> loaded_modules();

    // The kernel log, as dmesg prints it.
    std::string dmesg();
    // A point in the kernel log: dmesg_since() gives what came after it,
    // so a test reads only its own lines.
    std::uint64_t log_mark();
    std::string dmesg_since(std::uint64_t mark);
    // What the kernel reported since the last health check.
    HealthReport health();
    // Throws GuestUnhealthy with the report, and reboots the guest before
    // its next use, when health() is not healthy.
    void check_healthy(std::string_view allowed_taints = "OE");

    std::string console_tail(std::size_t lines = 40) const;
    const BootStats& boot_stats() const;
    // The kernel parameters GuestOptions::debug_memory() turned on for this
    // kernel ("slub_debug=FZPU", ...); empty when it is off.
    const std::vector<std::string>& memory_debugging() const;

    // The Unix socket of QEMU's gdbstub (GuestOptions::gdb_stub()); empty
    // without one. gdb must attach again after the guest boots again.
    std::filesystem::path gdb_socket() const;

    // Boot again from scratch, staged as asked.
    void reboot();
    // Power off cleanly (bounded); a dead guest is simply reaped.
    void shutdown();

    class Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace kmsdk
