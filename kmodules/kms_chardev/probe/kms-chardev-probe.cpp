// SPDX-License-Identifier: GPL-2.0
//
// kms-chardev-probe: what the shell's tools cannot ask /dev/kms_chardev,
// its ioctls and poll(2). Built on uapi/kms_chardev.h and libc alone, and
// static, to run in a guest that has no libraries.
//
//   kms-chardev-probe [-r] [-d DEVICE] size            GET_SIZE: the size in bytes
//   kms-chardev-probe [-r] [-d DEVICE] clear           CLEAR
//   kms-chardev-probe [-r] [-d DEVICE] poll EVENTS MS  poll(2) for EVENTS (in, out
//                                                      or in,out) up to MS ms
//
// -r opens the device read-only (default: read-write). poll prints the
// events it got ("in", "out", "in out") or "timeout".
//
// Exit status: 0 done, 1 a system call failed (stderr says which and its
// strerror, as "kms-chardev-probe: <what>: <why>"), 2 a bad command line.
#include "kms_chardev.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

int usage()
{
    std::fputs("usage: kms-chardev-probe [-r] [-d DEVICE] size | clear | poll in|out|in,out MS\n",
               stderr);
    return exit_usage;
}

int failed(const std::string& what)
{
    std::fprintf(stderr, "kms-chardev-probe: %s: %s\n", what.c_str(), std::strerror(errno));
    return exit_failed;
}

int poll_device(int fd, const std::string& events, const char* timeout_text)
{
    short wanted = 0;
    if (events == "in")
        wanted = POLLIN;
    else if (events == "out")
        wanted = POLLOUT;
    else if (events == "in,out")
        wanted = POLLIN | POLLOUT;
    else
        return usage();
    char* end = nullptr;
    long timeout = std::strtol(timeout_text, &end, 10);
    if (*timeout_text == '\0' || *end != '\0' || timeout < 0)
        return usage();

    pollfd entry{.fd = fd, .events = wanted, .revents = 0};
    int ready = ::poll(&entry, 1, static_cast<int>(timeout));
    if (ready < 0)
        return failed("poll");
    if (ready == 0) {
        std::puts("timeout");
        return 0;
    }
    std::string got;
    if (entry.revents & POLLIN)
        got += "in";
    if (entry.revents & POLLOUT)
        got += got.empty() ? "out" : " out";
    // Anything else (POLLERR, POLLHUP) would be a driver's bug here.
    if (entry.revents & ~(POLLIN | POLLOUT))
        got += (got.empty() ? "" : " ") + std::string{"other"};
    std::puts(got.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    std::string device = "/dev/kms_chardev";
    int flags = O_RDWR;
    for (int opt; (opt = ::getopt(argc, argv, "rd:")) != -1;) {
        if (opt == 'r')
            flags = O_RDONLY;
        else if (opt == 'd')
            device = optarg;
        else
            return usage();
    }
    if (optind >= argc)
        return usage();
    std::string command = argv[optind];
    int arguments = argc - optind - 1;

    int fd = ::open(device.c_str(), flags | O_CLOEXEC);
    if (fd < 0)
        return failed("open " + device);

    if (command == "size" && arguments == 0) {
        __u32 size = 0;
        if (::ioctl(fd, KMS_CHARDEV_IOC_GET_SIZE, &size) != 0)
            return failed("size " + device);
        std::printf("%u\n", size);
        return 0;
    }
    if (command == "clear" && arguments == 0) {
        if (::ioctl(fd, KMS_CHARDEV_IOC_CLEAR) != 0)
            return failed("clear " + device);
        return 0;
    }
    if (command == "poll" && arguments == 2)
        return poll_device(fd, argv[optind + 1], argv[optind + 2]);
    return usage();
}
