// SPDX-License-Identifier: GPL-2.0
// The Python that kmsdk gives gdb: it adds an out-of-tree module's symbols
// when the guest's kernel loads the module, and removes them when it
// unloads it, and tells kmsdk once it is in place.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kmsdk::detail {

struct WatchedModule {
    std::string name;                 // as the kernel knows it: kms_hello
    std::filesystem::path ko;         // on the host, with debug information
    // Its sections' addresses when it was loaded already, from
    // /sys/module/<name>/sections/; empty when it was not.
    std::map<std::string, std::uint64_t> loaded_sections;
};

struct ModuleWatch {
    std::vector<WatchedModule> modules;
    // Where the kernel's loader calls module_finalize(hdr, sechdrs, mod):
    // each allocated section's sh_addr is final there.
    std::uint64_t load_hook = 0;
    // free_module(mod); 0 when this kernel has no such symbol.
    std::uint64_t unload_hook = 0;
    // The descriptor gdb writes "ready" to once the watch is in place.
    int ready_fd = -1;
    // The linker that places a module's object at its load addresses,
    // and the folder the placed copies go to.
    std::filesystem::path linker;
    std::filesystem::path folder;
    // Say how to go on at the prompt.
    bool interactive = false;
};

std::string module_watch_script(const ModuleWatch& watch);

// `name address` lines, as the shell loop over /sys/module/<name>/sections/
// prints them, as a map.
std::map<std::string, std::uint64_t> parse_sections(const std::string& listing);

}  // namespace kmsdk::detail
