// SPDX-License-Identifier: GPL-2.0
//
// What the agent does first as PID 1 of the initramfs: the file systems,
// the console, the environment its commands inherit.
#pragma once

namespace kmsdk::agent {

// Mounts proc, sysfs, devtmpfs, devpts, debugfs and tmpfs on /tmp and /run,
// puts stdin, stdout and stderr on /dev/console, sets PATH, HOME and TERM,
// and opens the kernel log for the agent's messages. Problems are logged;
// nothing here is fatal, since PID 1 must not exit.
void prepare_pid1_environment();

// sync and power off. Never returns: if the kernel refuses, PID 1 waits.
[[noreturn]] void power_off();

// busybox's poweroff, reboot and halt signal PID 1 (SIGUSR2, SIGTERM,
// SIGUSR1) as they would busybox init. The handlers only take note; the
// main loop acts on it between requests.
void act_on_power_signals();

}  // namespace kmsdk::agent
