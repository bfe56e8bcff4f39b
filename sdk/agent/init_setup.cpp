// SPDX-License-Identifier: GPL-2.0
#include "init_setup.hpp"

#include "log.hpp"
#include "system.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

namespace kmsdk::agent {
namespace {

struct Mount {
    const char* source;
    const char* target;
    const char* type;
    unsigned long flags;
    const char* options;
};

// In mount order: /dev before /dev/pts, /sys before /sys/kernel/debug.
constexpr Mount pid1_mounts[] = {
    {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr},
    {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr},
    // The initramfs has no /dev nodes: devtmpfs has one per device, and
    // makes the virtio port's node when virtio_console finds it.
    {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
    // The terminals of Run; /dev/ptmx finds this instance next to it.
    {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666"},
    {"debugfs", "/sys/kernel/debug", "debugfs", 0, nullptr},
    {"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
    {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
};

volatile sig_atomic_t power_signal = 0;

void note_power_signal(int signal_number)
{
    power_signal = signal_number;
}

// Messages from before /dev/kmsg could be opened.
std::vector<std::string> mount_filesystems()
{
    std::vector<std::string> problems;
    for (const auto& mount : pid1_mounts) {
        if (::mkdir(mount.target, 0755) != 0 && errno != EEXIST)
            problems.push_back(std::string{"cannot make "} + mount.target + ": " +
                               errno_text(errno));
        // EBUSY: already mounted (the kernel may mount devtmpfs itself).
        if (::mount(mount.source, mount.target, mount.type, mount.flags, mount.options) != 0 &&
            errno != EBUSY)
            problems.push_back(std::string{"cannot mount "} + mount.type + " on " + mount.target +
                               ": " + errno_text(errno));
    }
    return problems;
}

// The kernel opens /dev/console for init only if the initramfs has that
// node; with devtmpfs mounted it exists now.
void attach_console()
{
    int console = ::open("/dev/console", O_RDWR | O_NOCTTY);
    if (console < 0)
        return;
    for (int target : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO})
        if (console != target)
            ::dup2(console, target);
    if (console > STDERR_FILENO)
        ::close(console);
}

}  // namespace

void prepare_pid1_environment()
{
    auto problems = mount_filesystems();
    attach_console();
    open_kernel_log_writer();
    for (const auto& problem : problems)
        log_problem(problem);

    ::setenv("PATH", "/sbin:/bin:/usr/sbin:/usr/bin", 1);
    ::setenv("HOME", "/root", 1);
    ::setenv("TERM", "linux", 1);
    ::mkdir("/root", 0700);
    if (::chdir("/") != 0)
        log_problem("cannot chdir to /: " + errno_text(errno));

    // A command that exits before reading all its stdin must not take the
    // agent with it; children get the default back before exec.
    ::signal(SIGPIPE, SIG_IGN);

    // No SA_RESTART: the signal interrupts the main loop's poll, so the
    // agent acts at once. exec resets handled signals in children.
    struct sigaction action{};
    action.sa_handler = note_power_signal;
    sigemptyset(&action.sa_mask);
    for (int signal_number : {SIGUSR1, SIGUSR2, SIGTERM})
        ::sigaction(signal_number, &action, nullptr);
}

void act_on_power_signals()
{
    int signal_number = power_signal;
    if (signal_number == 0)
        return;
    if (signal_number == SIGTERM) {
        log_note("rebooting, as asked by SIGTERM (busybox reboot)");
        ::sync();
        ::reboot(RB_AUTOBOOT);
        log_problem("cannot reboot: " + errno_text(errno));
        power_signal = 0;
        return;
    }
    log_note("powering off, as asked by busybox poweroff or halt");
    power_off();
}

void power_off()
{
    ::sync();
    ::reboot(RB_POWER_OFF);
    log_problem("cannot power off: " + errno_text(errno));
    for (;;)
        ::pause();
}

}  // namespace kmsdk::agent
