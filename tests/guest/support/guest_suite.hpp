// SPDX-License-Identifier: GPL-2.0
//
// What every guest suite shares: one guest per suite binary, booted on
// first use and reused by its test cases, on the kernel ctest chose
// (KMSDK_TEST_KERNEL), with the modules this build made for that kernel.
//
// Every test case passes when run alone (`guest_faults "<case name>"`): a
// case sets up what it needs itself instead of relying on what an earlier
// case left, and reads only the kernel log lines of its own doing
// (kernel_log_during, or Guest::log_mark and dmesg_since).
//
// Skipped cases. Catch2 v2 has no SKIP, so a case that cannot run here (it
// needs root, a second kernel, a mount) ends with
//
//     if (::geteuid() != 0)
//         return skip("mounting a tmpfs needs root");
//
// skip() records the case's name and the reason and reports them (a
// Catch2 WARN under the case, and a line on stdout); it returns nothing,
// so `return skip(...)` is the case's last statement. Only the test case's
// own body can return: a helper that finds the case cannot run must make
// its caller return too. When every case passed or skipped and at least
// one skipped, the suite's main (support/main.cpp) lists the skipped cases
// and exits with skip_exit_code, which tests/guest/CMakeLists.txt gives
// ctest as SKIP_RETURN_CODE: ctest reports the suite as skipped rather than
// passed. A failure anywhere still fails the suite.
#pragma once

#include "kmsdk/guest.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kmsdk::test {

// The exit status of a suite in which some case skipped and none failed
// (tests/guest/CMakeLists.txt chooses it for ctest).
constexpr int skip_exit_code = KMSDK_GUEST_SKIP_CODE;

// Marks the running test case skipped, for `reason`; the case then
// returns (see above).
void skip(std::string_view reason);

// "<test case>: <reason>" for each skip() so far.
const std::vector<std::string>& skipped_cases();

// The kernel under test: $KMSDK_TEST_KERNEL (a release or series), else the
// newest cached one.
const Kernel& test_kernel();

// A module this build made: <modules dir>/<release>/<name>.ko.
std::filesystem::path built_module(std::string_view name);
std::filesystem::path built_module(std::string_view name, std::string_view release);

// The suite's guest. `options` is called once, for the first boot; the
// runtime stages the same modules and files again after every reboot.
Guest& suite_guest(const std::function<GuestOptions()>& options);
// GuestOptions with these modules of this build staged, for the suites
// whose guest needs nothing else.
GuestOptions with_built_modules(std::initializer_list<std::string_view> names);

// Whether /proc/modules lists the module.
bool is_loaded(Guest& guest, std::string_view module);

// The line of `lsmod` or /proc/modules output that describes `module`, or "".
std::string line_of(std::string_view listing, std::string_view module);

// The whitespace-separated words of a line.
std::vector<std::string> words(const std::string& line);

// Lines of `text` that contain `needle`.
std::vector<std::string> lines_with(std::string_view text, std::string_view needle);

// The dmesg lines the kernel logged while `action` ran, and only those: a
// Guest::log_mark() before, Guest::dmesg_since() after. (An action that
// reboots the guest makes the mark meaningless: read the new boot's log.)
std::string kernel_log_during(Guest& guest, const std::function<void()>& action);

// Unloads the modules loaded now that were not in `before`, newest first
// (the order of /proc/modules), so that a test leaves what it found.
void unload_new_modules(Guest& guest, const std::vector<std::string>& before);

// Whether `path` exists in the guest (test -e).
bool exists(Guest& guest, std::string_view path);

// `text` without the whitespace around it: a command's one-line answer.
std::string trimmed(std::string_view text);

// A shell snippet that waits, up to 5 s, until /sys/module/<module>/refcnt
// reads `count`: for scripts that start or stop a process holding a file.
std::string wait_for_refcount_script(std::string_view module, int count);

// Starts a process in the guest that holds `node` open past this call (a
// file whose fops name `module` as owner holds the module), waits until
// /sys/module/<module>/refcnt reads `references` (what one open takes: 2
// for a cdev whose cdev and fops both name the module), and returns the
// holder's pid.
std::string hold_open(Guest& guest, std::string_view node, std::string_view module,
                      int references = 1);

// Unloads a module when a test case ends, should it stop half-way with the
// module loaded, so that the next case starts without it.
class UnloadAtEnd {
public:
    UnloadAtEnd(Guest& guest, std::string module) : guest_{guest}, module_{std::move(module)} {}
    UnloadAtEnd(const UnloadAtEnd&) = delete;
    UnloadAtEnd& operator=(const UnloadAtEnd&) = delete;
    ~UnloadAtEnd();

private:
    Guest& guest_;
    std::string module_;
};

// rmmod of a module in use (by an open file, or by the modules `users`
// names as lsmod does) fails and leaves it loaded: the agent words it as
// kmod does (EBUSY, "in use"), and kmod's rmmod says the same.
void check_rmmod_refused_in_use(Guest& guest, std::string_view module,
                                std::string_view users = "");

}  // namespace kmsdk::test

// Fails the test with the guest's health report (Oops, WARN, new taints);
// the guest then boots again for the next test.
#define CHECK_HEALTHY(guest) CHECK_NOTHROW((guest).check_healthy())
