// SPDX-License-Identifier: GPL-2.0
#include "accel.hpp"

#include "kmsdk/cache.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

namespace kmsdk::detail {
namespace {

std::string validated(const std::string& accel, const char* source)
{
    if (accel != "tcg" && accel != "kvm")
        throw std::invalid_argument(fmt::format("{} is '{}': use tcg or kvm", source, accel));
    return accel;
}

std::string host_boot_id()
{
    std::ifstream in{"/proc/sys/kernel/random/boot_id"};
    std::string id;
    std::getline(in, id);
    return id;
}

}  // namespace

std::string choose_accel(const std::string& requested,
                         const std::function<bool(const std::string&)>& probe)
{
    if (!requested.empty())
        return validated(requested, "the accel option");
    if (const char* env = std::getenv("KMSDK_ACCEL"); env && *env)
        return validated(env, "KMSDK_ACCEL");
    if (::access("/dev/kvm", R_OK | W_OK) != 0)
        return "tcg";

    auto verdict_file = cache_dir() / "accel-verdict";
    auto boot_id = host_boot_id();
    {
        std::ifstream in{verdict_file};
        std::string seen_boot, verdict;
        if (in >> seen_boot >> verdict && seen_boot == boot_id && (verdict == "kvm" || verdict == "tcg"))
            return verdict;
    }
    auto verdict = probe("kvm") ? std::string{"kvm"} : std::string{"tcg"};
    write_file_atomically(verdict_file, boot_id + " " + verdict + "\n");
    return verdict;
}

}  // namespace kmsdk::detail
