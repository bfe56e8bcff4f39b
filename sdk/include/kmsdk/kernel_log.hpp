// SPDX-License-Identifier: GPL-2.0
//
// The guest kernel's log, read by the health check: records from the agent
// (/dev/kmsg format) or the serial console's text, scanned for the reports
// the kernel prints when something went wrong (Oops, BUG, WARNING, panic,
// lockups, hung tasks, RCU stalls), and the taint mask decoded into the
// kernel's letters.
//
//   auto records = kmsdk::parse_kmsg(log_payload);
//   auto problems = kmsdk::scan(records);
//   if (!problems.empty() || !kmsdk::new_taints(before, after).empty())
//       FAIL(kmsdk::describe(problems));
//
// The formats are those of the x86-64 kernels kmsdk boots (Debian's 6.1 and
// 6.12); the differences between them are handled here, not by callers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kmsdk {

// KernelLogRecord::usec of a console line that carried no timestamp.
inline constexpr std::uint64_t no_timestamp = ~std::uint64_t{0};

// One record of the kernel's log.
struct KernelLogRecord {
    // 0 (KERN_EMERG) to 7 (KERN_DEBUG): the syslog prefix's low 3 bits.
    // -1 when unknown: the console does not show levels.
    int level = -1;
    // /dev/kmsg's sequence number; for console text, the line's index.
    std::uint64_t seq = 0;
    // Microseconds since boot, or no_timestamp.
    std::uint64_t usec = no_timestamp;
    // The message, unescaped. Rarely, one record holds several lines.
    std::string text;
    // The syslog facility (the prefix divided by 8): 0 for the kernel, 1 for
    // what user space wrote to /dev/kmsg. -1 when unknown.
    int facility = -1;
};

// Parses the agent's records: one per line, "level,seq,usec;text", the
// line /dev/kmsg gives, which may carry more comma-separated fields before
// the ';' (flags, caller). The level field is the syslog prefix
// (facility * 8 + level). Text escapes (\xNN) are decoded. Continuation
// lines of a record (" KEY=value", the device properties) are skipped. A
// line that is not a record is kept whole as text with level -1, so the
// scanner still sees it.
std::vector<KernelLogRecord> parse_kmsg(std::string_view text);

// Parses what the serial console captured: lines with an optional
// "[   12.345678] " timestamp (and an optional "[  T123]" caller id), ends
// "\n" or "\r\n", the last line possibly unterminated. The records have no
// level; seq is the line's index.
std::vector<KernelLogRecord> parse_console(std::string_view text);

// The records as dmesg prints them: "[   12.345678] text", one per line.
std::string format_dmesg(const std::vector<KernelLogRecord>& records);

// One report the kernel printed.
struct KernelProblem {
    enum class Kind {
        Oops,               // a bad kernel memory access ("BUG: kernel NULL
                            // pointer dereference", then "Oops: ...")
        Bug,                // "kernel BUG at ...", or any other "BUG: ..."
        Warning,            // WARN_ON() and friends: "WARNING: CPU: ..."
        Panic,              // "Kernel panic - not syncing: ..."
        SoftLockup,         // "watchdog: BUG: soft lockup - CPU#0 stuck ..."
        HardLockup,         // "watchdog: Watchdog detected hard LOCKUP ..."
        HungTask,           // "INFO: task x:1 blocked for more than ..."
        RcuStall,           // "rcu: INFO: rcu_preempt self-detected stall ..."
        GeneralProtection,  // "general protection fault, ...: 0000 [#1] ..."
        KernelFault,        // any other trap that killed the task
                            // ("divide error: 0000 [#1]", "invalid opcode")
    };

    Kind kind = Kind::Bug;
    // The line that announced it, as the kernel printed it.
    std::string headline;
    // The lines of the report worth quoting, in order: the fault details
    // ("#PF: ...", "Oops: ..."), "CPU: ..." (which task, which taint),
    // "RIP: ..." (where), "Call Trace:" and its frames. Register dumps, code
    // bytes, the module list and unreliable ("? ") frames are left out.
    std::vector<std::string> trace;
    // When the headline was printed (microseconds since boot), or
    // no_timestamp.
    std::uint64_t usec = no_timestamp;
    // How many times the kernel reported it. A report repeated (once per
    // iteration of a buggy loop) is one problem: the same kind and
    // headline, whatever its task, CPU, taint and addresses. The first is
    // the one kept.
    std::size_t count = 1;
};

// "Oops", "BUG", "WARNING", "panic", "soft lockup", "hard lockup",
// "hung task", "RCU stall", "general protection fault", "kernel fault".
const char* kind_name(KernelProblem::Kind kind);

// The trace lines kept per problem, unless told otherwise.
inline constexpr std::size_t default_trace_lines = 12;

// Every problem reported in these records (or console lines), in order of
// first report. One report is one problem: the "BUG: ..." line, its "#PF:"
// lines and the "Oops: ..." line of the same Oops are one Oops; a report
// repeated is counted (KernelProblem::count). Records that user space
// wrote to /dev/kmsg, and records below KERN_WARNING, announce nothing.
std::vector<KernelProblem> scan(const std::vector<KernelLogRecord>& records,
                                std::size_t trace_lines = default_trace_lines);
std::vector<KernelProblem> scan(const std::vector<std::string>& lines,
                                std::size_t trace_lines = default_trace_lines);
// scan(parse_console(text)).
std::vector<KernelProblem> scan_console(std::string_view text,
                                        std::size_t trace_lines = default_trace_lines);

// A report for a test failure: one paragraph per problem, its kind and
// time, its headline (and how often it came, if more than once), then its
// trace indented. "" when there is none.
//
//   [Oops at 25.123456] BUG: kernel NULL pointer dereference, address: ...
//       #PF: supervisor write access in kernel mode
//       ...
std::string describe(const std::vector<KernelProblem>& problems);

// Taint flags: bit numbers of /proc/sys/kernel/tainted (include/linux/panic.h).
namespace taint {
inline constexpr std::uint64_t proprietary_module = 1u << 0;   // P
inline constexpr std::uint64_t forced_module = 1u << 1;        // F
inline constexpr std::uint64_t cpu_out_of_spec = 1u << 2;      // S
inline constexpr std::uint64_t forced_rmmod = 1u << 3;         // R
inline constexpr std::uint64_t machine_check = 1u << 4;        // M
inline constexpr std::uint64_t bad_page = 1u << 5;             // B
inline constexpr std::uint64_t user = 1u << 6;                 // U
inline constexpr std::uint64_t die = 1u << 7;                  // D
inline constexpr std::uint64_t overridden_acpi_table = 1u << 8;  // A
inline constexpr std::uint64_t warn = 1u << 9;                 // W
inline constexpr std::uint64_t crap = 1u << 10;                // C (staging)
inline constexpr std::uint64_t firmware_workaround = 1u << 11;  // I
inline constexpr std::uint64_t oot_module = 1u << 12;          // O
inline constexpr std::uint64_t unsigned_module = 1u << 13;     // E
inline constexpr std::uint64_t softlockup = 1u << 14;          // L
inline constexpr std::uint64_t livepatch = 1u << 15;           // K
inline constexpr std::uint64_t aux = 1u << 16;                 // X
inline constexpr std::uint64_t randstruct = 1u << 17;          // T
inline constexpr std::uint64_t test = 1u << 18;                // N
inline constexpr std::uint64_t fwctl = 1u << 19;               // J (6.15+)
}  // namespace taint

// The letters of the flags set in a taint mask, in bit order: 12289 (bits
// 0, 12, 13) is "POE". Bits no kernel defines show as '?'.
std::string taint_letters(std::uint64_t mask);
// The letters of the flags set in after and not in before.
std::string new_taints(std::uint64_t before, std::uint64_t after);
// Each flag set in the mask with its kernel name, as 6.12 prints them:
// "[O]=OOT_MODULE, [E]=UNSIGNED_MODULE". "" for 0.
std::string taint_names(std::uint64_t mask);

}  // namespace kmsdk
