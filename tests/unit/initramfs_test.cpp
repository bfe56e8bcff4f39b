// SPDX-License-Identifier: GPL-2.0
// The base initramfs of each cached kernel, read back with libarchive as
// the kernel's unpacker would see it: /init is the agent, busybox answers
// for every applet, the channel's modules are there as ELF files in load
// order, and the archive is cached by its inputs.
#include "kmsdk/cpio.hpp"
#include "kmsdk/initramfs.hpp"
#include "kmsdk/kernel.hpp"
#include "kmsdk/module_closure.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <catch2/catch.hpp>

#include "temp_dir.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>

namespace fs = std::filesystem;
using kmsdk::Kernel;
using kmsdk::detail::TempDir;

namespace {

struct CpioEntry {
    unsigned type = 0;
    unsigned mode = 0;
    std::string data;
    std::string symlink;
    unsigned major = 0;
    unsigned minor = 0;
    long long uid = -1;
    long long mtime = -1;
};

struct ReadFree {
    void operator()(archive* reader) const { archive_read_free(reader); }
};

// Every entry, and the order they came in.
struct CpioContents {
    std::map<std::string, CpioEntry> entries;
    std::vector<std::string> order;
};

CpioContents read_cpio(const std::string& bytes)
{
    std::unique_ptr<archive, ReadFree> reader{archive_read_new()};
    archive_read_support_format_cpio(reader.get());
    REQUIRE(archive_read_open_memory(reader.get(), bytes.data(), bytes.size()) == ARCHIVE_OK);
    CpioContents contents;
    archive_entry* header = nullptr;
    while (archive_read_next_header(reader.get(), &header) == ARCHIVE_OK) {
        // newc, the one cpio flavour the kernel unpacks.
        REQUIRE(archive_format(reader.get()) == ARCHIVE_FORMAT_CPIO_SVR4_NOCRC);
        CpioEntry entry;
        entry.type = archive_entry_filetype(header);
        entry.mode = archive_entry_perm(header);
        entry.uid = archive_entry_uid(header);
        entry.mtime = archive_entry_mtime(header);
        if (entry.type == AE_IFLNK)
            entry.symlink = archive_entry_symlink(header);
        if (entry.type == AE_IFCHR) {
            entry.major = archive_entry_rdevmajor(header);
            entry.minor = archive_entry_rdevminor(header);
        }
        char buffer[1 << 16];
        for (la_ssize_t got; (got = archive_read_data(reader.get(), buffer, sizeof buffer)) > 0;)
            entry.data.append(buffer, static_cast<std::size_t>(got));
        std::string path = archive_entry_pathname(header);
        contents.order.push_back(path);
        contents.entries[path] = entry;
    }
    return contents;
}

std::string file_bytes(const fs::path& path)
{
    std::ifstream file{path, std::ios::binary};
    std::ostringstream bytes;
    bytes << file.rdbuf();
    return bytes.str();
}

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    std::istringstream stream{text};
    for (std::string line; std::getline(stream, line);)
        lines.push_back(line);
    return lines;
}

ino_t inode_of(const fs::path& path)
{
    struct stat info {};
    REQUIRE(stat(path.c_str(), &info) == 0);
    return info.st_ino;
}

}  // namespace

TEST_CASE("the base initramfs holds busybox and the agent and the channel modules", "[initramfs]")
{
    TempDir temp{"kmsdk-initramfs-test"};
    auto agent = temp.path() / "kmsdk-agent";
    std::ofstream{agent} << "#!/bin/sh\n# not really the agent\n";
    auto cache = temp.path() / "cache";

    for (const auto& kernel : Kernel::list()) {
        INFO(kernel.release());
        auto release = kernel.release();
        auto path = kmsdk::base_initramfs({.kernel = kernel, .agent = agent}, cache);
        CHECK(path.parent_path() == cache / "initramfs" / release);
        CHECK(path.filename().string().starts_with("base-"));
        CHECK(path.extension() == ".cpio");

        auto contents = read_cpio(file_bytes(path));
        auto& entries = contents.entries;

        // The kernel's unpacker makes no folders: each parent comes first.
        for (std::size_t i = 0; i < contents.order.size(); ++i) {
            auto parent = fs::path{contents.order[i]}.parent_path().string();
            if (parent.empty())
                continue;
            INFO(contents.order[i]);
            auto at = std::find(contents.order.begin(), contents.order.end(), parent);
            REQUIRE(at != contents.order.end());
            CHECK(at - contents.order.begin() < static_cast<std::ptrdiff_t>(i));
            CHECK(entries[parent].type == AE_IFDIR);
        }
        for (const auto& [name, entry] : entries) {
            INFO(name);
            CHECK(entry.uid == 0);
            CHECK(entry.mtime == 0);
        }

        REQUIRE(entries.contains("init"));
        CHECK(entries["init"].data == file_bytes(agent));
        CHECK(entries["init"].mode == 0755);

        CHECK(entries["bin/busybox"].data == file_bytes("/bin/busybox"));
        CHECK(entries["bin/busybox"].mode == 0755);
        for (std::string applet : {"bin/cat", "bin/ls", "bin/grep", "bin/sleep"}) {
            INFO(applet);
            REQUIRE(entries.contains(applet));
            CHECK(entries[applet].type == AE_IFLNK);
            CHECK(entries[applet].symlink == "/bin/busybox");
        }
        // Debian's tools where busybox's applets of their names would be,
        // each program as the host has it.
        const std::map<std::string, std::string> tools = {
            {"bin/sh", "/usr/bin/dash"},        {"sbin/modprobe", "/usr/bin/kmod"},
            {"sbin/insmod", "/usr/bin/kmod"},   {"sbin/rmmod", "/usr/bin/kmod"},
            {"sbin/lsmod", "/usr/bin/kmod"},    {"sbin/depmod", "/usr/bin/kmod"},
            {"sbin/modinfo", "/usr/bin/kmod"},  {"bin/dmesg", "/usr/bin/dmesg"},
            {"bin/mount", "/usr/bin/mount"},    {"bin/umount", "/usr/bin/umount"},
        };
        for (const auto& [applet, program] : tools) {
            INFO(applet);
            REQUIRE(entries.contains(applet));
            CHECK(entries[applet].type == AE_IFLNK);
            CHECK(entries[applet].symlink == program);
            auto& file = entries[program.substr(1)];
            CHECK(file.type == AE_IFREG);
            CHECK(file.data == file_bytes(program));
        }
        // The loader at the path the programs name, a link to the real file.
        const std::string loader = "lib64/ld-linux-x86-64.so.2";
        REQUIRE(entries.contains(loader));
        CHECK(entries[loader].type == AE_IFLNK);
        auto real_loader = fs::canonical("/" + loader);
        CHECK(entries[loader].symlink == real_loader.string());
        CHECK(entries[real_loader.relative_path().string()].data == file_bytes(real_loader));

        CHECK(entries["dev/console"].type == AE_IFCHR);
        CHECK(entries["dev/console"].major == 5);
        CHECK(entries["dev/console"].minor == 1);
        for (std::string dir : {"proc", "sys", "dev", "tmp", "run", "mnt", "etc/modprobe.d",
                                "etc/modules-load.d", "usr/sbin"})
            CHECK(entries[dir].type == AE_IFDIR);
        CHECK(entries["lib/modules/" + release + "/extra"].type == AE_IFDIR);

        auto modules_dir = "lib/modules/" + release + "/";
        for (std::string index : {"modules.builtin", "modules.builtin.modinfo", "modules.order"}) {
            INFO(index);
            REQUIRE(entries.contains(modules_dir + index));
            CHECK(entries[modules_dir + index].data ==
                  file_bytes(kernel.modules_dir() / index));
        }

        // The list names the closure, in load order, each file decompressed.
        auto closure = kmsdk::ModuleClosure{kernel}.resolve({"virtio_pci", "virtio_console"});
        REQUIRE(entries.contains("etc/kmsdk/channel-modules"));
        auto listed = lines_of(entries["etc/kmsdk/channel-modules"].data);
        REQUIRE(listed.size() == closure.size());
        for (std::size_t i = 0; i < closure.size(); ++i) {
            INFO(listed[i]);
            CHECK(listed[i] == "/" + modules_dir + closure[i].relative_path);
            auto& module = entries[listed[i].substr(1)];
            CHECK(module.type == AE_IFREG);
            CHECK(module.data.starts_with("\x7f" "ELF"));
        }
        if (kernel.config_value("CONFIG_VIRTIO_CONSOLE") == "m")
            CHECK_FALSE(listed.empty());
    }
}

TEST_CASE("without Debian's tools, busybox's applets stay in their place", "[initramfs]")
{
    TempDir temp{"kmsdk-initramfs-test"};
    auto agent = temp.path() / "kmsdk-agent";
    std::ofstream{agent} << "#!/bin/sh\n# not really the agent\n";
    auto kernel = Kernel::find("");
    auto path = kmsdk::base_initramfs({.kernel = kernel, .agent = agent, .debian_tools = false},
                                      temp.path() / "cache");
    auto entries = read_cpio(file_bytes(path)).entries;
    for (std::string applet : {"bin/sh", "sbin/insmod", "sbin/modprobe", "bin/dmesg"}) {
        INFO(applet);
        CHECK(entries[applet].symlink == "/bin/busybox");
    }
    CHECK_FALSE(entries.contains("usr/bin/kmod"));
    CHECK_FALSE(entries.contains("lib64/ld-linux-x86-64.so.2"));
}

TEST_CASE("the base initramfs is cached by what goes into it", "[initramfs]")
{
    TempDir temp{"kmsdk-initramfs-test"};
    auto agent = temp.path() / "kmsdk-agent";
    std::ofstream{agent} << "first agent\n";
    auto cache = temp.path() / "cache";
    auto kernel = Kernel::find("");

    auto first = kmsdk::base_initramfs({.kernel = kernel, .agent = agent}, cache);
    auto written = fs::last_write_time(first);
    auto inode = inode_of(first);

    SECTION("the same inputs give the same file, not rewritten")
    {
        auto again = kmsdk::base_initramfs({.kernel = kernel, .agent = agent}, cache);
        CHECK(again == first);
        CHECK(fs::last_write_time(again) == written);
        CHECK(inode_of(again) == inode);
    }
    SECTION("another agent gives another file; the older one stays a day for its own guests")
    {
        std::ofstream{agent} << "second agent\n";
        auto second = kmsdk::base_initramfs({.kernel = kernel, .agent = agent}, cache);
        CHECK(second != first);
        CHECK(fs::exists(second));
        CHECK(fs::exists(first));
        CHECK(read_cpio(file_bytes(second)).entries["init"].data == "second agent\n");

        fs::last_write_time(first, fs::file_time_type::clock::now() - std::chrono::hours(25));
        std::ofstream{agent} << "third agent\n";
        kmsdk::base_initramfs({.kernel = kernel, .agent = agent}, cache);
        CHECK_FALSE(fs::exists(first));
        CHECK(fs::exists(second));
    }
    SECTION("nothing is left behind but the archive and the index that finds it quickly")
    {
        std::vector<std::string> others;
        for (const auto& entry : fs::directory_iterator{first.parent_path()})
            if (entry.path() != first)
                others.push_back(entry.path().filename().string());
        REQUIRE(others.size() == 1);
        CHECK(others[0].starts_with("index-"));
        CHECK(file_bytes(first.parent_path() / others[0]) == first.filename().string() + "\n");
    }
    SECTION("an index naming an archive that is gone is rebuilt from the inputs")
    {
        fs::remove(first);
        auto again = kmsdk::base_initramfs({.kernel = kernel, .agent = agent}, cache);
        CHECK(again == first);
        CHECK(fs::exists(again));
    }
}

TEST_CASE("a missing agent or busybox is a clear error", "[initramfs]")
{
    TempDir temp{"kmsdk-initramfs-test"};
    auto kernel = Kernel::find("");
    CHECK_THROWS_WITH(
        kmsdk::base_initramfs({.kernel = kernel, .agent = temp.path() / "nothing"}, temp.path()),
        Catch::Contains("agent") && Catch::Contains("build it"));

    auto agent = temp.path() / "agent";
    std::ofstream{agent} << "agent\n";
    CHECK_THROWS_WITH(kmsdk::base_initramfs(
                          {.kernel = kernel, .agent = agent, .busybox = temp.path() / "busybox"},
                          temp.path()),
                      Catch::Contains("busybox-static"));
    // A dynamically linked program cannot run in the guest.
    CHECK_THROWS_WITH(
        kmsdk::base_initramfs({.kernel = kernel, .agent = "/bin/ls"}, temp.path()),
        Catch::Contains("dynamically linked"));
}

TEST_CASE("CpioWriter adds parents and refuses duplicates", "[initramfs]")
{
    kmsdk::CpioWriter writer;
    writer.add_file("/etc/kmsdk/a/b.conf", "x=1\n");
    writer.add_symlink("/bin/sh", "/bin/busybox");
    writer.add_directory("/etc/kmsdk");  // already there: fine
    CHECK_THROWS_WITH(writer.add_file("etc/kmsdk/a/b.conf", ""), Catch::Contains("already"));
    CHECK_THROWS(writer.add_file("../escape", ""));
    auto contents = read_cpio(writer.finish());
    CHECK(contents.order ==
          std::vector<std::string>{"etc", "etc/kmsdk", "etc/kmsdk/a", "etc/kmsdk/a/b.conf", "bin",
                                   "bin/sh"});
    CHECK(contents.entries["etc/kmsdk/a/b.conf"].data == "x=1\n");
    CHECK(contents.entries["etc/kmsdk/a/b.conf"].mode == 0644);
}

TEST_CASE("write_file_once leaves a file that is there as it is, and no temporary", "[initramfs]")
{
    TempDir temp{"kmsdk-initramfs-test"};
    auto path = temp.path() / "base-0123.cpio";
    kmsdk::write_file_once(path, "first");
    auto inode = inode_of(path);
    auto written = fs::last_write_time(path);
    // A second writer that lost the race: content-addressed, so the same
    // bytes; the file a reader noted stays.
    kmsdk::write_file_once(path, "first");
    CHECK(inode_of(path) == inode);
    CHECK(fs::last_write_time(path) == written);
    CHECK(file_bytes(path) == "first");
    CHECK(std::distance(fs::directory_iterator{temp.path()}, fs::directory_iterator{}) == 1);
}
