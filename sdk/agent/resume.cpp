// SPDX-License-Identifier: GPL-2.0
// Resume: what a guest restored from a snapshot needs before it is used.
// Every restore of one snapshot starts with the same random pool and the
// clock of the moment it was saved, and devices QEMU does not migrate
// come back with their PCI configuration reset.
#include "pci_bars.hpp"
#include "requests.hpp"
#include "system.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <linux/random.h>
#include <sys/ioctl.h>
#include <vector>

namespace kmsdk::agent {
namespace {

// RNDADDENTROPY mixes the bytes in and credits them, so the pool counts
// as freshly seeded; a plain write to /dev/urandom would only mix.
void mix_into_random_pool(const std::string& seed)
{
    std::vector<char> request(sizeof(rand_pool_info) + seed.size());
    auto* info = reinterpret_cast<rand_pool_info*>(request.data());
    info->entropy_count = static_cast<int>(seed.size() * 8);
    info->buf_size = static_cast<int>(seed.size());
    std::memcpy(request.data() + sizeof(rand_pool_info), seed.data(), seed.size());
    UniqueFd random{::open("/dev/urandom", O_WRONLY | O_CLOEXEC)};
    if (!random)
        throw_errno("open /dev/urandom");
    if (::ioctl(random.get(), RNDADDENTROPY, info) != 0)
        throw_errno("RNDADDENTROPY");
    // The kernel reseeds its generator from the pool on a timer, and a
    // restored guest's jiffies stood still while it was saved: a guest
    // saved after one resume (a staged snapshot) would go on drawing the
    // same numbers in every restore. This reseeds it now.
    if (::ioctl(random.get(), RNDRESEEDCRNG) != 0)
        throw_errno("RNDRESEEDCRNG");
}

void set_clock(std::uint64_t realtime_ns)
{
    timespec now{static_cast<time_t>(realtime_ns / 1'000'000'000),
                 static_cast<long>(realtime_ns % 1'000'000'000)};
    if (::clock_settime(CLOCK_REALTIME, &now) != 0)
        throw_errno("clock_settime");
}

}  // namespace

proto::Resumed resume(const proto::Resume& request)
{
    if (request.seed.empty())
        throw RequestError(EINVAL, "Resume carries no seed");
    mix_into_random_pool(request.seed);
    set_clock(request.realtime_ns);
    return proto::Resumed{request.repair_pci_bars ? restore_pci_bars() : std::string{},
                          read_whole_file(std::string{proto::boot_pass_log_path}).value_or("")};
}

}  // namespace kmsdk::agent
