// SPDX-License-Identifier: GPL-2.0
//
// ReadKernelLog: the kernel's log records from a sequence number on, read
// from /dev/kmsg, which numbers every record (unlike dmesg text, which a
// test could not resume from).
#include "requests.hpp"
#include "system.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace kmsdk::agent {
namespace {

std::uint64_t parse_u64(std::string_view text)
{
    std::uint64_t value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

struct Record {
    std::string_view level;  // facility * 8 + level, as /dev/kmsg gives it
    std::uint64_t seq = 0;
    std::string_view usec;
    std::string_view text;  // the message line, without continuation lines
};

// "level,seq,usec,flags[,more];text\n[ KEY=value\n]..." → Record.
std::optional<Record> parse_record(std::string_view raw)
{
    auto semicolon = raw.find(';');
    if (semicolon == std::string_view::npos)
        return std::nullopt;
    std::string_view header = raw.substr(0, semicolon);
    std::string_view fields[3];
    for (auto& field : fields) {
        auto comma = header.find(',');
        field = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    }
    std::string_view text = raw.substr(semicolon + 1);
    text = text.substr(0, text.find('\n'));
    return Record{fields[0], parse_u64(fields[1]), fields[2], text};
}

}  // namespace

proto::KernelLog read_kernel_log(const proto::ReadKernelLog& request)
{
    const std::uint64_t first = request.first;

    UniqueFd kmsg{::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
    if (!kmsg)
        throw_errno("cannot open /dev/kmsg");

    std::string records;
    std::uint64_t next = first;
    // One read returns one record; a record is at most 8 KiB of text.
    std::string buffer(std::size_t{16} * 1024, '\0');
    for (;;) {
        ssize_t got = ::read(kmsg.get(), buffer.data(), buffer.size());
        if (got < 0) {
            // EPIPE: records were overwritten since the last read; the
            // next read goes on from the oldest one left.
            if (errno == EINTR || errno == EPIPE)
                continue;
            if (errno == EAGAIN)
                break;
            throw_errno("cannot read /dev/kmsg");
        }
        if (got == 0)
            break;
        auto record = parse_record({buffer.data(), static_cast<std::size_t>(got)});
        if (!record || record->seq < first)
            continue;
        records.append(record->level);
        records += "," + std::to_string(record->seq) + ",";
        records.append(record->usec);
        records += ";";
        records.append(record->text);
        records += "\n";
        next = record->seq + 1;
    }

    std::uint64_t taint = parse_u64(read_sysfs_value("/proc/sys/kernel/tainted"));
    return proto::KernelLog{next, taint, std::move(records)};
}

}  // namespace kmsdk::agent
