// SPDX-License-Identifier: GPL-2.0
#include "guest_suite.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <sstream>

namespace kmsdk::test {

namespace {

std::vector<std::string>& skips()
{
    static std::vector<std::string> skipped;
    return skipped;
}

}  // namespace

void skip(std::string_view reason)
{
    auto entry = fmt::format("{}: {}", Catch::getResultCapture().getCurrentTestName(), reason);
    WARN("SKIPPED: " << reason);
    fmt::print("SKIPPED: {}\n", entry);
    std::fflush(stdout);
    skips().push_back(std::move(entry));
}

const std::vector<std::string>& skipped_cases()
{
    return skips();
}

const Kernel& test_kernel()
{
    static const Kernel kernel = [] {
        const char* chosen = std::getenv("KMSDK_TEST_KERNEL");
        return Kernel::find(chosen ? chosen : "");
    }();
    return kernel;
}

std::filesystem::path built_module(std::string_view name)
{
    return built_module(name, test_kernel().release());
}

std::filesystem::path built_module(std::string_view name, std::string_view release)
{
    auto path = std::filesystem::path{KMSDK_TEST_MODULES_DIR} / release / (std::string{name} + ".ko");
    if (!std::filesystem::exists(path))
        throw std::runtime_error(fmt::format("{} was not built: build the project first "
                                             "(cmake --build --preset default)", path.string()));
    return path;
}

GuestOptions with_built_modules(std::initializer_list<std::string_view> names)
{
    GuestOptions options;
    for (auto name : names)
        options.module(built_module(name));
    return options;
}

Guest& suite_guest(const std::function<GuestOptions()>& options)
{
    static std::unique_ptr<Guest> guest;
    if (!guest)
        guest = std::make_unique<Guest>(options().kernel(test_kernel().release()));
    return *guest;
}

bool is_loaded(Guest& guest, std::string_view module)
{
    auto loaded = guest.loaded_modules();
    return std::find(loaded.begin(), loaded.end(), module) != loaded.end();
}

std::string line_of(std::string_view listing, std::string_view module)
{
    for (auto& line : lines_with(listing, module))
        if (line.rfind(std::string{module} + " ", 0) == 0)
            return line;
    return {};
}

std::vector<std::string> words(const std::string& line)
{
    std::istringstream in{line};
    return {std::istream_iterator<std::string>{in}, std::istream_iterator<std::string>{}};
}

std::vector<std::string> lines_with(std::string_view text, std::string_view needle)
{
    std::vector<std::string> found;
    std::istringstream lines{std::string{text}};
    for (std::string line; std::getline(lines, line);)
        if (line.find(needle) != std::string::npos)
            found.push_back(line);
    return found;
}

std::string kernel_log_during(Guest& guest, const std::function<void()>& action)
{
    auto mark = guest.log_mark();
    action();
    return guest.dmesg_since(mark);
}

void unload_new_modules(Guest& guest, const std::vector<std::string>& before)
{
    for (const auto& name : guest.loaded_modules())
        if (std::find(before.begin(), before.end(), name) == before.end()) {
            INFO("unloading " << name << ", left behind");
            auto result = guest.rmmod(name);
            CHECK(result.ok());
            if (!result.ok())
                WARN(result.message);
        }
}

bool exists(Guest& guest, std::string_view path)
{
    return guest.run(fmt::format("test -e {}", path)).status == 0;
}

std::string trimmed(std::string_view text)
{
    auto blank = [](char c) { return c == ' ' || c == '\n' || c == '\t'; };
    while (!text.empty() && blank(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && blank(text.back()))
        text.remove_suffix(1);
    return std::string{text};
}

std::string wait_for_refcount_script(std::string_view module, int count)
{
    return fmt::format("i=0\n"
                       "while [ \"$(cat /sys/module/{0}/refcnt)\" != {1} ] && [ $i -lt 100 ]; do\n"
                       "    sleep 0.05; i=$((i + 1))\n"
                       "done\n",
                       module, count);
}

std::string hold_open(Guest& guest, std::string_view node, std::string_view module,
                      int references)
{
    auto held = guest.run(fmt::format("sleep 1000 < {} > /dev/null 2>&1 &\necho $!\n{}", node,
                                      wait_for_refcount_script(module, references)));
    REQUIRE(held.status == 0);
    REQUIRE(guest.read(fmt::format("/sys/module/{}/refcnt", module)) ==
            fmt::format("{}\n", references));
    auto pid = words(held.out);
    REQUIRE(pid.size() == 1);
    return pid[0];
}

UnloadAtEnd::~UnloadAtEnd()
{
    try {
        if (is_loaded(guest_, module_))
            guest_.rmmod(module_);
    } catch (...) {
        // A guest that died boots again for the next case.
    }
}

void check_rmmod_refused_in_use(Guest& guest, std::string_view module, std::string_view users)
{
    auto refused = guest.rmmod(module);
    CHECK(refused.error == EBUSY);
    CHECK(refused.message == (users.empty() ? fmt::format("Module {} is in use", module)
                                            : fmt::format("Module {} is in use by: {}", module, users)));
    // kmod's rmmod reads the holders from sysfs and refuses before asking
    // the kernel, in the words the agent copies.
    auto rmmod = guest.run(fmt::format("rmmod {}", module));
    CHECK(rmmod.status != 0);
    CHECK(rmmod.err == "rmmod: ERROR: " + refused.message + "\n");
    CHECK(is_loaded(guest, module));
}

}  // namespace kmsdk::test
