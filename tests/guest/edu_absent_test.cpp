// SPDX-License-Identifier: GPL-2.0
// kms_edu on a machine without the edu device: nothing loads it at boot,
// insmod loads it all the same (a PCI driver with no device is not an
// error), it binds nothing and makes no device node, and rmmod unloads it
// cleanly.
#include "guest_suite.hpp"

#include <regex>
#include <sstream>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    // The module staged, and no -device edu.
    return suite_guest([] { return with_built_modules({"kms_edu"}); });
}

const std::string driver_dir = "/sys/bus/pci/drivers/kms_edu";

// The entries of the driver's sysfs folder that are devices it is bound
// to: links named by a PCI address, e.g. 0000:00:04.0.
std::vector<std::string> bound_devices(Guest& g)
{
    auto listing = g.run("ls " + driver_dir);
    REQUIRE(listing.status == 0);
    const std::regex pci_address{R"([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])"};
    std::vector<std::string> devices;
    std::istringstream names{listing.out};
    for (std::string name; names >> name;)
        if (std::regex_match(name, pci_address))
            devices.push_back(name);
    return devices;
}

}  // namespace

TEST_CASE("without an edu device nothing loads kms_edu at boot, and no tool is staged",
          "[edu_absent]")
{
    auto& g = guest();
    // No device with 1234:11e8, so coldplug had no modalias to load it for.
    auto edu = g.run("grep -l 0x11e8 /sys/bus/pci/devices/*/device");
    CHECK(edu.out.empty());
    CHECK_FALSE(is_loaded(g, "kms_edu"));
    // The runtime stages no sample's tool by itself, edu device or not:
    // a suite that wants kms-edu-ctl asks for it (GuestOptions::program).
    CHECK_FALSE(exists(g, "/usr/bin/kms-edu-ctl"));
    CHECK_HEALTHY(g);
}

TEST_CASE("without an edu device insmod kms_edu succeeds, binds nothing, and rmmod unloads it",
          "[edu_absent]")
{
    auto& g = guest();
    REQUIRE_FALSE(is_loaded(g, "kms_edu"));

    std::string log = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_edu").ok()); });
    CHECK(is_loaded(g, "kms_edu"));
    // The driver is registered, with no device.
    REQUIRE(exists(g, driver_dir));
    CHECK(bound_devices(g).empty());
    CHECK_FALSE(exists(g, "/dev/kms_edu"));
    // No probe ran: no probe line, and no error either.
    INFO(log);
    CHECK_THAT(log, !Contains("edu 1.0"));
    CHECK_THAT(log, !Contains("kms_edu 0000:"));

    REQUIRE(g.rmmod("kms_edu").ok());
    CHECK_FALSE(is_loaded(g, "kms_edu"));
    CHECK_FALSE(exists(g, driver_dir));
    CHECK_HEALTHY(g);
}
