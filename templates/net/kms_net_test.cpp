// SPDX-License-Identifier: GPL-2.0
// kms_net in a real guest of every kernel it was built for: the interface
// kms0 appears at load, comes up, counts what it is given to send, and
// goes at unload, even while up.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <kmsdk/built_modules.hpp>
#include <kmsdk/guest.hpp>

using Catch::Matchers::Contains;

TEST_CASE("kms0 comes and goes with kms_net")
{
    auto builds = kmsdk::built_modules(MODULES_DIR, "kms_net.ko");
    REQUIRE_FALSE(builds.empty());
    for (const auto& build : builds) {
        SECTION(build.release)
        {
            kmsdk::Guest guest{kmsdk::GuestOptions{}.kernel(build.release).module(build.ko)};
            auto mark = guest.log_mark();
            REQUIRE(guest.insmod("kms_net").ok());
            REQUIRE(guest.run("ip link show kms0").ok());

            // IPv6 would send packets of its own: count only the pings.
            auto sent = guest.run(
                "echo 1 > /proc/sys/net/ipv6/conf/kms0/disable_ipv6 && ip link set kms0 up && "
                "ip addr add 10.99.0.1/24 dev kms0 && ip neigh add 10.99.0.2 lladdr 02:00:00:00:00:02 dev kms0 && "
                "ping -c 3 -W 1 10.99.0.2 >/dev/null; cat /sys/class/net/kms0/statistics/tx_packets",
                std::chrono::seconds{30});
            CHECK(sent.out == "3\n");

            REQUIRE(guest.rmmod("kms_net").ok());
            CHECK(guest.run("ip link show kms0 2>/dev/null").status != 0);
            CHECK_THAT(guest.dmesg_since(mark), Contains("kms0: registered"));
            CHECK_NOTHROW(guest.check_healthy());
        }
    }
}
