// SPDX-License-Identifier: GPL-2.0
#include "environment.hpp"

#include "process.hpp"

#include "kmsdk/cache.hpp"

#include <fmt/format.h>

#include <ctime>
#include <filesystem>
#include <fstream>

#include <sys/utsname.h>
#include <unistd.h>

namespace kmsdk::bench {
namespace {

std::string qemu_version()
{
    auto log = std::filesystem::temp_directory_path() / fmt::format("kmsdk-bench-{}-qemu-version", ::getpid());
    std::string version = "QEMU (version unknown)";
    try {
        auto qemu = start({"qemu-system-x86_64", "--version"}, log);
        if (auto status = wait_until(qemu, Clock::now() + std::chrono::seconds(10)); status && *status == 0) {
            auto text = read_file(log);
            version = text.substr(0, text.find('\n'));
        }
    } catch (const std::exception&) {
    }
    std::error_code ignored;
    std::filesystem::remove(log, ignored);
    return version;
}

std::string cpu_model()
{
    std::ifstream in{"/proc/cpuinfo"};
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("model name")) {
            auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    return "unknown CPU";
}

}  // namespace

std::string load_average()
{
    std::ifstream in{"/proc/loadavg"};
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return fmt::format("{} {} {}", one, five, fifteen);
}

Environment describe_environment(const std::string& accel)
{
    Environment e;
    char date[32];
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &utc);
    e.date = date;
    utsname host{};
    ::uname(&host);
    e.host_kernel = host.release;
    e.cpu_model = cpu_model();
    e.cpus = static_cast<unsigned>(::sysconf(_SC_NPROCESSORS_ONLN));
    e.qemu_version = qemu_version();
    e.accel = accel;
    e.load_before = load_average();
    e.build_type = KMSDK_BENCH_BUILD_TYPE;
    return e;
}

}  // namespace kmsdk::bench
