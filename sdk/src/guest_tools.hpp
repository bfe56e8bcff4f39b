// SPDX-License-Identifier: GPL-2.0
//
// Debian's own module, log, mount and network tools for the guest, taken
// from the host with the shared libraries they need, as mkinitramfs's
// copy_exec does: kmod's insmod, rmmod, lsmod, modinfo, modprobe and depmod,
// util-linux's dmesg, mount and umount, iproute2's ip, and dash as sh.
// They stand where busybox's applets of the same names would, so the guest
// prints what a Debian machine prints (kmod's "insmod: ERROR: could not
// insert module", lsmod's "Module  Size  Used by", `dmesg -C`); busybox
// stays for the rest. busybox applets that run other programs (env, xargs,
// timeout) still prefer busybox's own applets: from those, give a path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kmsdk::detail {

// A tool the guest runs in place of busybox's applet of that name, and the
// Debian package that has it on the host.
struct ToolWanted {
    std::string applet;   // "insmod"
    std::string package;  // "kmod"
};

// The tools kmsdk's guests carry by default.
const std::vector<ToolWanted>& default_guest_tools();

// A host file the guest gets at the same path.
struct HostFile {
    std::filesystem::path guest_path;  // absolute, as the program or loader names it
    std::filesystem::path source;      // the real file behind it, symlinks resolved
    std::uint64_t size = 0;
    std::int64_t modified_ns = 0;  // for the cache key: a package upgrade changes it
};

struct GuestTools {
    // Programs, the shared libraries they link and the dynamic loader,
    // each once.
    std::vector<HostFile> files;
    // Applet name -> the guest path of its program ("insmod" ->
    // "/usr/bin/kmod"): the applet links point there.
    std::vector<std::pair<std::string, std::string>> applets;
};

// The tool's program on the host, symlinks resolved ("/usr/bin/kmod").
// Throws, naming the package to install, when there is none.
std::filesystem::path find_program(const ToolWanted& tool);

// Finds each tool on the host (/usr/sbin, /usr/bin, /sbin, /bin) and the
// libraries it needs (ldd). Throws, naming the package to install, when
// one is missing.
GuestTools find_guest_tools(const std::vector<ToolWanted>& wanted);

// The shared objects ldd lists for a program, as absolute paths, the
// loader included ("linux-vdso.so.1" has none and is left out). A library
// ldd finds nowhere ("=> not found") throws.
std::vector<std::filesystem::path> parse_ldd(const std::string& ldd_output,
                                             const std::filesystem::path& program);

}  // namespace kmsdk::detail
