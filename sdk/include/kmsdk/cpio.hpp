// SPDX-License-Identifier: GPL-2.0
//
// An uncompressed newc cpio archive, the format the kernel unpacks as an
// initramfs, written in memory with libarchive. Entries are owned by root
// with mtime 0, so equal inputs give byte-identical archives.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>

struct archive;

namespace kmsdk {

class CpioWriter {
public:
    CpioWriter();
    // libarchive writes through a pointer to this object: it stays put.
    CpioWriter(const CpioWriter&) = delete;
    CpioWriter& operator=(const CpioWriter&) = delete;
    ~CpioWriter();

    // Paths are inside the archive, with or without a leading '/'. The
    // kernel's unpacker makes no parent folders, so missing parents are
    // added first (0755). Adding a path twice is an error, except a folder.
    void add_directory(std::string_view path, std::uint32_t mode = 0755);
    void add_file(std::string_view path, std::string_view bytes, std::uint32_t mode = 0644);
    void add_symlink(std::string_view path, std::string_view target);
    void add_char_device(std::string_view path, unsigned major, unsigned minor,
                         std::uint32_t mode = 0600);

    // Ends the archive (the TRAILER!!! entry) and returns its bytes. The
    // writer takes nothing more after it.
    std::string finish();

private:
    struct ArchiveFree {
        void operator()(archive* writer) const;
    };
    struct Entry;

    std::string claim(std::string_view path);
    void add_parents(const std::string& path);
    void write(const Entry& entry, std::string_view bytes = {});

    std::unique_ptr<archive, ArchiveFree> writer_;
    std::string output_;
    std::set<std::string> directories_;
    std::set<std::string> others_;
    std::uint64_t next_inode_ = 1;
    bool finished_ = false;
};

}  // namespace kmsdk
