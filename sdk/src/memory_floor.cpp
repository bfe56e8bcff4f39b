// SPDX-License-Identifier: GPL-2.0
#include "memory_floor.hpp"

#include "kmsdk/guest.hpp"

#include <fmt/format.h>

#include <elf.h>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace kmsdk::detail {
namespace {

constexpr std::uint64_t mib = 1u << 20;
// What 6.1 and 6.12 allocate before /init beyond the image and the
// initramfs: the smallest memory each booted in was 86 and 67 MiB, 22.6
// and 11.6 MiB above the rest of the sum.
constexpr std::uint64_t early_allocations = 24 * mib;

// The bytes the kernel's loadable segments take in memory.
std::uint64_t loaded_image_bytes(const std::filesystem::path& vmlinux)
{
    std::ifstream in{vmlinux, std::ios::binary};
    Elf64_Ehdr header{};
    if (!in.read(reinterpret_cast<char*>(&header), sizeof header) ||
        std::string_view{reinterpret_cast<const char*>(header.e_ident), 4} != ELFMAG ||
        header.e_ident[EI_CLASS] != ELFCLASS64)
        throw std::runtime_error(fmt::format("{} is not a 64-bit ELF kernel; fetch the kernel again "
                                             "with 'kmsdk kernels fetch'", vmlinux.string()));
    std::uint64_t total = 0;
    for (unsigned i = 0; i < header.e_phnum; ++i) {
        Elf64_Phdr segment{};
        in.seekg(static_cast<std::streamoff>(header.e_phoff + std::uint64_t{i} * header.e_phentsize));
        if (!in.read(reinterpret_cast<char*>(&segment), sizeof segment))
            break;
        if (segment.p_type == PT_LOAD)
            total += segment.p_memsz;
    }
    return total;
}

}  // namespace

unsigned memory_floor_mb(const Kernel& kernel, const std::filesystem::path& initrd)
{
    auto bytes = loaded_image_bytes(kernel.vmlinux()) + 2 * std::filesystem::file_size(initrd) +
                 early_allocations;
    return static_cast<unsigned>((bytes + mib - 1) / mib);
}

void check_memory(const Kernel& kernel, const std::filesystem::path& initrd, unsigned memory_mb)
{
    auto floor = memory_floor_mb(kernel, initrd);
    if (memory_mb < floor)
        throw BootError(fmt::format(
            "{} MiB of memory is too little for the {} guest: it needs at least {} MiB (its kernel "
            "takes {} MiB, the initramfs {} MiB twice while it unpacks); give it --memory {} or "
            "more (the default is 256)",
            memory_mb, kernel.release(), floor, loaded_image_bytes(kernel.vmlinux()) / mib,
            (std::filesystem::file_size(initrd) + mib - 1) / mib, floor));
}

}  // namespace kmsdk::detail
