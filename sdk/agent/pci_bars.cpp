// SPDX-License-Identifier: GPL-2.0
#include "pci_bars.hpp"

#include "system.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace kmsdk::agent {
namespace {

constexpr unsigned bar_count = 6;
constexpr unsigned first_bar_offset = 0x10;
constexpr unsigned header_type_offset = 0x0e;
// include/linux/ioport.h, as /sys/bus/pci/devices/*/resource shows them.
constexpr std::uint64_t resource_io = 0x100;
constexpr std::uint64_t resource_mem = 0x200;
constexpr std::uint64_t resource_mem_64 = 0x00100000;

struct Resource {
    std::uint64_t start = 0, end = 0, flags = 0;
};

// The kernel's view of the device's resources: one "start end flags" line
// each, the BARs first.
std::vector<Resource> kernel_resources(const std::string& device)
{
    std::vector<Resource> resources;
    auto text = read_whole_file(device + "/resource").value_or("");
    // Neither iostreams nor sscanf: they would add hundreds of kilobytes
    // to the static agent, which the kernel unpacks at every boot.
    for (std::size_t at = 0; at < text.size();) {
        auto end = text.find('\n', at);
        if (end == std::string::npos)
            end = text.size();
        auto line = text.substr(at, end - at);
        at = end + 1;
        // "0x0000000010000000 0x00000000100fffff 0x0000000000040200"
        const char* field = line.c_str();
        char* after = nullptr;
        Resource r;
        r.start = std::strtoull(field, &after, 16);
        r.end = std::strtoull(after, &after, 16);
        r.flags = std::strtoull(after, &after, 16);
        if (after != field)
            resources.push_back(r);
    }
    return resources;
}

std::uint32_t le32(const std::string& config, unsigned offset)
{
    std::uint32_t value = 0;
    std::memcpy(&value, config.data() + offset, sizeof value);  // x86: little-endian
    return value;
}

// What register `index` should hold for the address the kernel assigned,
// keeping the read-only type bits the device reports.
std::vector<std::pair<unsigned, std::uint32_t>> expected_registers(
    const std::vector<Resource>& resources, const std::string& config)
{
    std::vector<std::pair<unsigned, std::uint32_t>> wanted;
    for (unsigned bar = 0; bar < bar_count && bar < resources.size(); ++bar) {
        const auto& r = resources[bar];
        unsigned offset = first_bar_offset + 4 * bar;
        if (r.start == 0 || !(r.flags & (resource_io | resource_mem)))
            continue;
        auto current = le32(config, offset);
        if (r.flags & resource_io) {
            wanted.emplace_back(offset, static_cast<std::uint32_t>(r.start & ~0x3u) | (current & 0x3u));
            continue;
        }
        wanted.emplace_back(offset, static_cast<std::uint32_t>(r.start & ~0xfu) | (current & 0xfu));
        if ((r.flags & resource_mem_64) && bar + 1 < bar_count) {
            wanted.emplace_back(offset + 4, static_cast<std::uint32_t>(r.start >> 32));
            ++bar;  // the upper half of this one
        }
    }
    return wanted;
}

// The standard header: the first 64 bytes of configuration space.
std::string config_header(const std::string& device)
{
    std::string header(64, '\0');
    UniqueFd fd{::open((device + "/config").c_str(), O_RDONLY | O_CLOEXEC)};
    if (!fd || ::pread(fd.get(), header.data(), header.size(), 0) != static_cast<ssize_t>(header.size()))
        return {};
    return header;
}

}  // namespace

std::string restore_pci_bars()
{
    std::string log;
    const std::string root = "/sys/bus/pci/devices/";
    for (const auto& name : list_directory(root)) {
        auto device = root + name;
        auto config = config_header(device);
        // Bridges (header type 1) keep windows rather than six BARs, and
        // QEMU's bridges migrate their state anyway.
        if (config.size() < 64 || (static_cast<unsigned char>(config[header_type_offset]) & 0x7f) != 0)
            continue;
        for (auto [offset, value] : expected_registers(kernel_resources(device), config)) {
            if (le32(config, offset) == value)
                continue;
            UniqueFd fd{::open((device + "/config").c_str(), O_WRONLY | O_CLOEXEC)};
            bool written = fd && ::pwrite(fd.get(), &value, sizeof value, offset) == sizeof value;
            char line[160];
            std::snprintf(line, sizeof line, "%s: BAR register %#x %s %#010x (it read %#010x)\n",
                          name.c_str(), offset, written ? "set to" : "could not be set to", value,
                          le32(config, offset));
            log += line;
        }
    }
    return log;
}

}  // namespace kmsdk::agent
