// SPDX-License-Identifier: GPL-2.0
#include "guest_suite.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <sstream>

namespace kmsdk::test {

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
    auto before = guest.dmesg();
    action();
    auto after = guest.dmesg();
    // The log only grows between the two reads (unless cleared): what is new
    // is what follows the old text.
    if (after.compare(0, before.size(), before) == 0)
        return after.substr(before.size());
    return after;
}

}  // namespace kmsdk::test
