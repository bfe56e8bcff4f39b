// SPDX-License-Identifier: GPL-2.0
#include "stream_transfer.hpp"

#include "process.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace kmsdk::bench {
namespace {

double ms(std::chrono::nanoseconds duration)
{
    return std::chrono::duration<double, std::milli>(duration).count();
}

double mb_per_s(std::size_t bytes, double elapsed_ms)
{
    return elapsed_ms > 0 ? static_cast<double>(bytes) / 1e6 / (elapsed_ms / 1000) : 0;
}

std::string clipped(const std::string& text)
{
    return text.size() <= 400 ? text : text.substr(0, 400) + "…";
}

// What dd_sink() prints on stderr once it has read `bytes`.
std::string records_in(std::size_t bytes)
{
    return fmt::format("{}+{} records in", bytes / dd_block, bytes % dd_block ? 1 : 0);
}

}  // namespace

double Transfer::host_mb_s() const
{
    return mb_per_s(bytes, host_ms);
}

double Transfer::guest_mb_s() const
{
    return mb_per_s(bytes, guest_ms);
}

std::chrono::milliseconds transfer_timeout(std::size_t bytes)
{
    // 0.5 MB/s at the very least, far below every goal; a minute at least.
    return std::max(std::chrono::milliseconds(60'000),
                    std::chrono::milliseconds(static_cast<long long>(bytes / 500)));
}

std::string dd_zeros(std::size_t bytes)
{
    if (bytes % dd_block)
        throw std::invalid_argument(fmt::format("{} bytes is not a whole number of {} byte blocks",
                                                bytes, dd_block));
    return fmt::format("dd if=/dev/zero bs={} count={} 2>/dev/null", dd_block, bytes / dd_block);
}

std::string dd_sink()
{
    return fmt::format("dd of=/dev/null bs={} iflag=fullblock", dd_block);
}

Transfer stream_out(Guest& guest, const std::string& line, std::size_t bytes)
{
    std::size_t received = 0;
    std::string err;
    Streams streams;
    // Counting only: anything more and the host's sink would be measured.
    streams.out = [&received](std::string_view piece) { received += piece.size(); };
    streams.err = [&err](std::string_view piece) { err.append(piece); };
    auto command = Command::shell(line);
    auto started = Clock::now();
    auto result = guest.run(command, streams, transfer_timeout(bytes));
    Transfer transfer{bytes, ms_since(started), ms(result.elapsed)};
    if (!result.ok() || received != bytes)
        throw std::runtime_error(fmt::format("streamed `{}` exited {} with {} bytes of {} received; "
                                             "stderr: {}",
                                             line, result.status, received, bytes, clipped(err)));
    return transfer;
}

Transfer stream_into_dd(Guest& guest, InputSource input, std::size_t bytes)
{
    std::string out, err;
    Streams streams;
    streams.out = [&out](std::string_view piece) { out.append(piece); };
    streams.err = [&err](std::string_view piece) { err.append(piece); };
    streams.in = std::move(input);
    auto line = dd_sink();
    auto started = Clock::now();
    auto result = guest.run(Command::shell(line), streams, transfer_timeout(bytes));
    Transfer transfer{bytes, ms_since(started), ms(result.elapsed)};
    if (!result.ok() || err.find(records_in(bytes)) == std::string::npos)
        throw std::runtime_error(fmt::format("streamed `{}` of {} bytes exited {}; expected \"{}\" "
                                             "on its stderr: {}",
                                             line, bytes, result.status, records_in(bytes),
                                             clipped(err)));
    return transfer;
}

Transfer in_guest_only(Guest& guest, const std::string& line, std::size_t bytes,
                       bool ends_in_dd_sink)
{
    auto started = Clock::now();
    auto result = guest.run(Command::shell(line), transfer_timeout(bytes));
    Transfer transfer{bytes, ms_since(started), ms(result.elapsed)};
    if (!result.ok() ||
        (ends_in_dd_sink && result.err.find(records_in(bytes)) == std::string::npos))
        throw std::runtime_error(fmt::format("`{}` exited {}; stderr: {}", line, result.status,
                                             clipped(result.err)));
    return transfer;
}

}  // namespace kmsdk::bench
