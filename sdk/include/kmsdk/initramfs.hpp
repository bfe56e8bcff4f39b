// SPDX-License-Identifier: GPL-2.0
//
// The base initramfs of a kernel: what every guest on it boots with, built
// once and cached. An uncompressed newc cpio holding busybox and its applet
// links, Debian's own kmod (insmod, rmmod, lsmod, modinfo, modprobe,
// depmod), dmesg, mount, umount and ip from the host with their shared
// libraries, the agent as /init, and the kernel's own modules the agent
// loads for its channel (virtio_pci, virtio_console and their closure,
// where the kernel has them as modules). Modules under test are not in it: they
// travel over the channel, so one booted guest serves every module set.
#pragma once

#include "kmsdk/cache.hpp"
#include "kmsdk/kernel.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace kmsdk {

// One absolute guest path per line, in load order: the modules the agent
// loads before it opens its virtio-serial port. Empty when the kernel has
// them built in (6.12).
inline constexpr std::string_view guest_channel_modules_list = "/etc/kmsdk/channel-modules";

struct InitramfsInputs {
    Kernel kernel;
    std::filesystem::path agent;  // a static executable: it runs as /init
    std::filesystem::path busybox = "/bin/busybox";  // static: busybox-static
    // The host's kmod, util-linux and iproute2 tools in place of busybox's
    // applets of their names; false leaves busybox's.
    bool debian_tools = true;
    // Names or aliases among the kernel's modules; their closure goes in.
    std::vector<std::string> channel_modules = {"virtio_pci", "virtio_console"};
};

// The cached archive, <cache>/initramfs/<release>/base-<key>.cpio, built
// when missing. The key is a hash of everything that goes in (the agent,
// busybox, the host tools' paths, sizes and times, each module's bytes, the kernel's module indexes, the layout's
// version), so a rebuilt agent gives a new file and older ones of the same
// release are removed. Concurrent callers each build into a temporary file
// and rename it: all succeed and nobody reads half an archive.
std::filesystem::path base_initramfs(const InitramfsInputs& inputs,
                                     const std::filesystem::path& cache = cache_dir());

}  // namespace kmsdk
