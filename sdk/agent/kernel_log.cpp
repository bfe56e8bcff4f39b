// SPDX-License-Identifier: GPL-2.0
//
// ReadKernelLog: the kernel's log records from a sequence number on, read
// from /dev/kmsg, which numbers every record (unlike dmesg text, which a
// test could not resume from).
//
// /dev/kmsg cannot seek to a sequence number, so the agent keeps one
// descriptor open and the records it has read, formatted: a request reads
// only what the kernel logged since the last one, not the whole log again
// (hundreds of records after a boot, a read() each, slow under TCG). The
// boot's records are read before Hello, so a snapshot holds them too and a
// restored guest's first request reads none of them again.
#include "requests.hpp"
#include "system.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <deque>

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

// The records read so far, each as the protocol's line
// ("level,seq,usec;text\n"), oldest first. Past `kept_bytes` the oldest go:
// more than the kernel's own ring holds, which would have lost them first.
class KernelLogCache {
public:
    // Reads what the kernel logged since the last call.
    void catch_up()
    {
        if (!kmsg_) {
            kmsg_.reset(::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC));
            if (!kmsg_)
                throw_errno("cannot open /dev/kmsg");
        }
        // One read returns one record; a record is at most 8 KiB of text.
        std::string buffer(std::size_t{16} * 1024, '\0');
        for (;;) {
            ssize_t got = ::read(kmsg_.get(), buffer.data(), buffer.size());
            if (got < 0) {
                // EPIPE: records were overwritten since the last read; the
                // next read goes on from the oldest one left.
                if (errno == EINTR || errno == EPIPE)
                    continue;
                if (errno == EAGAIN)
                    return;
                throw_errno("cannot read /dev/kmsg");
            }
            if (got == 0)
                return;
            auto record = parse_record({buffer.data(), static_cast<std::size_t>(got)});
            if (!record)
                continue;
            std::string line{record->level};
            line += "," + std::to_string(record->seq) + ",";
            line.append(record->usec);
            line += ";";
            line.append(record->text);
            line += "\n";
            bytes_ += line.size();
            lines_.push_back({record->seq, std::move(line)});
            next_ = record->seq + 1;
            while (bytes_ > kept_bytes && !lines_.empty()) {
                bytes_ -= lines_.front().text.size();
                lines_.pop_front();
            }
        }
    }

    // The records from `first` on, and the sequence number after the last.
    std::pair<std::string, std::uint64_t> since(std::uint64_t first) const
    {
        std::string records;
        for (const auto& line : lines_)
            if (line.seq >= first)
                records += line.text;
        return {std::move(records), std::max(first, next_)};
    }

private:
    static constexpr std::size_t kept_bytes = std::size_t{4} << 20;
    struct Line {
        std::uint64_t seq;
        std::string text;
    };
    UniqueFd kmsg_;
    std::deque<Line> lines_;
    std::size_t bytes_ = 0;
    std::uint64_t next_ = 0;
};

KernelLogCache& kernel_log_cache()
{
    static KernelLogCache cache;
    return cache;
}

}  // namespace

void read_boot_log()
{
    kernel_log_cache().catch_up();
}

proto::KernelLog read_kernel_log(const proto::ReadKernelLog& request)
{
    auto& cache = kernel_log_cache();
    cache.catch_up();
    auto [records, next] = cache.since(request.first);
    std::uint64_t taint = parse_u64(read_sysfs_value("/proc/sys/kernel/tainted"));
    return proto::KernelLog{next, taint, std::move(records)};
}

}  // namespace kmsdk::agent
