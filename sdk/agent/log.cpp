// SPDX-License-Identifier: GPL-2.0
#include "log.hpp"

#include "fd.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <string>

namespace kmsdk::agent {
namespace {

UniqueFd& kernel_log_writer()
{
    static UniqueFd writer;
    return writer;
}

// A write to /dev/kmsg is one record; "<N>" sets facility * 8 + level.
void write_record(int syslog_priority, std::string_view message)
{
    const bool to_kmsg = static_cast<bool>(kernel_log_writer());
    std::string record = to_kmsg ? "<" + std::to_string(syslog_priority) + ">" : "";
    record += "kmsdk-agent: ";
    record.append(message);
    record.push_back('\n');
    int fd = to_kmsg ? kernel_log_writer().get() : STDERR_FILENO;
    // Nothing is left to tell if this fails: the message is lost.
    [[maybe_unused]] ssize_t ignored = ::write(fd, record.data(), record.size());
}

constexpr int user_facility = 1 << 3;
constexpr int level_err = 3;
constexpr int level_info = 6;

}  // namespace

void open_kernel_log_writer()
{
    kernel_log_writer().reset(::open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY));
}

void log_problem(std::string_view message)
{
    write_record(user_facility | level_err, message);
}

void log_note(std::string_view message)
{
    write_record(user_facility | level_info, message);
}

void say_on_console(std::string_view line)
{
    std::string text{line};
    text.push_back('\n');
    [[maybe_unused]] ssize_t ignored = ::write(STDOUT_FILENO, text.data(), text.size());
    // Out of the UART before anything else happens: a snapshot saved just
    // after must not hold half a line that its restored guests then finish
    // printing, at the start of their console logs.
    ::tcdrain(STDOUT_FILENO);
}

}  // namespace kmsdk::agent
