// SPDX-License-Identifier: GPL-2.0
//
// write and read: stdin into the device's buffer, the buffer to stdout,
// each in exactly one pwrite or pread of the size asked for.
#include "commands.hpp"
#include "edu_device.hpp"
#include "failure.hpp"

#include <unistd.h>

#include <cerrno>
#include <new>
#include <vector>

namespace kms_edu_ctl {
namespace {

std::vector<std::byte> read_all_stdin()
{
    std::vector<std::byte> data;
    std::byte buffer[4096];
    for (;;) {
        auto got = ::read(STDIN_FILENO, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            throw syscall_failure("read stdin");
        if (got == 0)
            return data;
        data.insert(data.end(), buffer, buffer + got);
    }
}

void write_all_stdout(std::span<const std::byte> data)
{
    while (!data.empty()) {
        auto written = ::write(STDOUT_FILENO, data.data(), data.size());
        if (written < 0 && errno == EINTR)
            continue;
        if (written < 0)
            throw syscall_failure("write stdout");
        data = data.subspan(static_cast<std::size_t>(written));
    }
}

std::string short_transfer(const char* call, std::size_t done, std::size_t asked, off_t offset)
{
    return std::string{call} + " at offset " + std::to_string(offset) + " moved " +
           std::to_string(done) + " of " + std::to_string(asked) +
           " bytes: the driver should move all or fail";
}

}  // namespace

int write_from_stdin(const std::string& device, off_t offset)
{
    // Opened first: a missing device fails before stdin is waited for.
    EduDevice edu{device};
    auto data = read_all_stdin();
    // Even an empty stdin goes to the driver: a zero-length write is one
    // of the requests it must refuse.
    auto written = edu.write_at(data, offset);
    if (written != data.size())
        throw Failure{short_transfer("pwrite", written, data.size(), offset)};
    return 0;
}

int read_to_stdout(const std::string& device, off_t offset, std::size_t length)
{
    EduDevice edu{device};
    std::vector<std::byte> buffer;
    try {
        buffer.resize(length);
    } catch (const std::bad_alloc&) {
        throw Failure{"cannot allocate " + std::to_string(length) + " bytes to read into"};
    } catch (const std::length_error&) {
        throw Failure{"cannot allocate " + std::to_string(length) + " bytes to read into"};
    }
    auto got = edu.read_at(buffer, offset);
    write_all_stdout(std::span{buffer}.first(got));
    if (got != length)
        throw Failure{short_transfer("pread", got, length, offset)};
    return 0;
}

}  // namespace kms_edu_ctl
