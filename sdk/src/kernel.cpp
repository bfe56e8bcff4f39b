// SPDX-License-Identifier: GPL-2.0
#include "kmsdk/kernel.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <climits>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace kmsdk {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view info_file = "kernel.info";
constexpr std::string_view default_series = "6.1";
constexpr std::string_view generic_flavour = "amd64";
// Longest first: "rt-amd64" ends in "amd64" too.
constexpr std::string_view flavours[] = {"cloud-amd64", "rt-amd64", "amd64"};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// dpkg's character order, which sort -V shares: '~' before everything,
// even the end of the string; letters before other characters.
int version_order(char c)
{
    if (is_digit(c))
        return 0;
    if (is_alpha(c))
        return static_cast<unsigned char>(c);
    if (c == '~')
        return -1;
    return static_cast<unsigned char>(c) + UCHAR_MAX + 1;
}

// "6.1" selects 6.1.0-56-amd64 but not 6.12.117+deb12-amd64: the series
// must end where a version part ends. A series or a part of a version
// means the generic flavour; "6.12-rt" names the other.
bool release_matches(std::string_view release, std::string_view wanted)
{
    if (release == wanted || kernel_spec(release) == wanted)
        return true;
    if (flavour_of(release) != generic_flavour)
        return false;
    if (wanted.empty())
        return true;
    if (!release.starts_with(wanted))
        return false;
    char next = release[wanted.size()];
    return next == '.' || next == '-' || next == '+' || next == '~';
}

std::string fetch_advice(std::string_view wanted)
{
    auto series = wanted.empty() ? default_series : wanted;
    return fmt::format("fetch it with `kmsdk kernels fetch {0}` (or `scripts/kernels.sh fetch {0}`)",
                       series);
}

}  // namespace

int compare_versions(std::string_view a, std::string_view b)
{
    std::size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        while ((i < a.size() && !is_digit(a[i])) || (j < b.size() && !is_digit(b[j]))) {
            int left = i < a.size() ? version_order(a[i]) : 0;
            int right = j < b.size() ? version_order(b[j]) : 0;
            if (left != right)
                return left - right;
            ++i;
            ++j;
        }
        while (i < a.size() && a[i] == '0')
            ++i;
        while (j < b.size() && b[j] == '0')
            ++j;
        int first_difference = 0;
        while (i < a.size() && j < b.size() && is_digit(a[i]) && is_digit(b[j])) {
            if (first_difference == 0)
                first_difference = a[i] - b[j];
            ++i;
            ++j;
        }
        if (i < a.size() && is_digit(a[i]))
            return 1;
        if (j < b.size() && is_digit(b[j]))
            return -1;
        if (first_difference != 0)
            return first_difference;
    }
    return a.compare(b);
}

std::string series_of(std::string_view release)
{
    auto first_dot = release.find('.');
    if (first_dot == std::string_view::npos)
        return std::string{release};
    auto end = release.find_first_not_of("0123456789", first_dot + 1);
    return std::string{release.substr(0, end)};
}

Kernel::Kernel(fs::path dir) : dir_{std::move(dir)}
{
    std::ifstream info{dir_ / info_file};
    if (!info)
        throw std::runtime_error(fmt::format(
            "{} is not a complete kmsdk kernel (no {}); remove it and fetch the kernel again",
            dir_.string(), info_file));
    for (std::string line; std::getline(info, line);)
        if (line.starts_with("release="))
            release_ = line.substr(std::string_view{"release="}.size());
    if (release_.empty())
        release_ = dir_.filename().string();
}

std::vector<Kernel> Kernel::list(const fs::path& cache)
{
    std::vector<Kernel> kernels;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator{cache / "kernels", error})
        // Folders without kernel.info are fetches in progress or abandoned.
        if (entry.is_directory() && fs::exists(entry.path() / info_file))
            kernels.emplace_back(entry.path());
    std::sort(kernels.begin(), kernels.end(), [](const Kernel& a, const Kernel& b) {
        return compare_versions(a.release(), b.release()) > 0;
    });
    return kernels;
}

Kernel Kernel::find(std::string_view release_or_series, const fs::path& cache)
{
    auto kernels = list(cache);
    for (auto& kernel : kernels)
        if (release_matches(kernel.release(), release_or_series))
            return std::move(kernel);
    // No kernel of the generic flavour: the newest of any.
    if (release_or_series.empty() && !kernels.empty())
        return std::move(kernels.front());

    if (kernels.empty())
        throw std::runtime_error(fmt::format("no kernels are cached in {}; {}",
                                             (cache / "kernels").string(),
                                             fetch_advice(release_or_series)));
    std::vector<std::string> cached;
    cached.reserve(kernels.size());
    for (const auto& kernel : kernels)
        cached.push_back(kernel.release());
    throw std::runtime_error(fmt::format("no cached kernel matches '{}' (cached in {}: {}); {}",
                                         release_or_series, (cache / "kernels").string(),
                                         fmt::join(cached, ", "), fetch_advice(release_or_series)));
}

std::string Kernel::series() const
{
    return series_of(release_);
}

std::string Kernel::spec() const
{
    return kernel_spec(release_);
}

std::string flavour_of(std::string_view release)
{
    for (auto flavour : flavours)
        if (release.size() > flavour.size() && release.ends_with(flavour) &&
            release[release.size() - flavour.size() - 1] == '-')
            return std::string{flavour};
    return {};
}

std::string kernel_spec(std::string_view release)
{
    auto flavour = flavour_of(release);
    auto series = series_of(release);
    if (flavour.empty() || series.find('.') == std::string::npos)
        return std::string{release};
    if (flavour == generic_flavour)
        return series;
    return series + "-" + flavour.substr(0, flavour.size() - generic_flavour.size() - 1);
}

fs::path Kernel::part(std::string_view name) const
{
    auto path = dir_ / name;
    if (!fs::exists(path))
        throw std::runtime_error(fmt::format(
            "the cached kernel {} is broken: {} is missing; remove {} and fetch it again with "
            "`kmsdk kernels fetch {}`",
            release_, path.string(), dir_.string(), release_));
    return path;
}

fs::path Kernel::vmlinux() const
{
    return part("vmlinux");
}

fs::path Kernel::debug_vmlinux() const
{
    auto path = dir_ / "vmlinux-debug";
    return fs::is_regular_file(path) ? path : fs::path{};
}

fs::path Kernel::modules_dir() const
{
    auto modules = part("modules");
    // depmod's index is what libkmod resolves names and dependencies with.
    if (!fs::exists(modules / "modules.dep"))
        throw std::runtime_error(fmt::format(
            "the cached kernel {} has no modules.dep in {}: run `depmod -b {} {}`, or remove {} "
            "and fetch it again",
            release_, modules.string(), (dir_ / "root").string(), release_, dir_.string()));
    return modules;
}

fs::path Kernel::build_dir() const
{
    return part("build");
}

fs::path Kernel::config() const
{
    return part("config");
}

std::string Kernel::config_value(std::string_view option) const
{
    std::string key = option.starts_with("CONFIG_") ? std::string{option}
                                                    : fmt::format("CONFIG_{}", option);
    key += '=';
    std::ifstream file{config()};
    for (std::string line; std::getline(file, line);) {
        if (!line.starts_with(key))
            continue;
        auto value = line.substr(key.size());
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
            value = value.substr(1, value.size() - 2);
        return value;
    }
    return {};
}

bool Kernel::config_enabled(std::string_view option) const
{
    auto value = config_value(option);
    return value == "y" || value == "m";
}

}  // namespace kmsdk
