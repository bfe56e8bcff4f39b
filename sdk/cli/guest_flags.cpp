// SPDX-License-Identifier: GPL-2.0
#include "guest_flags.hpp"

#include "forwarded_signals.hpp"

#include "kmsdk/kernel.hpp"
#include "kmsdk/modinfo.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <sstream>

namespace kmsdk::cli {
namespace {

struct ProgramFlag {
    std::filesystem::path host_path;
    std::string guest_path;  // "": the library's default, /usr/bin/<name>
};

// HOST_PATH[:GUEST_PATH]. A guest path is absolute, so the last ":/"
// splits them, unless the whole value names a host file.
ProgramFlag parse_program_flag(const std::string& value)
{
    auto split = value.rfind(":/");
    if (split == std::string::npos || split == 0 || std::filesystem::is_regular_file(value))
        return {value, ""};
    return {value.substr(0, split), value.substr(split + 1)};
}

std::string check_program_flag(const std::string& value)
{
    auto program = parse_program_flag(value);
    if (!std::filesystem::is_regular_file(program.host_path))
        return fmt::format("no such host file: {}", program.host_path.string());
    return "";
}

}  // namespace

void GuestFlags::add_to(CLI::App& command)
{
    command.add_option("-k,--kernel", kernel,
                       "Kernel release or series from the cache (default: the newest); "
                       "see 'kmsdk kernels'");
    command.add_option("--device", devices, "Add a QEMU device, e.g. edu (repeatable)");
    command.add_option("-m,--module", modules,
                       "Deliver this .ko into /lib/modules/<release>/extra (repeatable)")
        ->check(CLI::ExistingFile);
    command.add_option("--kernel-module", kernel_modules,
                       "Stage a module of the kernel itself, with its dependencies (repeatable)");
    command.add_option("--modprobe-conf", modprobe_confs,
                       "Install this file into /etc/modprobe.d before the boot pass (repeatable)")
        ->check(CLI::ExistingFile);
    command.add_option("--modules-load", modules_load,
                       "List this module in /etc/modules-load.d: the boot pass loads it (repeatable)");
    command.add_option("--program", programs,
                       "Copy a static program of the host's into the guest, at GUEST_PATH "
                       "(default: /usr/bin/<its name>, on the PATH) (repeatable)")
        ->type_name("HOST_PATH[:GUEST_PATH]")
        ->check(CLI::Validator{check_program_flag, "", "an existing host file"});
    command.add_option("--memory", memory_mb, "Guest memory in MiB")
        ->capture_default_str()
        ->check(CLI::Range(1u, 1u << 20));
    command.add_option("--cpus", cpus,
                       "Guest CPUs; under TCG each is a host thread, so more than one makes "
                       "guest processes run truly at once")
        ->capture_default_str()
        ->check(CLI::Range(1u, max_guest_cpus));
    command.add_option("--append", append, "Add to the guest kernel's command line");
    command.add_flag("--cold", cold,
                     "Boot the kernel from scratch rather than restore a saved snapshot, and "
                     "save none (as KMSDK_COLD=1 does); see 'kmsdk snapshots'");
    command.add_flag("--debug-memory", debug_memory,
                     "Boot with the kernel's memory-error detectors on (SLUB debugging, KFENCE, "
                     "page poisoning, init_on_free: those the kernel has), so that a "
                     "use-after-free, an out-of-bounds write or a double free is reported as a "
                     "kernel problem (as KMSDK_DEBUG_MEMORY=1 does); slower");
    command.add_flag("-q,--quiet", quiet, "Do not report progress on stderr");
    command.add_flag("--allow-release-mismatch", allow_release_mismatch,
                     "Stage a -m module built for another kernel release anyway, to see the "
                     "kernel refuse it (without this, kmsdk refuses before booting)");

    // One value per use of a repeatable option, so that a positional after
    // it stays one: `cycle -m dep.ko x.ko` must not take x.ko for -m.
    for (const char* repeatable : {"--device", "--module", "--kernel-module", "--modprobe-conf",
                                   "--modules-load", "--program"})
        command.get_option(repeatable)
            ->expected(1)
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

GuestOptions GuestFlags::options() const
{
    GuestOptions options;
    options.kernel(kernel).memory_mb(memory_mb).cpus(cpus).cold(cold);
    if (debug_memory)
        options.debug_memory();
    if (gdb_stub)
        options.gdb_stub();
    if (!append.empty())
        options.kernel_cmdline(append);
    for (const auto& device : devices)
        options.device(device);
    for (const auto& module : modules)
        options.module(module);
    for (const auto& name : kernel_modules)
        options.kernel_module(name);
    for (const auto& conf : modprobe_confs) {
        std::ifstream in{conf};
        std::ostringstream text;
        text << in.rdbuf();
        options.file("/etc/modprobe.d/" + std::filesystem::path{conf}.filename().string(), text.str());
    }
    for (const auto& name : modules_load)
        options.modules_load(name);
    for (const auto& value : programs) {
        auto program = parse_program_flag(value);
        options.program(program.host_path, program.guest_path);
    }
    return options;
}

Guest boot_guest(const GuestFlags& flags)
{
    // Refused here, before a boot, with the --kernel that fits: the
    // guest's kernel would only say "Invalid module format".
    if (!flags.allow_release_mismatch && !flags.modules.empty()) {
        auto kernel = Kernel::find(flags.kernel);
        for (const auto& module : flags.modules)
            require_built_for(module, kernel);
    }
    // Whether it restores or boots is known only once it is up: "starting"
    // promises neither.
    if (!flags.quiet)
        fmt::print(stderr, "kmsdk: starting a guest on {}...\n",
                   flags.kernel.empty() ? "the newest cached kernel" : flags.kernel);
    auto started = std::chrono::steady_clock::now();
    auto options = flags.options();
    options.signals(ForwardedSignals::install().watch_fd());
    Guest guest{std::move(options)};
    if (flags.quiet)
        return guest;

    auto seconds = [](auto duration) { return std::chrono::duration<double>(duration).count(); };
    const auto& stats = guest.boot_stats();
    std::string how = stats.restored
                          ? fmt::format("restored from a {}snapshot in {:.2f} s",
                                        stats.staged ? "staged " : "", seconds(stats.to_agent))
                          : fmt::format("booted in {:.2f} s", seconds(stats.to_agent));
    if (stats.attempts > 1)
        how += fmt::format(" at attempt {}", stats.attempts);
    if (stats.snapshot_save.count() > 0)
        how += fmt::format(" (snapshot saved in {:.2f} s)", seconds(stats.snapshot_save));
    if (stats.staged_save.count() > 0)
        how += fmt::format(" (staged snapshot saved in {:.2f} s)", seconds(stats.staged_save));
    // The total also counts staging, and the base initramfs when this is
    // its kernel's first guest.
    fmt::print(stderr, "kmsdk: guest {} {}; ready in {:.2f} s\n", guest.release(), how,
               seconds(std::chrono::steady_clock::now() - started));
    if (!guest.memory_debugging().empty())
        fmt::print(stderr, "kmsdk: memory debugging on: {}\n", fmt::join(guest.memory_debugging(), " "));
    return guest;
}

}  // namespace kmsdk::cli
