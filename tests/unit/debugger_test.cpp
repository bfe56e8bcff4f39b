// SPDX-License-Identifier: GPL-2.0
// What kmsdk debug gives gdb, built on the host: the kernel's symbols from
// a /proc/kallsyms listing as an ELF file, the section addresses of a
// loaded module, and the Python that watches module loads.
#include "gdb_script.hpp"
#include "host_command.hpp"
#include "kallsyms_elf.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <elf.h>
#include <fstream>
#include <iterator>
#include <set>

using namespace kmsdk::detail;

namespace {

std::string file_bytes(const std::filesystem::path& path)
{
    std::ifstream in{path, std::ios::binary};
    return {std::istreambuf_iterator<char>{in}, {}};
}

// The names and addresses in an ELF file's .symtab.
std::map<std::string, Elf64_Sym> symbols_of(const std::string& image)
{
    Elf64_Ehdr header;
    std::memcpy(&header, image.data(), sizeof header);
    auto section = [&](unsigned index) {
        Elf64_Shdr entry;
        std::memcpy(&entry, image.data() + header.e_shoff + index * sizeof entry, sizeof entry);
        return entry;
    };
    std::map<std::string, Elf64_Sym> symbols;
    for (unsigned i = 0; i < header.e_shnum; ++i) {
        auto symtab = section(i);
        if (symtab.sh_type != SHT_SYMTAB)
            continue;
        auto strtab = section(symtab.sh_link);
        for (auto offset = symtab.sh_offset + sizeof(Elf64_Sym); offset < symtab.sh_offset + symtab.sh_size;
             offset += sizeof(Elf64_Sym)) {
            Elf64_Sym symbol;
            std::memcpy(&symbol, image.data() + offset, sizeof symbol);
            symbols[image.data() + strtab.sh_offset + symbol.st_name] = symbol;
        }
    }
    return symbols;
}

}  // namespace

TEST_CASE("kallsyms ELF: the kernel's own symbols, without modules' or per-CPU offsets")
{
    TempDir dir{"kmsdk-kallsyms-test"};
    auto elf = dir.path() / "kallsyms.elf";
    auto count = write_kallsyms_elf("0000000000000000 A fixed_percpu_data\n"
                                    "ffffffff81000000 T _stext\n"
                                    "ffffffff81149360 t do_init_module\n"
                                    "ffffffff82a01000 D init_task\n"
                                    "ffffffffc0201000 t kms_hello_exit\t[kms_hello]\n"
                                    "not a line\n",
                                    elf);
    CHECK(count.functions == 2);
    CHECK(count.objects == 1);
    auto image = file_bytes(elf);
    REQUIRE(image.compare(0, SELFMAG, ELFMAG) == 0);
    auto symbols = symbols_of(image);
    REQUIRE(symbols.size() == 3);
    CHECK(symbols["_stext"].st_value == 0xffffffff81000000);
    CHECK(ELF64_ST_TYPE(symbols["do_init_module"].st_info) == STT_FUNC);
    CHECK(ELF64_ST_BIND(symbols["do_init_module"].st_info) == STB_LOCAL);
    CHECK(ELF64_ST_TYPE(symbols["init_task"].st_info) == STT_OBJECT);
    CHECK(ELF64_ST_BIND(symbols["init_task"].st_info) == STB_GLOBAL);

    // nm reads it as any ELF file, and gdb with it.
    auto listed = output_of({"nm", elf.string()});
    CHECK(listed.find("ffffffff81149360 t do_init_module") != std::string::npos);
}

TEST_CASE("kallsyms ELF: a listing with no addresses says why")
{
    TempDir dir{"kmsdk-kallsyms-test"};
    CHECK_THROWS_WITH(write_kallsyms_elf("0000000000000000 T _stext\n", dir.path() / "x.elf"),
                      Catch::Contains("kptr_restrict"));
}

TEST_CASE("module sections: the shell loop's lines as a map, empty and malformed lines left out")
{
    auto sections = parse_sections(".text 0xffffffffc0201000\n.init.text 0xffffffffc0207000\n"
                                   "__param 0xffffffffc0205050\n.bss 0x0000000000000000\nbroken zz\n");
    CHECK(sections == std::map<std::string, std::uint64_t>{{".text", 0xffffffffc0201000},
                                                           {".init.text", 0xffffffffc0207000},
                                                           {"__param", 0xffffffffc0205050}});
    CHECK(parse_sections("").empty());
}

TEST_CASE("module watch: valid Python, with the session's data as a literal")
{
    ModuleWatch watch{.modules = {{"kms_hello", "/tmp/a \"quoted\" dir/kms_hello.ko", {{".text", 0xffffffffc0201000}}},
                                  {"kms_core", "/tmp/kms_core.ko", {}}},
                      .load_hook = 0xffffffff8109a680,
                      .unload_hook = 0,
                      .ready_fd = 3,
                      .linker = "/usr/bin/ld",
                      .folder = "/tmp/gdb",
                      .interactive = false};
    auto script = module_watch_script(watch);
    CHECK(script.find("\"load_hook\":18446744071579477632") != std::string::npos);
    TempDir dir{"kmsdk-watch-test"};
    auto file = dir.path() / "watch.py";
    std::ofstream{file} << script;
    // Compiled, not run: it imports gdb.
    CHECK_NOTHROW(output_of({"python3", "-c", "import sys; compile(open(sys.argv[1]).read(), 'watch', 'exec')",
                             file.string()}));
}
