// SPDX-License-Identifier: GPL-2.0
#include "kmsdk/guest.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace kmsdk {

GuestOptions& GuestOptions::kernel(std::string release_or_series)
{
    kernel_ = std::move(release_or_series);
    return *this;
}

GuestOptions& GuestOptions::module(std::filesystem::path ko)
{
    modules_.push_back(std::move(ko));
    return *this;
}

GuestOptions& GuestOptions::modules(const std::vector<std::filesystem::path>& kos)
{
    modules_.insert(modules_.end(), kos.begin(), kos.end());
    return *this;
}

GuestOptions& GuestOptions::kernel_module(std::string name)
{
    kernel_modules_.push_back(std::move(name));
    return *this;
}

GuestOptions& GuestOptions::device(std::string qemu_device)
{
    devices_.push_back(std::move(qemu_device));
    return *this;
}

GuestOptions& GuestOptions::program(std::filesystem::path host_path, std::string guest_path)
{
    if (guest_path.empty())
        guest_path = "/usr/bin/" + host_path.filename().string();
    programs_.push_back({std::move(host_path), std::move(guest_path)});
    return *this;
}

GuestOptions& GuestOptions::output_cap(std::size_t bytes)
{
    output_cap_ = bytes;
    return *this;
}

GuestOptions& GuestOptions::signals(int fd, std::chrono::milliseconds grace)
{
    signal_fd_ = fd;
    signal_grace_ = grace;
    return *this;
}

GuestOptions& GuestOptions::memory_mb(unsigned mb)
{
    memory_mb_ = mb;
    return *this;
}

GuestOptions& GuestOptions::cpus(unsigned count)
{
    if (count < 1 || count > max_guest_cpus)
        throw std::invalid_argument(fmt::format(
            "a guest has 1 to {} CPUs, not {}: pass a count in that range", max_guest_cpus, count));
    cpus_ = count;
    return *this;
}

GuestOptions& GuestOptions::file(std::string guest_path, std::string contents, unsigned mode)
{
    files_.push_back({std::move(guest_path), std::move(contents), mode});
    return *this;
}

GuestOptions& GuestOptions::modprobe_conf(const std::string& name, std::string contents)
{
    return file("/etc/modprobe.d/" + name + ".conf", std::move(contents));
}

GuestOptions& GuestOptions::modules_load(std::string module_name)
{
    modules_load_.push_back(std::move(module_name));
    return *this;
}

GuestOptions& GuestOptions::kernel_cmdline(const std::string& extra)
{
    if (!cmdline_.empty())
        cmdline_ += ' ';
    cmdline_ += extra;
    return *this;
}

GuestOptions& GuestOptions::boot_timeout(std::chrono::milliseconds timeout)
{
    boot_timeout_ = timeout;
    return *this;
}

GuestOptions& GuestOptions::command_timeout(std::chrono::milliseconds timeout)
{
    command_timeout_ = timeout;
    return *this;
}

GuestOptions& GuestOptions::boot_attempts(unsigned attempts)
{
    boot_attempts_ = attempts == 0 ? 1 : attempts;
    return *this;
}

GuestOptions& GuestOptions::accel(std::string accel)
{
    accel_ = std::move(accel);
    return *this;
}

GuestOptions& GuestOptions::console_log(std::filesystem::path path)
{
    console_log_ = std::move(path);
    return *this;
}

GuestOptions& GuestOptions::cold(bool cold)
{
    cold_ = cold;
    return *this;
}

GuestOptions& GuestOptions::debug_memory(bool on)
{
    debug_memory_ = on;
    return *this;
}

GuestOptions& GuestOptions::gdb_stub(bool on)
{
    gdb_stub_ = on;
    return *this;
}

GuestOptions& GuestOptions::on_notice(std::function<void(const std::string&)> notice)
{
    on_notice_ = std::move(notice);
    return *this;
}

}  // namespace kmsdk
