// SPDX-License-Identifier: GPL-2.0
#include "kmsdk/cpio.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <stdexcept>

#include <sys/stat.h>

namespace kmsdk {
namespace {

struct EntryFree {
    void operator()(archive_entry* entry) const { archive_entry_free(entry); }
};

la_ssize_t append_to_string(archive*, void* output, const void* buffer, size_t length)
{
    static_cast<std::string*>(output)->append(static_cast<const char*>(buffer), length);
    return static_cast<la_ssize_t>(length);
}

// "bin/sh" for "/bin/sh"; refuses what the kernel's unpacker would
// misplace or that could only be a mistake.
std::string archive_path(std::string_view path)
{
    while (path.starts_with('/'))
        path.remove_prefix(1);
    while (path.ends_with('/'))
        path.remove_suffix(1);
    bool bad = path.empty();
    for (std::size_t start = 0; !bad && start <= path.size();) {
        auto end = std::min(path.find('/', start), path.size());
        auto part = path.substr(start, end - start);
        bad = part.empty() || part == "." || part == "..";
        start = end + 1;
    }
    if (bad)
        throw std::invalid_argument(fmt::format(
            "'{}' is not a usable path inside a cpio archive: give one like /bin/sh, without "
            "empty, '.' or '..' parts",
            path));
    return std::string{path};
}

}  // namespace

struct CpioWriter::Entry {
    std::string path;
    unsigned type = AE_IFREG;
    std::uint32_t mode = 0644;
    std::string symlink{};
    unsigned major = 0;
    unsigned minor = 0;
};

void CpioWriter::ArchiveFree::operator()(archive* writer) const
{
    archive_write_free(writer);
}

CpioWriter::CpioWriter() : writer_{archive_write_new()}
{
    if (!writer_)
        throw std::runtime_error("libarchive could not allocate a writer (out of memory?)");
    // No padding to a 10 KiB block at the end: the kernel does not need it.
    if (archive_write_set_format_cpio_newc(writer_.get()) != ARCHIVE_OK ||
        archive_write_add_filter_none(writer_.get()) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(writer_.get(), 1) != ARCHIVE_OK ||
        archive_write_open(writer_.get(), &output_, nullptr, append_to_string, nullptr) !=
            ARCHIVE_OK)
        throw std::runtime_error(fmt::format("libarchive cannot write a newc cpio archive: {}",
                                             archive_error_string(writer_.get())));
}

CpioWriter::~CpioWriter() = default;

std::string CpioWriter::claim(std::string_view path)
{
    if (finished_)
        throw std::logic_error("CpioWriter: an entry was added after finish()");
    auto name = archive_path(path);
    if (directories_.contains(name) || others_.contains(name))
        throw std::invalid_argument(
            fmt::format("/{} is already in the cpio archive: add each path once", name));
    add_parents(name);
    return name;
}

void CpioWriter::add_parents(const std::string& path)
{
    for (auto slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
        auto parent = path.substr(0, slash);
        if (others_.contains(parent))
            throw std::invalid_argument(fmt::format(
                "/{} cannot go into the cpio archive: /{} is already there and is not a folder",
                path, parent));
        if (directories_.insert(parent).second)
            write({.path = parent, .type = AE_IFDIR, .mode = 0755});
    }
}

void CpioWriter::add_directory(std::string_view path, std::uint32_t mode)
{
    auto name = archive_path(path);
    if (directories_.contains(name))
        return;
    name = claim(name);
    directories_.insert(name);
    write({.path = name, .type = AE_IFDIR, .mode = mode});
}

void CpioWriter::add_file(std::string_view path, std::string_view bytes, std::uint32_t mode)
{
    auto name = claim(path);
    others_.insert(name);
    write({.path = name, .type = AE_IFREG, .mode = mode}, bytes);
}

void CpioWriter::add_symlink(std::string_view path, std::string_view target)
{
    auto name = claim(path);
    others_.insert(name);
    write({.path = name, .type = AE_IFLNK, .mode = 0777, .symlink = std::string{target}});
}

void CpioWriter::add_char_device(std::string_view path, unsigned major, unsigned minor,
                                 std::uint32_t mode)
{
    auto name = claim(path);
    others_.insert(name);
    write({.path = name, .type = AE_IFCHR, .mode = mode, .major = major, .minor = minor});
}

void CpioWriter::write(const Entry& entry, std::string_view bytes)
{
    std::unique_ptr<archive_entry, EntryFree> header{archive_entry_new()};
    if (!header)
        throw std::runtime_error("libarchive could not allocate an entry (out of memory?)");
    archive_entry_set_pathname(header.get(), entry.path.c_str());
    archive_entry_set_filetype(header.get(), entry.type);
    archive_entry_set_perm(header.get(), entry.mode & 07777);
    archive_entry_set_uid(header.get(), 0);
    archive_entry_set_gid(header.get(), 0);
    archive_entry_set_mtime(header.get(), 0, 0);
    // Distinct inodes and one link each: the kernel would take entries that
    // share an inode and have several links for hard links.
    archive_entry_set_ino64(header.get(), static_cast<la_int64_t>(next_inode_++));
    archive_entry_set_nlink(header.get(), entry.type == AE_IFDIR ? 2 : 1);
    // newc stores a symlink's target as its data; libarchive writes it.
    if (entry.type == AE_IFLNK)
        archive_entry_set_symlink(header.get(), entry.symlink.c_str());
    if (entry.type == AE_IFCHR) {
        archive_entry_set_rdevmajor(header.get(), entry.major);
        archive_entry_set_rdevminor(header.get(), entry.minor);
    }
    archive_entry_set_size(header.get(),
                           static_cast<la_int64_t>(entry.type == AE_IFREG ? bytes.size() : 0));

    if (archive_write_header(writer_.get(), header.get()) != ARCHIVE_OK)
        throw std::runtime_error(fmt::format("libarchive cannot add /{} to the cpio archive: {}",
                                             entry.path, archive_error_string(writer_.get())));
    if (entry.type != AE_IFREG)
        return;
    while (!bytes.empty()) {
        la_ssize_t written = archive_write_data(writer_.get(), bytes.data(), bytes.size());
        if (written <= 0)
            throw std::runtime_error(fmt::format(
                "libarchive cannot write the data of /{} into the cpio archive: {}", entry.path,
                archive_error_string(writer_.get())));
        bytes.remove_prefix(static_cast<std::size_t>(written));
    }
}

std::string CpioWriter::finish()
{
    if (finished_)
        throw std::logic_error("CpioWriter: finish() was called twice");
    finished_ = true;
    if (archive_write_close(writer_.get()) != ARCHIVE_OK)
        throw std::runtime_error(fmt::format("libarchive cannot finish the cpio archive: {}",
                                             archive_error_string(writer_.get())));
    return std::move(output_);
}

}  // namespace kmsdk
