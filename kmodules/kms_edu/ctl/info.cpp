// SPDX-License-Identifier: GPL-2.0
//
// info: the driver's sysfs attributes for the device behind a node. The
// node's major:minor leads to /sys/dev/char/M:m, whose `device` link is the
// misc device's parent: the PCI device, where kms_edu puts its attributes.
// So `info` finds the right PCI device even when there are several.
#include "commands.hpp"
#include "failure.hpp"
#include "unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace kms_edu_ctl {
namespace {

const char* const attributes[] = {"id", "irq_mode", "irq_count", "dma_count"};

std::string pci_folder_of(const std::string& device)
{
    struct stat node {};
    if (::stat(device.c_str(), &node) != 0)
        throw syscall_failure("stat " + device);
    if (!S_ISCHR(node.st_mode))
        throw Failure{device + " is not a character device: give the kms_edu node with --device"};
    auto link = "/sys/dev/char/" + std::to_string(major(node.st_rdev)) + ":" +
                std::to_string(minor(node.st_rdev)) + "/device";
    char resolved[PATH_MAX];
    if (!::realpath(link.c_str(), resolved))
        throw syscall_failure("find the device of " + device + " (" + link + ")");
    return resolved;
}

// An attribute's value without its newline.
std::string read_attribute(const std::string& path)
{
    UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (!fd)
        throw syscall_failure("open " + path);
    std::string text;
    char buffer[256];
    for (;;) {
        auto got = ::read(fd.get(), buffer, sizeof buffer);
        if (got < 0)
            throw syscall_failure("read " + path);
        if (got == 0)
            break;
        text.append(buffer, static_cast<std::size_t>(got));
    }
    if (text.ends_with('\n'))
        text.pop_back();
    return text;
}

}  // namespace

int info(const std::string& device)
{
    auto folder = pci_folder_of(device);
    // Read all before printing any, so a failure prints no half report.
    std::string report = "device: " + device + "\n";
    report += "pci: " + folder.substr(folder.rfind('/') + 1) + "\n";
    for (std::string name : attributes)
        report += name + ": " + read_attribute(folder + "/" + name) + "\n";
    std::fputs(report.c_str(), stdout);
    return 0;
}

}  // namespace kms_edu_ctl
