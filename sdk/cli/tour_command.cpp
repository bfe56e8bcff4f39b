// SPDX-License-Identifier: GPL-2.0
// `kmsdk tour`: the main job's walk through the sample modules in a real
// guest, printing each command and what it printed.
#include "commands.hpp"
#include "executable_dir.hpp"
#include "forwarded_signals.hpp"
#include "guest_flags.hpp"
#include "kernel_health.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <memory>
#include <optional>

namespace kmsdk::cli {
namespace {

struct TourArgs {
    GuestFlags guest;
    KernelHealthPolicy health;
    std::string modules_dir = "build/modules";
};

// kms-edu-ctl, kms_edu's user-space tool, built beside kmsdk (build/bin)
// or installed in libexec; $KMSDK_EDU_CTL chooses another.
std::optional<std::filesystem::path> find_edu_ctl()
{
    if (const char* chosen = std::getenv("KMSDK_EDU_CTL"); chosen && *chosen) {
        if (!std::filesystem::is_regular_file(chosen))
            throw std::runtime_error(fmt::format("KMSDK_EDU_CTL is {}, which is not a file",
                                                 chosen));
        return chosen;
    }
    std::vector<std::filesystem::path> candidates;
    if (auto bin = executable_dir(); !bin.empty())
        candidates.push_back(bin / "kms-edu-ctl");
    candidates.push_back(std::filesystem::path{KMSDK_INSTALLED_LIBEXEC_DIR} / "kms-edu-ctl");
    for (const auto& candidate : candidates)
        if (std::filesystem::is_regular_file(candidate))
            return candidate;
    return std::nullopt;
}

const char* const tour_modules[] = {"kms_hello", "kms_core",   "kms_consumer", "kms_checksum",
                                    "kms_fs",    "kms_net",    "kms_kprobe",   "kms_binfmt",
                                    "kms_edu"};
constexpr const char* edu_ctl_guest_path = "/usr/bin/kms-edu-ctl";

void show(Guest& guest, const std::string& command)
{
    fmt::print("\n$ {}\n", command);
    std::fflush(stdout);
    auto result = guest.run(command);
    fmt::print("{}{}", result.out, result.err);
    if (!result.ok())
        fmt::print("(exit status {})\n", result.status);
    // The signal went to that command; the tour must not go on to the next.
    ForwardedSignals::install().stop_if_received(fmt::format("during `{}`", command));
}

void say(std::string_view text)
{
    fmt::print("\n# {}\n", text);
}

int tour(TourArgs args)
{
    auto kernel = Kernel::find(args.guest.kernel);
    auto dir = std::filesystem::path{args.modules_dir} / kernel.release();
    for (const char* name : tour_modules) {
        auto ko = dir / (std::string{name} + ".ko");
        if (!std::filesystem::exists(ko))
            throw std::runtime_error(fmt::format("{} is missing: build the modules first "
                                                 "('make run' does)", ko.string()));
        args.guest.modules.push_back(ko.string());
    }
    args.guest.kernel = kernel.release();
    // QEMU's edu device, for kms_edu to drive in the last chapter. The boot
    // pass loads kms_edu for it, so lsmod shows it from the start.
    args.guest.devices.emplace_back("edu");
    auto edu_ctl = find_edu_ctl();
    if (edu_ctl)
        args.guest.programs.push_back(edu_ctl->string() + ":" + edu_ctl_guest_path);
    auto guest = boot_guest(args.guest);
    auto started = std::chrono::steady_clock::now();

    say("A module's identity: what the kernel checks before it loads it.");
    show(guest, "modinfo kms_hello.ko");
    say("Load it with a parameter: init runs, and says so in the kernel log.");
    show(guest, "insmod kms_hello.ko whom=kmsdk");
    show(guest, "dmesg | tail -n 1");
    show(guest, "lsmod");
    show(guest, "cat /sys/module/kms_hello/parameters/whom");
    show(guest, "rmmod kms_hello && dmesg | tail -n 1");

    say("Stacking: modprobe reads modules.dep and loads kms_core first.");
    show(guest, "grep kms_ /lib/modules/$(uname -r)/modules.dep");
    show(guest, "modprobe kms_consumer && dmesg | tail -n 3");
    show(guest, "lsmod");
    say("kms_core is in use: it cannot go first.");
    show(guest, "rmmod kms_core");
    auto refused = guest.rmmod("kms_core");
    fmt::print("kmsdk's rmmod, worded as kmod would: {}\n", refused.message);
    say("modprobe -r removes the whole chain, top down.");
    show(guest, "modprobe -r kms_consumer && lsmod");

    say("A module that needs one of the kernel's own: modprobe pulls libcrc32c in.");
    show(guest, "modprobe kms_checksum && lsmod && dmesg | tail -n 1");
    show(guest, "modprobe -r kms_checksum && lsmod");

    say("A filesystem: mount asks for the type kmsfs, the kernel runs modprobe fs-kmsfs, and "
        "the alias kms_fs declares loads it.");
    show(guest, "mount -t kmsfs none /mnt && grep kmsfs /proc/filesystems /proc/mounts");
    show(guest, "echo hi > /mnt/f && mkdir /mnt/d && echo there > /mnt/d/g && cat /mnt/f /mnt/d/g");
    say("A mount holds the module: rmmod waits for umount.");
    show(guest, "lsmod | grep kms_fs; rmmod kms_fs");
    show(guest, "umount /mnt && rmmod kms_fs && dmesg | tail -n 1");

    say("A network driver: kms0 counts the packets it is given, then drops them, so nobody "
        "answers the ping.");
    show(guest, "insmod kms_net.ko && sysctl -q -w net.ipv6.conf.kms0.disable_ipv6=1 && "
                "ip link set kms0 up && ip addr add 10.99.0.1/24 dev kms0 && ip link show kms0");
    show(guest, "ping -c 3 -W 1 10.99.0.2");
    show(guest, "cat /sys/class/net/kms0/statistics/tx_packets");
    say("An interface holds no reference on its driver: rmmod takes kms0 down with it.");
    show(guest, "rmmod kms_net && ip link show kms0");

    say("System calls: a module cannot add one, but a kprobe can watch one. kms_kprobe counts "
        "sync(2).");
    show(guest, "insmod kms_kprobe.ko && for i in 1 2 3; do sync; done && "
                "cat /sys/kernel/debug/kms_kprobe/calls /sys/kernel/debug/kprobes/list");
    show(guest, "rmmod kms_kprobe && dmesg | tail -n 1");

    say("An executable loader: with kms_binfmt loaded, a file that begins #kms!<interpreter> "
        "runs that interpreter on itself.");
    show(guest, "insmod kms_binfmt.ko && printf '#kms!/bin/cat\\necho a shell ran this\\n' "
                "> /tmp/self.kms && chmod +x /tmp/self.kms && /tmp/self.kms");
    say("Without it, the shell runs the same file as a script.");
    show(guest, "rmmod kms_binfmt && /tmp/self.kms");

    say("A PCI driver: nobody loaded kms_edu by name. At boot kmsdk's agent did what udev does, "
        "modprobe the modalias of every device without a driver: QEMU's edu device matches the "
        "alias kms_edu declares for vendor 1234, device 11e8.");
    show(guest, "cat /sys/bus/pci/drivers/kms_edu/0*/modalias");
    show(guest, "modinfo -F alias kms_edu.ko");
    show(guest, "dmesg | grep kms_edu");
    say("Bound: the driver lists its device, whose folder holds the driver's attributes and "
        "the misc device behind /dev/kms_edu.");
    show(guest, "ls -l /sys/bus/pci/drivers/kms_edu/ | grep 0000:");
    show(guest, "cd /sys/bus/pci/drivers/kms_edu/0*/ && grep . id irq_mode && ls misc");
    show(guest, "ls -l /dev/kms_edu");
    if (edu_ctl) {
        say("kms-edu-ctl drives /dev/kms_edu: a factorial the device computes and signals with "
            "an interrupt, a liveness check, DMA through the device's buffer.");
        show(guest, "kms-edu-ctl factorial 10");
        show(guest, "kms-edu-ctl liveness 0x12345678");
        show(guest, "kms-edu-ctl dma-roundtrip");
        show(guest, "kms-edu-ctl info");
    } else {
        say("kms-edu-ctl, the tool that drives /dev/kms_edu, is not built: 'cmake --build build "
            "--target kms-edu-ctl' builds it beside kmsdk, or set KMSDK_EDU_CTL to its path.");
    }

    auto health = guest.health();
    fmt::print("\n# The tour took {:.2f} s on kernel {}. ",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
               guest.release());
    if (health.healthy())
        fmt::print("The kernel is healthy; taint flags {} (out-of-tree, unsigned modules).\n",
                   health.taints);
    else
        fmt::print("The kernel reported problems.\n");
    std::fflush(stdout);
    int status = args.health.verdict(health, exit_ok);
    guest.shutdown();
    return status;
}

}  // namespace

Subcommand add_tour_command(CLI::App& app)
{
    auto args = std::make_shared<TourArgs>();
    auto* command = app.add_subcommand(
        "tour", "Walk through the sample modules in a guest: load, inspect, stack, unload, "
                "mount a filesystem, ping through a network driver, count a system call, run "
                "a file through a loader, drive a PCI device");
    command->add_option("--modules-dir", args->modules_dir,
                        "Where the built modules are, one folder per kernel release")
        ->capture_default_str();
    args->guest.add_to(*command);
    args->health.add_to(*command);
    return {command, [args](const std::vector<std::string>&) { return tour(*args); }};
}

}  // namespace kmsdk::cli
