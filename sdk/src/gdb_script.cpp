// SPDX-License-Identifier: GPL-2.0
#include "gdb_script.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <sstream>

namespace kmsdk::detail {
namespace {

// What the watch does, the same for every session; the session's data
// comes before it as WATCH.
//
// struct module has begun with state, list and name since Linux 2.6, so
// its name is at offset 24 on x86-64. The loader's copy of the ELF header
// and section headers is standard ELF64, whatever the kernel's config.
constexpr const char* watch_body = R"PY(
import os
import struct
import subprocess

import gdb

SHF_ALLOC = 0x2
MODULE_NAME_OFFSET = 24
MODULE_NAME_LEN = 56
ADDRESS_MASK = (1 << 64) - 1
KOS = {module['name']: module['ko'] for module in WATCH['modules']}
symbols_from = {}  # module name -> the linked file gdb has its symbols from


def memory(address, size):
    return bytes(gdb.selected_inferior().read_memory(address, size))


def register(name):
    return int(gdb.parse_and_eval('$' + name)) & ADDRESS_MASK


def c_string(address, limit):
    return memory(address, limit).split(b'\0', 1)[0].decode(errors='replace')


def module_name(module):
    return c_string(module + MODULE_NAME_OFFSET, MODULE_NAME_LEN)


def loader_sections(header, section_headers):
    """Where the loader put each section that takes memory: what
    /sys/module/<name>/sections/ will list."""
    count, names_index = struct.unpack('<HH', memory(header + 60, 4))
    names_offset, = struct.unpack('<Q', memory(section_headers + names_index * 64 + 24, 8))
    sections = {}
    for index in range(1, count):
        entry = memory(section_headers + index * 64, 64)
        name, _, flags, address, _, size = struct.unpack_from('<IIQQQQ', entry)
        if flags & SHF_ALLOC and address and size:
            sections[c_string(header + names_offset + name, 128)] = address
    return sections


def remove_symbols(name):
    linked = symbols_from.pop(name, None)
    if linked is not None:
        gdb.execute('remove-symbol-file "{}"'.format(linked), to_string=True)
    return linked is not None


def link_at(name, sections):
    """The module's object linked at the addresses its sections loaded at.
    gdb's add-symbol-file -s relocates a relocatable file's symbols but
    not its DWARF reliably (variables and lines came out in the wrong
    section); ld applies every relocation, debug sections' included.
    Calls into the kernel are left unresolved: they resolve to 0."""
    base = min(sections.values())
    linked = os.path.join(WATCH['folder'], '{}-{:x}.elf'.format(name, base))
    script = linked + '.ld'
    with open(script, 'w') as out:
        out.write('SECTIONS {\n')
        for section, address in sorted(sections.items(), key=lambda item: item[1]):
            if section not in ('.symtab', '.strtab'):
                out.write('  {0} {1:#x} : {{ *({0}) }}\n'.format(section, address))
        out.write('}\n')
    linking = subprocess.run([WATCH['ld'], '-o', linked, '-T', script, '-e', '0',
                              '--unresolved-symbols=ignore-all', '--noinhibit-exec', KOS[name]],
                             capture_output=True, text=True)
    if linking.returncode != 0 or not os.path.exists(linked):
        raise gdb.GdbError('kmsdk: cannot link {} at its load addresses: {}'.format(
            KOS[name], linking.stderr.strip()))
    return linked


def add_symbols(name, sections):
    remove_symbols(name)
    try:
        linked = link_at(name, sections)
    except gdb.GdbError as error:
        print(error)
        return
    gdb.execute('add-symbol-file "{}" -o 0'.format(linked), to_string=True)
    symbols_from[name] = linked
    text = sections.get('.text', sections.get('.init.text', min(sections.values())))
    print('kmsdk: {} is loading: symbols added from {} (code at {:#x})'.format(name, KOS[name], text))


class ModuleLoad(gdb.Breakpoint):
    def stop(self):
        name = module_name(register('rdx'))
        if name in KOS:
            add_symbols(name, loader_sections(register('rdi'), register('rsi')))
        return False


class ModuleUnload(gdb.Breakpoint):
    def stop(self):
        name = module_name(register('rdi'))
        if remove_symbols(name):
            print('kmsdk: {} is unloading: its symbols removed'.format(name))
        return False


for module in WATCH['modules']:
    if module['sections']:
        add_symbols(module['name'], module['sections'])
ModuleLoad('*{:#x}'.format(WATCH['load_hook']), internal=True)
if WATCH['unload_hook']:
    ModuleUnload('*{:#x}'.format(WATCH['unload_hook']), internal=True)
os.write(WATCH['ready_fd'], b'ready\n')
os.close(WATCH['ready_fd'])
if WATCH['interactive']:
    print('kmsdk: gdb is attached and the guest stands still. Set breakpoints '
          '(break kms_hello_init: pending until the module loads), then continue: '
          'the command runs as the guest does. Quit gdb to end.')
)PY";

}  // namespace

std::string module_watch_script(const ModuleWatch& watch)
{
    nlohmann::json data = {
        {"load_hook", watch.load_hook},
        {"unload_hook", watch.unload_hook},
        {"ready_fd", watch.ready_fd},
        {"ld", watch.linker.string()},
        {"folder", watch.folder.string()},
        {"interactive", watch.interactive ? 1 : 0},
        {"modules", nlohmann::json::array()},
    };
    for (const auto& module : watch.modules) {
        nlohmann::json sections = nlohmann::json::object();
        for (const auto& [section, address] : module.loaded_sections)
            sections[section] = address;
        data["modules"].push_back({{"name", module.name}, {"ko", module.ko.string()}, {"sections", sections}});
    }
    // JSON of strings and integers, ASCII only, is a Python literal too.
    return "# Written by kmsdk debug for one session.\nWATCH = " + data.dump(-1, ' ', true) + "\n" +
           watch_body;
}

std::map<std::string, std::uint64_t> parse_sections(const std::string& listing)
{
    std::map<std::string, std::uint64_t> sections;
    std::istringstream lines{listing};
    for (std::string name, address; lines >> name >> address;) {
        std::string_view digits{address};
        if (digits.starts_with("0x"))
            digits.remove_prefix(2);
        std::uint64_t value = 0;
        if (std::from_chars(digits.data(), digits.data() + digits.size(), value, 16).ec == std::errc{} && value)
            sections[name] = value;
    }
    return sections;
}

}  // namespace kmsdk::detail
