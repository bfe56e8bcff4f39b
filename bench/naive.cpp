// SPDX-License-Identifier: GPL-2.0
#include "naive.hpp"

#include "process.hpp"

#include "kmsdk/cache.hpp"
#include "kmsdk/cpio.hpp"

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <regex>
#include <stdexcept>
#include <utility>

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <zlib.h>

namespace kmsdk::bench {
namespace fs = std::filesystem;
namespace {

// The tty turns "\n" into "\r\n" on the way out: markers leave it off.
constexpr std::string_view ready_marker = "kmsdk-bench: init";
constexpr std::string_view done_marker = "kmsdk-bench: done ";
// Generous: the recipe takes about 5 s on an idle machine.
constexpr auto naive_deadline = std::chrono::seconds(90);

// The applets the scripts use, linked as `busybox --install -s` would.
constexpr std::array<std::string_view, 6> applets = {"bin/sh",      "bin/echo",     "bin/true",
                                                     "sbin/insmod", "sbin/rmmod", "sbin/poweroff"};

std::string gzip(std::string_view bytes)
{
    z_stream stream{};
    // 15 + 16: a gzip header and trailer, as gzip(1) writes; level 6 is its default.
    if (deflateInit2(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("zlib: deflateInit2 failed");
    std::string out(deflateBound(&stream, bytes.size()), '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    stream.avail_in = static_cast<uInt>(bytes.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    int result = deflate(&stream, Z_FINISH);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    if (result != Z_STREAM_END)
        throw std::runtime_error("zlib: deflate did not finish");
    return out;
}

std::string init_script(std::string_view work)
{
    return fmt::format("#!/bin/sh\n"
                       "echo kmsdk-bench: init\n"
                       "{}\n"
                       "echo \"kmsdk-bench: done $?\"\n"
                       "poweroff -f\n",
                       work);
}

fs::path write_initramfs(const fs::path& path, std::string_view script,
                         const fs::path& hello_ko)
{
    CpioWriter cpio;
    for (auto dir : {"bin", "sbin", "dev", "proc", "sys", "tmp"})
        cpio.add_directory(dir);
    cpio.add_char_device("dev/console", 5, 1, 0600);
    cpio.add_file("bin/busybox", read_file("/bin/busybox"), 0755);
    for (auto applet : applets)
        cpio.add_symlink(applet, "/bin/busybox");
    cpio.add_file("kms_hello.ko", read_file(hello_ko), 0644);
    cpio.add_file("init", script, 0755);
    write_file_atomically(path, gzip(cpio.finish()));
    return path;
}

std::string last_lines(const std::string& text, std::size_t count)
{
    std::size_t pos = text.size();
    while (count-- > 0 && pos > 0) {
        auto found = text.rfind('\n', pos - 1);
        pos = found == std::string::npos ? 0 : found;
    }
    return text.substr(pos);
}

// The distribution's bzImage: /boot/vmlinuz-<release> up to 6.x, and in the
// modules' folder from 7.x, where Debian's linux-binary package keeps it.
fs::path distribution_bzimage(const Kernel& kernel)
{
    auto in_boot = kernel.dir() / "root/boot" / ("vmlinuz-" + kernel.release());
    auto beside_modules = kernel.modules_dir() / "vmlinuz";
    return fs::exists(in_boot) || !fs::exists(beside_modules) ? in_boot : beside_modules;
}

}  // namespace

NaiveRecipe::NaiveRecipe(const Kernel& kernel, fs::path workdir, const fs::path& hello_ko,
                         std::string accel)
    : bzimage_{distribution_bzimage(kernel)},
      workdir_{std::move(workdir)},
      accel_{std::move(accel)}
{
    if (!fs::exists(bzimage_))
        throw std::runtime_error(fmt::format("{} is missing: the naive recipe boots the "
                                             "distribution's bzImage; fetch the kernel again "
                                             "(scripts/kernels.sh fetch {})",
                                             bzimage_.string(), kernel.release()));
    initrd_true_ = write_initramfs(workdir_ / "naive-true.cpio.gz", init_script("true"), hello_ko);
    initrd_insmod_ = write_initramfs(workdir_ / "naive-insmod.cpio.gz",
                                     init_script("insmod /kms_hello.ko && rmmod kms_hello"),
                                     hello_ko);
}

std::vector<std::string> NaiveRecipe::command(const fs::path& initrd) const
{
    return {"qemu-system-x86_64",
            "-machine", fmt::format("pc,accel={}", accel_),
            "-m", "256",
            "-nodefaults", "-no-reboot", "-display", "none",
            "-serial", fmt::format("file:{}", (workdir_ / "naive-console.log").string()),
            "-kernel", bzimage_.string(),
            "-initrd", initrd.string(),
            "-append", "console=ttyS0 quiet panic=-1"};
}

std::vector<std::string> NaiveRecipe::command_true() const
{
    return command(initrd_true_);
}

NaiveRun NaiveRecipe::boot_true()
{
    return boot(initrd_true_);
}

NaiveRun NaiveRecipe::boot_insmod_rmmod()
{
    return boot(initrd_insmod_);
}

NaiveRun NaiveRecipe::boot(const fs::path& initrd)
{
    auto console = workdir_ / "naive-console.log";
    write_file_atomically(console, "");
    // Woken by each write QEMU makes to the console file, to time /init's
    // first line without polling.
    int watch_fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (watch_fd < 0)
        throw std::runtime_error(fmt::format("inotify_init1: {}", std::strerror(errno)));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{watch_fd};
    if (::inotify_add_watch(watch_fd, console.c_str(), IN_MODIFY) < 0)
        throw std::runtime_error(fmt::format("inotify_add_watch {}: {}", console.string(),
                                             std::strerror(errno)));

    NaiveRun run;
    auto started = Clock::now();
    auto deadline = started + naive_deadline;
    auto qemu = start(command(initrd), workdir_ / "naive-qemu.log");
    bool ready = false;
    while (!qemu.poll() && Clock::now() < deadline) {
        pollfd fds[2] = {{qemu.pidfd(), POLLIN, 0}, {watch_fd, POLLIN, 0}};
        ::poll(fds, ready ? 1 : 2, 1000);
        if (fds[1].revents & POLLIN) {
            char events[4096];
            while (::read(watch_fd, events, sizeof events) > 0) {
            }
            if (!ready && read_file(console).find(ready_marker) != std::string::npos) {
                ready = true;
                run.ready_ms = ms_since(started);
            }
        }
    }
    auto status = qemu.poll();
    run.total_ms = ms_since(started);
    qemu.kill();

    auto text = read_file(console);
    if (!ready && text.find(ready_marker) != std::string::npos)
        run.ready_ms = run.total_ms;  // seen only at exit: the watch missed it
    auto done = text.find(done_marker);
    static const std::regex power_down{R"(\[ *([0-9]+\.[0-9]+)\] reboot: Power down)"};
    if (std::smatch match; std::regex_search(text, match, power_down))
        run.kernel_ms = std::stod(match[1]) * 1000;
    if (!status)
        run.failure = fmt::format("no poweroff within {} s; console tail:\n{}",
                                  naive_deadline.count(), last_lines(text, 5));
    else if (*status != 0)
        run.failure = fmt::format("QEMU {}; console tail:\n{}", describe_wait_status(*status),
                                  last_lines(text, 5));
    else if (done == std::string::npos)
        run.failure = fmt::format("/init never finished its work; console tail:\n{}",
                                  last_lines(text, 5));
    else if (text.compare(done + done_marker.size(), 2, "0\r") != 0 &&
             text.compare(done + done_marker.size(), 2, "0\n") != 0)
        run.failure = fmt::format("the work failed in the guest; console tail:\n{}",
                                  last_lines(text, 5));
    else
        run.ok = true;
    return run;
}

}  // namespace kmsdk::bench
