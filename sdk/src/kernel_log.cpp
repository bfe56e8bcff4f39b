// SPDX-License-Identifier: GPL-2.0
//
// What the kernel prints when something goes wrong, as x86-64 6.1 and 6.12
// print it (arch/x86/mm/fault.c, arch/x86/kernel/dumpstack.c and traps.c,
// kernel/panic.c, lib/bug.c, kernel/watchdog.c, kernel/hung_task.c,
// kernel/rcu/tree_stall.h, lib/dump_stack.c). A NULL dereference, 6.1:
//
//   BUG: kernel NULL pointer dereference, address: 0000000000000000
//   #PF: supervisor write access in kernel mode
//   #PF: error_code(0x0002) - not-present page
//   PGD 0 P4D 0
//   Oops: 0002 [#1] PREEMPT SMP PTI
//   CPU: 0 PID: 95 Comm: sh Tainted: G           OE      6.1.0-56-amd64 #1  Debian ...
//   Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS ...
//   RIP: 0010:kms_fault_oops_poke+0x5/0x10 [kms_fault_oops]
//   Code: ... / RSP: ... / RAX: ... (registers)
//   Call Trace:
//    <TASK>
//    kms_fault_oops_write+0x21/0x30 [kms_fault_oops]
//    vfs_write+0xb9/0x3f0
//    ...
//    </TASK>
//   Modules linked in: kms_fault_oops(OE) ...
//   CR2: 0000000000000000
//   ---[ end trace 0000000000000000 ]---
//   RIP: ... (the registers again, "in case the oops scrolled away")
//
// 6.12 prints "Oops: Oops: 0002 [#1] ..." (every die header gained the
// "Oops: " prefix: "Oops: general protection fault, ...: 0000 [#1]"),
// "CPU: 0 UID: 0 PID: 95 ..." and a "Tainted: [O]=OOT_MODULE, ..." line.
// Lockups, hung tasks, RCU stalls and non-fatal BUGs end with no marker.
#include "kmsdk/kernel_log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>

namespace kmsdk {
namespace {

bool starts_with(std::string_view s, std::string_view prefix)
{
    return s.substr(0, prefix.size()) == prefix;
}

bool contains(std::string_view s, std::string_view part)
{
    return s.find(part) != std::string_view::npos;
}

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c)
{
    if (is_digit(c))
        return c - '0';
    return (c | 0x20) - 'a' + 10;
}

std::optional<std::uint64_t> to_u64(std::string_view s)
{
    std::uint64_t value = 0;
    if (s.empty())
        return std::nullopt;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size())
        return std::nullopt;
    return value;
}

// /dev/kmsg escapes control characters, bytes >= 127 and '\' as \xNN.
std::string unescape(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x' && is_hex(s[i + 2]) &&
            is_hex(s[i + 3])) {
            out.push_back(static_cast<char>(hex_value(s[i + 2]) * 16 + hex_value(s[i + 3])));
            i += 3;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

// Calls fn(line) for each line of text; "\r\n" ends a line as "\n" does,
// and an unterminated last line counts.
template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn)
{
    while (!text.empty()) {
        auto end = text.find('\n');
        auto line = text.substr(0, end);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        fn(line);
        if (end == std::string_view::npos)
            break;
        text.remove_prefix(end + 1);
    }
}

std::optional<KernelLogRecord> parse_kmsg_line(std::string_view line)
{
    auto semicolon = line.find(';');
    if (semicolon == std::string_view::npos)
        return std::nullopt;
    auto prefix = line.substr(0, semicolon);
    std::array<std::string_view, 3> fields;
    for (auto& field : fields) {
        auto comma = prefix.find(',');
        field = prefix.substr(0, comma);
        prefix = comma == std::string_view::npos ? std::string_view{} : prefix.substr(comma + 1);
    }
    auto syslog = to_u64(fields[0]);
    auto seq = to_u64(fields[1]);
    auto usec = to_u64(fields[2]);
    if (!syslog || !seq || !usec || *syslog > 1023)
        return std::nullopt;
    KernelLogRecord record;
    record.level = static_cast<int>(*syslog & 7);
    record.facility = static_cast<int>(*syslog >> 3);
    record.seq = *seq;
    record.usec = *usec;
    record.text = unescape(line.substr(semicolon + 1));
    return record;
}

// Strips "[   12.345678] " (and "[  T123] " after it); returns the
// timestamp in microseconds.
std::uint64_t strip_timestamp(std::string_view& line)
{
    if (!starts_with(line, "["))
        return no_timestamp;
    auto close = line.find(']');
    if (close == std::string_view::npos)
        return no_timestamp;
    auto stamp = line.substr(1, close - 1);
    while (!stamp.empty() && stamp.front() == ' ')
        stamp.remove_prefix(1);
    auto dot = stamp.find('.');
    if (dot == std::string_view::npos)
        return no_timestamp;
    auto seconds = to_u64(stamp.substr(0, dot));
    auto fraction = stamp.substr(dot + 1);
    auto fraction_value = to_u64(fraction);
    if (!seconds || !fraction_value || fraction.size() > 9)
        return no_timestamp;
    std::uint64_t usec = *fraction_value;
    for (auto digits = fraction.size(); digits < 6; ++digits)
        usec *= 10;
    for (auto digits = fraction.size(); digits > 6; --digits)
        usec /= 10;
    line.remove_prefix(close + 1);

    // CONFIG_PRINTK_CALLER: "[  T123]" or "[    C0]" right after it.
    if (starts_with(line, "[")) {
        auto caller_close = line.find(']');
        if (caller_close != std::string_view::npos) {
            auto caller = line.substr(1, caller_close - 1);
            while (!caller.empty() && caller.front() == ' ')
                caller.remove_prefix(1);
            if (caller.size() > 1 && (caller[0] == 'T' || caller[0] == 'C') &&
                to_u64(caller.substr(1)))
                line.remove_prefix(caller_close + 1);
        }
    }
    if (starts_with(line, " "))
        line.remove_prefix(1);
    return *seconds * 1000000 + usec;
}

// ---- What a line of a report is -------------------------------------------

using Kind = KernelProblem::Kind;

enum class Role {
    Standalone,  // a report of its own
    Announce,    // a report whose die header ("Oops: ... [#1]") follows
};

struct Headline {
    Kind kind;
    Role role;
};

// "Oops: 0002 [#1] PREEMPT SMP PTI" (6.1), "Oops: Oops: 0002 [#1] ..." and
// "Oops: general protection fault, ...: 0000 [#1] ..." (6.12): what
// __die_header() prints, "<str>: <error code> [#<n>]". Returns <str>.
std::optional<std::string_view> die_header(std::string_view line)
{
    auto hash = line.find(" [#");
    if (hash == std::string_view::npos || hash < 6)
        return std::nullopt;
    auto number = line.substr(hash + 3);
    auto close = number.find(']');
    if (close == std::string_view::npos || close == 0 || !to_u64(number.substr(0, close)))
        return std::nullopt;
    // ": " and four hex digits before " [#".
    auto code = line.substr(hash - 4, 4);
    if (line.substr(hash - 6, 2) != ": ")
        return std::nullopt;
    for (char c : code)
        if (!is_hex(c))
            return std::nullopt;
    auto str = line.substr(0, hash - 6);
    if (starts_with(str, "Oops: ") && str.size() > 6)
        str.remove_prefix(6);
    if (str.empty())
        return std::nullopt;
    return str;
}

Kind die_kind(std::string_view str)
{
    if (str == "Oops")
        return Kind::Oops;
    if (starts_with(str, "general protection fault"))
        return Kind::GeneralProtection;
    return Kind::KernelFault;
}

bool is_lockdep_warning(std::string_view line)
{
    static constexpr std::array<std::string_view, 7> lockdep = {
        "WARNING: possible ",
        "WARNING: suspicious RCU usage",
        "WARNING: bad unlock balance detected!",
        "WARNING: held lock freed!",
        "WARNING: inconsistent lock state",
        "WARNING: lock held when returning to user space!",
        "WARNING: Nested lock was not taken",
    };
    for (auto prefix : lockdep)
        if (starts_with(line, prefix))
            return true;
    return false;
}

std::optional<Headline> headline(std::string_view line)
{
    // A soft lockup is a "BUG:" too; it must win over the generic one.
    if (starts_with(line, "watchdog: BUG: soft lockup") || starts_with(line, "BUG: soft lockup"))
        return Headline{Kind::SoftLockup, Role::Standalone};
    if (contains(line, "Watchdog detected hard LOCKUP") &&
        (starts_with(line, "watchdog: ") || starts_with(line, "NMI watchdog: ")))
        return Headline{Kind::HardLockup, Role::Standalone};
    if (starts_with(line, "BUG: kernel NULL pointer dereference") ||
        starts_with(line, "BUG: unable to handle "))
        return Headline{Kind::Oops, Role::Announce};
    if (starts_with(line, "kernel BUG at ") ||
        (starts_with(line, "BUG: ") && contains(line, "stack guard page was hit")))
        return Headline{Kind::Bug, Role::Announce};
    if (starts_with(line, "traps: PANIC: double fault"))
        return Headline{Kind::KernelFault, Role::Announce};
    if (starts_with(line, "BUG: ") || starts_with(line, "UBSAN: "))
        return Headline{Kind::Bug, Role::Standalone};
    // SLUB debugging names the cache, then what it found: "BUG kmalloc-64
    // (Tainted: G    B  O): Poison overwritten".
    if (starts_with(line, "BUG ") && contains(line, "): "))
        return Headline{Kind::Bug, Role::Standalone};
    // WARN() up to 6.x: "WARNING: CPU: 0 PID: 92 at file.c:22 f+0x10/0x20";
    // from 7.x: "WARNING: file.c:22 at f+0x10/0x20 [mod], CPU#0: insmod/92".
    if (starts_with(line, "WARNING: CPU: ") ||
        (starts_with(line, "WARNING: ") && contains(line, " at ") && contains(line, ", CPU#")) ||
        is_lockdep_warning(line))
        return Headline{Kind::Warning, Role::Standalone};
    if (starts_with(line, "Kernel panic - not syncing"))
        return Headline{Kind::Panic, Role::Standalone};
    if (starts_with(line, "INFO: task ") && contains(line, " blocked for more than "))
        return Headline{Kind::HungTask, Role::Standalone};
    if ((starts_with(line, "rcu: INFO: ") || starts_with(line, "INFO: rcu")) &&
        contains(line, "stall"))
        return Headline{Kind::RcuStall, Role::Standalone};
    return std::nullopt;
}

// "---[ end trace 0000000000000000 ]---", "---[ end Kernel panic - ...",
// and what opens a report ("------------[ cut here ]------------", the
// "=====" rule around sanitizer reports): the report before is over.
bool ends_report(std::string_view line)
{
    if (starts_with(line, "---[ end ") || contains(line, "[ cut here ]"))
        return true;
    return line.size() >= 20 && line.find_first_not_of('=') == std::string_view::npos;
}

// " do_one_initcall+0x5b/0x220", " ? __die+0x23/0x70",
// " kms_x_init+0x15/0x30 [kms_x]", and print_ip_sym()'s
// "[<ffffffffc0a0e005>] kms_x+0x5/0x10 [kms_x]".
struct StackFrame {
    bool reliable;
};

std::optional<StackFrame> stack_frame(std::string_view line)
{
    if (!starts_with(line, " ") && !starts_with(line, "[<"))
        return std::nullopt;
    while (starts_with(line, " ") || starts_with(line, "\t"))
        line.remove_prefix(1);
    bool reliable = true;
    if (starts_with(line, "? ")) {
        reliable = false;
        line.remove_prefix(2);
    }
    if (starts_with(line, "[<")) {
        auto close = line.find(">] ");
        if (close == std::string_view::npos)
            return std::nullopt;
        line.remove_prefix(close + 3);
    }
    // An address the unwinder could not name (" ? 0xffffffffc0219000", a
    // module's freed init code) is a frame too, just not one worth quoting.
    if (!reliable && starts_with(line, "0x") && line.size() > 2 &&
        std::all_of(line.begin() + 2, line.end(),
                    [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }))
        return StackFrame{false};
    auto plus = line.find("+0x");
    if (plus == std::string_view::npos || plus == 0)
        return std::nullopt;
    for (char c : line.substr(0, plus))
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '$'))
            return std::nullopt;
    if (line.find("/0x", plus) == std::string_view::npos)
        return std::nullopt;
    return StackFrame{reliable};
}

// " <TASK>", " </TASK>", " <IRQ>", " </IRQ>", " <NMI>", " <#DF>", ...
bool stack_marker(std::string_view line)
{
    while (starts_with(line, " "))
        line.remove_prefix(1);
    return line.size() > 2 && line.front() == '<' && line.back() == '>';
}

// The registers show_regs() prints ("RIP: 0010:...", "Code: ...",
// "RSP: 0018:... EFLAGS: ...", "RAX: ...", "FS:  ...", "CR2: ...", ...).
bool register_line(std::string_view line)
{
    static constexpr std::array<std::string_view, 14> prefixes = {
        "RIP: ", "Code: ", "RSP: ", "RAX: ", "RDX: ", "RBP: ", "R10: ",
        "R13: ", "FS: ",  "CS: ",  "CR2: ", "DR0: ", "DR3: ", "PKRU: ",
    };
    for (auto prefix : prefixes)
        if (starts_with(line, prefix))
            return true;
    return false;
}

// "RIP: 0010:kms_x+0x15/0x30 [kms_x]": where the kernel was; a user-mode
// one ("RIP: 0033:0x7f...") is where the system call came from.
bool kernel_rip(std::string_view line)
{
    return starts_with(line, "RIP: ") && contains(line, "+0x");
}

// "CPU: 0 PID: 95 Comm: ..." (6.1), "CPU: 0 UID: 0 PID: 95 ..." (6.12).
bool cpu_line(std::string_view line)
{
    return starts_with(line, "CPU: ") && line.size() > 5 && is_digit(line[5]) &&
           contains(line, " PID: ");
}

// Lines before the call trace worth quoting for a kind of report.
bool worth_quoting(Kind kind, std::string_view line)
{
    if (starts_with(line, "#PF: ") || cpu_line(line) || kernel_rip(line))
        return true;
    if (kind == Kind::HungTask)
        return starts_with(line, "task:");
    if (kind == Kind::RcuStall)
        return starts_with(line, "rcu: ") || starts_with(line, "\t");
    return false;
}

// What tells one report from another: its kind and headline, with what
// changes from one repetition to the next taken out: "(Tainted: ...)", the
// numbers after "PID: " and "CPU: ", and hex numbers.
std::string report_key(const KernelProblem& problem)
{
    std::string key = std::string{kind_name(problem.kind)} + ":";
    std::string_view text = problem.headline;
    for (std::size_t at = 0; at < text.size();) {
        auto rest = text.substr(at);
        if (starts_with(rest, "(Tainted:")) {
            auto close = rest.find(')');
            at += close == std::string_view::npos ? rest.size() : close + 1;
            continue;
        }
        bool after_label = key.ends_with("PID: ") || key.ends_with("CPU: ") || key.ends_with("CPU#");
        if (is_digit(text[at]) && after_label) {
            while (at < text.size() && is_digit(text[at]))
                ++at;
            continue;
        }
        if (starts_with(rest, "0x") || (is_hex(text[at]) && rest.size() >= 8 &&
                                        std::all_of(rest.begin(), rest.begin() + 8, is_hex))) {
            key += '#';
            at += starts_with(rest, "0x") ? 2 : 0;
            while (at < text.size() && is_hex(text[at]))
                ++at;
            continue;
        }
        key += text[at++];
    }
    return key;
}

std::vector<KernelProblem> merge_repeats(std::vector<KernelProblem> problems)
{
    std::vector<KernelProblem> merged;
    std::map<std::string, std::size_t> index;
    for (auto& problem : problems) {
        auto [at, fresh] = index.try_emplace(report_key(problem), merged.size());
        if (fresh)
            merged.push_back(std::move(problem));
        else
            merged[at->second].count += problem.count;
    }
    return merged;
}

class Scanner {
public:
    explicit Scanner(std::size_t trace_lines) : trace_lines_{trace_lines} {}

    // may_announce: false for what user space wrote, or a low level.
    void line(std::string_view text, std::uint64_t usec, bool may_announce)
    {
        if (ends_report(text)) {
            close();
            return;
        }
        if (auto str = die_header(text)) {
            if (open_ && awaiting_die_) {
                // The "Oops: ..." of the "BUG: ..." above: the same report.
                awaiting_die_ = false;
                add(text);
                return;
            }
            open(die_kind(*str), text, usec, false);
            return;
        }
        if (may_announce) {
            if (auto head = headline(text)) {
                open(head->kind, text, usec, head->role == Role::Announce);
                return;
            }
        }
        if (!open_ || !collecting_)
            return;

        // Frames can come before "Call Trace:" too ("Preemption disabled
        // at:", KFENCE's access and allocation stacks).
        if (auto frame = stack_frame(text)) {
            if (frame->reliable)
                add(text);
            return;
        }
        if (in_call_trace_) {
            // A register dump inside the trace (an interrupt's or the
            // system call's frame) keeps it going; anything else ends it.
            if (stack_marker(text) || register_line(text)) {
                if (kernel_rip(text))
                    add(text);
                return;
            }
            collecting_ = false;
            return;
        }
        if (starts_with(text, "Call Trace:")) {
            in_call_trace_ = true;
            add(text);
            return;
        }
        if (worth_quoting(problems_.back().kind, text))
            add(text);
    }

    std::vector<KernelProblem> take()
    {
        close();
        return merge_repeats(std::move(problems_));
    }

private:
    void open(Kind kind, std::string_view text, std::uint64_t usec, bool awaits_die)
    {
        close();
        problems_.push_back(KernelProblem{kind, std::string{text}, {}, usec});
        open_ = true;
        collecting_ = true;
        in_call_trace_ = false;
        awaiting_die_ = awaits_die;
    }

    void close()
    {
        open_ = false;
        awaiting_die_ = false;
    }

    void add(std::string_view text)
    {
        auto& trace = problems_.back().trace;
        if (trace.size() < trace_lines_)
            trace.emplace_back(text);
    }

    std::size_t trace_lines_;
    std::vector<KernelProblem> problems_;
    bool open_ = false;
    bool collecting_ = false;
    bool in_call_trace_ = false;
    bool awaiting_die_ = false;
};

constexpr std::string_view taint_flag_letters = "PFSRMBUDAWCIOELKXTNJ";
constexpr std::array<std::string_view, 20> taint_flag_names = {
    "PROPRIETARY_MODULE", "FORCED_MODULE", "CPU_OUT_OF_SPEC",
    "FORCED_RMMOD",       "MACHINE_CHECK", "BAD_PAGE",
    "USER",               "DIE",           "OVERRIDDEN_ACPI_TABLE",
    "WARN",               "CRAP",          "FIRMWARE_WORKAROUND",
    "OOT_MODULE",         "UNSIGNED_MODULE", "SOFTLOCKUP",
    "LIVEPATCH",          "AUX",           "RANDSTRUCT",
    "TEST",               "FWCTL",
};

}  // namespace

std::vector<KernelLogRecord> parse_kmsg(std::string_view text)
{
    std::vector<KernelLogRecord> records;
    for_each_line(text, [&](std::string_view line) {
        if (line.empty())
            return;
        // A record's properties: " SUBSYSTEM=pci", " DEVICE=+pci:0000:00:01.0".
        if (line.front() == ' ')
            return;
        if (auto record = parse_kmsg_line(line)) {
            records.push_back(std::move(*record));
            return;
        }
        KernelLogRecord whole;
        whole.text = std::string{line};
        records.push_back(std::move(whole));
    });
    return records;
}

std::vector<KernelLogRecord> parse_console(std::string_view text)
{
    std::vector<KernelLogRecord> records;
    std::uint64_t index = 0;
    for_each_line(text, [&](std::string_view line) {
        KernelLogRecord record;
        record.seq = index++;
        record.usec = strip_timestamp(line);
        record.text = std::string{line};
        records.push_back(std::move(record));
    });
    return records;
}

std::string format_dmesg(const std::vector<KernelLogRecord>& records)
{
    std::string out;
    for (const auto& record : records) {
        if (record.usec != no_timestamp)
            out += fmt::format("[{:5}.{:06}] ", record.usec / 1000000, record.usec % 1000000);
        out += record.text;
        out += '\n';
    }
    return out;
}

const char* kind_name(KernelProblem::Kind kind)
{
    switch (kind) {
    case Kind::Oops: return "Oops";
    case Kind::Bug: return "BUG";
    case Kind::Warning: return "WARNING";
    case Kind::Panic: return "panic";
    case Kind::SoftLockup: return "soft lockup";
    case Kind::HardLockup: return "hard lockup";
    case Kind::HungTask: return "hung task";
    case Kind::RcuStall: return "RCU stall";
    case Kind::GeneralProtection: return "general protection fault";
    case Kind::KernelFault: return "kernel fault";
    }
    return "problem";
}

std::vector<KernelProblem> scan(const std::vector<KernelLogRecord>& records,
                                std::size_t trace_lines)
{
    Scanner scanner{trace_lines};
    for (const auto& record : records) {
        // What user space wrote to /dev/kmsg is not the kernel's word.
        if (record.facility > 0)
            continue;
        // KERN_WARNING or more urgent; an unknown level (-1) counts too.
        bool may_announce = record.level <= 4;
        for_each_line(record.text, [&](std::string_view line) {
            scanner.line(line, record.usec, may_announce);
        });
    }
    return scanner.take();
}

std::vector<KernelProblem> scan(const std::vector<std::string>& lines, std::size_t trace_lines)
{
    Scanner scanner{trace_lines};
    for (const auto& line : lines) {
        std::string_view text = line;
        auto usec = strip_timestamp(text);
        scanner.line(text, usec, true);
    }
    return scanner.take();
}

std::vector<KernelProblem> scan_console(std::string_view text, std::size_t trace_lines)
{
    return scan(parse_console(text), trace_lines);
}

std::string describe(const std::vector<KernelProblem>& problems)
{
    std::string out;
    for (const auto& problem : problems) {
        if (!out.empty())
            out += '\n';
        auto repeated = problem.count > 1
                            ? fmt::format(" (reported {} times; the first is quoted)", problem.count)
                            : std::string{};
        if (problem.usec == no_timestamp)
            out += fmt::format("[{}] {}{}\n", kind_name(problem.kind), problem.headline, repeated);
        else
            out += fmt::format("[{} at {}.{:06}] {}{}\n", kind_name(problem.kind),
                               problem.usec / 1000000, problem.usec % 1000000,
                               problem.headline, repeated);
        for (const auto& line : problem.trace)
            out += fmt::format("    {}\n", line);
    }
    return out;
}

std::string taint_letters(std::uint64_t mask)
{
    std::string letters;
    for (unsigned bit = 0; bit < 64; ++bit) {
        if (!(mask & (std::uint64_t{1} << bit)))
            continue;
        letters += bit < taint_flag_letters.size() ? taint_flag_letters[bit] : '?';
    }
    return letters;
}

std::string new_taints(std::uint64_t before, std::uint64_t after)
{
    return taint_letters(after & ~before);
}

std::string taint_names(std::uint64_t mask)
{
    std::string out;
    for (unsigned bit = 0; bit < 64; ++bit) {
        if (!(mask & (std::uint64_t{1} << bit)))
            continue;
        if (!out.empty())
            out += ", ";
        if (bit < taint_flag_names.size())
            out += fmt::format("[{}]={}", taint_flag_letters[bit], taint_flag_names[bit]);
        else
            out += fmt::format("[?]=bit {}", bit);
    }
    return out;
}

}  // namespace kmsdk
