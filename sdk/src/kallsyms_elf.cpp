// SPDX-License-Identifier: GPL-2.0
#include "kallsyms_elf.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <elf.h>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace kmsdk::detail {
namespace {

// Below this, an address in kallsyms is a per-CPU offset, not a place.
constexpr std::uint64_t kernel_space = 0xffff800000000000;

struct Symbol {
    std::uint64_t address;
    std::string_view name;
    bool function;
    bool global;
};

std::vector<Symbol> kernel_symbols(std::string_view kallsyms)
{
    std::vector<Symbol> symbols;
    while (!kallsyms.empty()) {
        auto end = kallsyms.find('\n');
        auto line = kallsyms.substr(0, end);
        kallsyms.remove_prefix(end == std::string_view::npos ? kallsyms.size() : end + 1);
        // "ffffffff81000000 T _stext", a module's with "\t[name]" after.
        if (line.size() < 20 || line[16] != ' ' || line[18] != ' ' ||
            line.find('\t') != std::string_view::npos)
            continue;
        std::uint64_t address = 0;
        if (std::from_chars(line.data(), line.data() + 16, address, 16).ec != std::errc{} ||
            address < kernel_space)
            continue;
        char type = line[17];
        bool function = type == 't' || type == 'T' || type == 'w' || type == 'W';
        symbols.push_back({address, line.substr(19), function, std::isupper(type) != 0});
    }
    return symbols;
}

template <class T>
void append(std::string& out, const T& value)
{
    out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

}  // namespace

KallsymsCount write_kallsyms_elf(std::string_view kallsyms, const std::filesystem::path& elf)
{
    auto symbols = kernel_symbols(kallsyms);
    if (symbols.empty())
        throw std::runtime_error("/proc/kallsyms listed no kernel addresses (read by a user "
                                 "kptr_restrict hides them from?)");
    // ELF wants the local symbols first.
    std::stable_partition(symbols.begin(), symbols.end(), [](const Symbol& s) { return !s.global; });
    auto [lowest, highest] = std::minmax_element(symbols.begin(), symbols.end(),
                                                 [](const Symbol& a, const Symbol& b) { return a.address < b.address; });
    auto base = lowest->address;
    auto span = highest->address - base + 1;

    // One section that holds no bytes but covers every address, so that
    // gdb takes the symbols for places in it.
    const std::string section_names = std::string{"\0.kernel\0.symtab\0.strtab\0.shstrtab\0", 35};
    enum : Elf64_Word { name_kernel = 1, name_symtab = 9, name_strtab = 17, name_shstrtab = 25 };

    std::string strtab{'\0'};
    std::string symtab(sizeof(Elf64_Sym), '\0');
    KallsymsCount count;
    std::size_t locals = 1;
    for (const auto& symbol : symbols) {
        Elf64_Sym entry{};
        entry.st_name = static_cast<Elf64_Word>(strtab.size());
        entry.st_info = ELF64_ST_INFO(symbol.global ? STB_GLOBAL : STB_LOCAL,
                                      symbol.function ? STT_FUNC : STT_OBJECT);
        entry.st_shndx = 1;
        entry.st_value = symbol.address;
        append(symtab, entry);
        strtab.append(symbol.name);
        strtab += '\0';
        locals += symbol.global ? 0 : 1;
        ++(symbol.function ? count.functions : count.objects);
    }

    Elf64_Ehdr header{};
    std::memcpy(header.e_ident, ELFMAG, SELFMAG);
    header.e_ident[EI_CLASS] = ELFCLASS64;
    header.e_ident[EI_DATA] = ELFDATA2LSB;
    header.e_ident[EI_VERSION] = EV_CURRENT;
    header.e_type = ET_EXEC;
    header.e_machine = EM_X86_64;
    header.e_version = EV_CURRENT;
    header.e_ehsize = sizeof(Elf64_Ehdr);
    header.e_shentsize = sizeof(Elf64_Shdr);
    header.e_shnum = 5;
    header.e_shstrndx = 4;

    auto symtab_offset = sizeof(Elf64_Ehdr);
    auto strtab_offset = symtab_offset + symtab.size();
    auto names_offset = strtab_offset + strtab.size();
    header.e_shoff = (names_offset + section_names.size() + 7) & ~std::uint64_t{7};

    std::vector<Elf64_Shdr> sections(5);
    sections[1] = {name_kernel, SHT_NOBITS, SHF_ALLOC | SHF_EXECINSTR, base, 0, span, 0, 0, 16, 0};
    sections[2] = {name_symtab, SHT_SYMTAB, 0, 0, symtab_offset, symtab.size(), 3,
                   static_cast<Elf64_Word>(locals), 8, sizeof(Elf64_Sym)};
    sections[3] = {name_strtab, SHT_STRTAB, 0, 0, strtab_offset, strtab.size(), 0, 0, 1, 0};
    sections[4] = {name_shstrtab, SHT_STRTAB, 0, 0, names_offset, section_names.size(), 0, 0, 1, 0};

    std::string image;
    append(image, header);
    image += symtab;
    image += strtab;
    image += section_names;
    image.resize(header.e_shoff, '\0');
    for (const auto& section : sections)
        append(image, section);

    std::ofstream out{elf, std::ios::binary | std::ios::trunc};
    out.write(image.data(), static_cast<std::streamsize>(image.size()));
    if (!out.flush())
        throw std::runtime_error(fmt::format("cannot write {}", elf.string()));
    return count;
}

}  // namespace kmsdk::detail
