// SPDX-License-Identifier: GPL-2.0
// kms_edu, a PCI driver for QEMU's edu device, in a real kernel: the
// agent's coldplug loads it by its modalias and it binds the device; the
// device answers liveness checks and factorials through the driver's
// ioctls and moves data through its DMA engine with pread/pwrite; every
// request raises exactly the interrupts it should, in MSI mode and in
// INTx mode; requests the device must never see are refused with EINVAL
// (on QEMU 7.2 an out-of-range transfer would kill the machine); many
// processes at once all get right answers; and the device can be unbound,
// bound, unloaded and loaded again, also while a file is open, without an
// Oops or a WARN.
//
// The tests use kms-edu-ctl, the one this build made, which the suite
// stages into its guest as /usr/bin/kms-edu-ctl (GuestOptions::program),
// and where a tool bug could hide a driver bug they check the driver
// through something else too: bytes the test chose, read back by another
// command or by dd, and the kernel's own sysfs files.
//
// The guest boots once and is shared by the test cases: each starts from
// kms_edu loaded with its defaults and bound, as the boot leaves it, and
// leaves it so.
#include "guest_suite.hpp"

#include "kms_edu.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <vector>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

// The device's buffer is 4096 bytes, and QEMU 7.2 counts a transfer that
// ends on its last byte as out of range and aborts (see edu-device.md): a
// header that allowed more would let user space kill the machine.
constexpr std::size_t dma_max = 4095;
static_assert(KMS_EDU_DMA_MAX == dma_max, "a transfer may use 4095 bytes of the buffer, no more");

const std::string driver_dir = "/sys/bus/pci/drivers/kms_edu/";
const std::string device_node = "/dev/kms_edu";

Guest& guest()
{
    return suite_guest([] {
        return with_built_modules({"kms_edu"}).device("edu").program(KMSDK_EDU_CTL_PATH);
    });
}

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    std::istringstream in{text};
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

// The PCI address of the edu device (1234:11e8), found by its IDs as a
// user would, without asking the driver. The same at every boot of the
// same machine.
const std::string& edu_bdf(Guest& g)
{
    static std::string bdf;
    if (bdf.empty()) {
        auto scan = g.run(
            "for d in /sys/bus/pci/devices/*; do\n"
            "    [ \"$(cat $d/vendor)\" = 0x1234 ] && [ \"$(cat $d/device)\" = 0x11e8 ] &&\n"
            "        echo ${d##*/}\n"
            "done\n"
            "true\n");
        REQUIRE(scan.status == 0);
        auto found = lines_of(scan.out);
        INFO("devices 1234:11e8: " << scan.out);
        REQUIRE(found.size() == 1);
        bdf = found[0];
    }
    return bdf;
}

std::string device_dir(Guest& g)
{
    return "/sys/bus/pci/devices/" + edu_bdf(g) + "/";
}

// A decimal counter of the driver's sysfs folder: irq_count or dma_count.
unsigned long long counter(Guest& g, const std::string& name)
{
    return std::stoull(g.read(device_dir(g) + name));
}

bool bound(Guest& g)
{
    return exists(g, driver_dir + edu_bdf(g));
}

// n! modulo 2^32, as a 32-bit register holds it.
constexpr std::uint32_t factorial32(std::uint32_t n)
{
    std::uint32_t result = 1;
    for (std::uint32_t i = 2; i <= n; ++i)
        result *= i;
    return result;
}

// `count` bytes from a generator whose seed the test reports on failure.
std::string random_bytes(std::mt19937& random, std::size_t count)
{
    std::uniform_int_distribution<int> byte{0, 255};
    std::string bytes(count, '\0');
    for (auto& c : bytes)
        c = static_cast<char>(byte(random));
    return bytes;
}

std::mt19937 seeded_random()
{
    auto seed = std::random_device{}();
    UNSCOPED_INFO("random seed " << seed);
    return std::mt19937{seed};
}

// One pwrite of `bytes` at `offset` by the tool (its stdin is a file the
// test wrote).
CommandResult tool_write(Guest& g, unsigned long long offset, const std::string& bytes)
{
    g.write("/tmp/edu-in", bytes);
    return g.run(fmt::format("kms-edu-ctl write {} < /tmp/edu-in", offset));
}

// One pread by the tool; the bytes it printed, through a file so that
// binary output arrives unchanged.
std::string tool_read(Guest& g, unsigned long long offset, std::size_t length)
{
    auto read = g.run(fmt::format("kms-edu-ctl read {} {} > /tmp/edu-out", offset, length));
    INFO("kms-edu-ctl read " << offset << " " << length << ": " << read.err);
    REQUIRE(read.status == 0);
    return g.read("/tmp/edu-out");
}

// Where two byte strings first differ, for a readable failure.
std::string first_difference(const std::string& got, const std::string& expected)
{
    if (got == expected)
        return "identical";
    std::size_t i = 0;
    while (i < got.size() && i < expected.size() && got[i] == expected[i])
        ++i;
    if (i == got.size() || i == expected.size())
        return fmt::format("{} bytes where {} were expected", got.size(), expected.size());
    return fmt::format("byte {} is 0x{:02x} where 0x{:02x} was expected", i,
                       static_cast<unsigned char>(got[i]), static_cast<unsigned char>(expected[i]));
}

// The default state every test case starts from and leaves: kms_edu
// loaded with its default parameters and bound to the device. Restores it
// when a test stops half-way; a guest that died boots again anyway, and
// its coldplug loads the module.
void restore_default(Guest& g)
{
    if (is_loaded(g, "kms_edu") &&
        g.read("/sys/module/kms_edu/parameters/use_msi") != "Y\n")
        g.rmmod("kms_edu");
    if (!is_loaded(g, "kms_edu"))
        g.insmod("kms_edu");
    if (!bound(g))
        g.run("echo " + edu_bdf(g) + " > " + driver_dir + "bind");
}

class RestoreAtEnd {
public:
    explicit RestoreAtEnd(Guest& g) : guest_{g} {}
    RestoreAtEnd(const RestoreAtEnd&) = delete;
    RestoreAtEnd& operator=(const RestoreAtEnd&) = delete;
    ~RestoreAtEnd()
    {
        try {
            // A background process that holds the device open.
            if (!holder_.empty())
                guest_.run("kill " + holder_ + " 2>/dev/null; true");
            restore_default(guest_);
        } catch (...) {
            // The next test finds the state wrong and says so.
        }
    }
    void holder(std::string pid) { holder_ = std::move(pid); }

private:
    Guest& guest_;
    std::string holder_;
};

// The state the test cases start from, checked rather than assumed.
void require_default(Guest& g)
{
    REQUIRE(is_loaded(g, "kms_edu"));
    REQUIRE(bound(g));
    REQUIRE(g.read(device_dir(g) + "irq_mode") == "msi\n");
}

// The probe line the driver logs when it binds the device.
std::regex probe_line(Guest& g, std::string_view mode)
{
    return std::regex{fmt::format(R"(kms_edu {}: edu 1\.0, irq [0-9]+ \({}\), /dev/kms_edu)",
                                  std::regex_replace(edu_bdf(g), std::regex{R"(\.)"}, R"(\.)"),
                                  mode)};
}

std::size_t count_matches(const std::string& text, const std::regex& pattern)
{
    return static_cast<std::size_t>(
        std::distance(std::sregex_iterator{text.begin(), text.end(), pattern},
                      std::sregex_iterator{}));
}

// Factorials of 0..last, each by its own kms-edu-ctl, as n -> its output.
std::map<unsigned, std::string> factorials(Guest& g, unsigned last)
{
    auto run = g.run(fmt::format(
        "for n in $(seq 0 {}); do\n"
        "    r=$(kms-edu-ctl factorial $n) || {{ echo \"factorial $n failed\" >&2; exit 1; }}\n"
        "    echo \"$n $r\"\n"
        "done\n",
        last));
    INFO(run.err);
    REQUIRE(run.status == 0);
    std::map<unsigned, std::string> results;
    for (const auto& line : lines_of(run.out)) {
        auto space = line.find(' ');
        REQUIRE(space != std::string::npos);
        results[static_cast<unsigned>(std::stoul(line.substr(0, space)))] = line.substr(space + 1);
    }
    REQUIRE(results.size() == last + 1);
    return results;
}

// A request the driver must refuse with EINVAL: the tool exits 1 and
// prints the error. QEMU and the guest must live through it (QEMU 7.2
// would abort on an out-of-range transfer that reached the device).
void check_invalid(Guest& g, const std::string& command)
{
    INFO(command);
    CommandResult result;
    CHECK_NOTHROW(result = g.run(command));
    INFO("stdout: " << result.out << "\nstderr: " << result.err);
    // 1: a system call failed; 2 would be the tool refusing its arguments.
    CHECK(result.status == 1);
    CHECK_THAT(result.err, Contains("Invalid argument"));
}

// A line "key rest" of a command's output: rest, or "" when missing.
std::string field(const std::string& out, const std::string& key)
{
    for (const auto& line : lines_of(out))
        if (line.rfind(key + " ", 0) == 0)
            return line.substr(key.size() + 1);
    return {};
}

}  // namespace

TEST_CASE("the agent's coldplug loads kms_edu by its modalias at boot, and it binds the edu device",
          "[edu]")
{
    // What the boot did: the cases after it reload kms_edu, but each
    // leaves it loaded and bound as the boot did.
    auto& g = guest();
    auto bdf = edu_bdf(g);
    CHECK(is_loaded(g, "kms_edu"));

    // Why it was loaded: the device's modalias matches the module's alias,
    // and the boot pass asked modprobe about that modalias.
    auto modalias = trimmed(g.read(device_dir(g) + "modalias"));
    CHECK(modalias.rfind("pci:v00001234d000011E8", 0) == 0);
    auto aliases = g.run("modinfo -F alias kms_edu.ko");
    REQUIRE(aliases.status == 0);
    CHECK_THAT(aliases.out, Contains("pci:v00001234d000011E8sv*sd*bc*sc*i*"));
    CHECK_THAT(g.boot_stats().boot_pass_log,
               Contains("/sbin/modprobe -q pci:v00001234d000011E8"));

    // Bound: the driver lists the device, and the device names its driver.
    auto link = g.run("readlink -f " + driver_dir + bdf);
    REQUIRE(link.status == 0);
    CHECK(trimmed(link.out) == trimmed(g.run("readlink -f " + device_dir(g)).out));
    auto driver = g.run("readlink " + device_dir(g) + "driver");
    REQUIRE(driver.status == 0);
    CHECK(trimmed(driver.out).ends_with("/drivers/kms_edu"));
    // QEMU does not migrate the edu device's state: restored from a
    // snapshot, it comes up with its BARs reset, and binds only because
    // the agent put back the address the kernel had assigned.
    if (g.boot_stats().restored)
        CHECK_THAT(g.boot_stats().resume_log, Contains(bdf + ": BAR register 0x10 set to"));
    CHECK_HEALTHY(g);
}

TEST_CASE("the bound device shows its id, irq mode and counters in sysfs, a /dev/kms_edu node, "
          "and the probe line in dmesg",
          "[edu]")
{
    auto& g = guest();
    require_default(g);
    CHECK(g.read(device_dir(g) + "id") == "0x010000ed\n");
    // The same attributes through the driver's folder.
    CHECK(g.read(driver_dir + edu_bdf(g) + "/id") == "0x010000ed\n");
    CHECK(g.read(device_dir(g) + "irq_mode") == "msi\n");
    CHECK_NOTHROW(counter(g, "irq_count"));
    CHECK_NOTHROW(counter(g, "dma_count"));

    // A character device, child of the PCI device.
    CHECK(g.run("test -c " + device_node).status == 0);
    CHECK(exists(g, device_dir(g) + "misc/kms_edu"));
    // MSI as the kernel itself reports it, not the driver.
    auto msi = g.run("ls " + device_dir(g) + "msi_irqs");
    CHECK(msi.status == 0);
    CHECK_FALSE(trimmed(msi.out).empty());

    // Loaded again, it binds the device again and logs one probe line.
    RestoreAtEnd restore{g};
    REQUIRE(g.rmmod("kms_edu").ok());
    auto log = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_edu").ok()); });
    INFO(log);
    CHECK(count_matches(log, probe_line(g, "msi")) == 1);
    CHECK(bound(g));

    // The tool is staged and reads the same.
    auto info = g.run("kms-edu-ctl info");
    INFO(info.err);
    CHECK(info.status == 0);
    CHECK_THAT(info.out, Contains("0x010000ed"));
    CHECK_THAT(info.out, Contains("msi"));
    CHECK_HEALTHY(g);
}

TEST_CASE("liveness answers the bitwise inverse of every pattern, and raises no interrupt", "[edu]")
{
    auto& g = guest();
    require_default(g);
    std::vector<std::uint32_t> patterns{0x00000000, 0xffffffff, 0x12345678, 0x87654321,
                                        0xaaaaaaaa, 0x55555555, 0xdeadbeef, 0xcafef00d,
                                        0x0000ffff, 0xffff0000, 0x00ff00ff, 0xff00ff00,
                                        0x0f0f0f0f, 0xf0f0f0f0, 0x7fffffff, 0x80000001};
    for (unsigned bit = 0; bit < 32; ++bit)
        patterns.push_back(1U << bit);  // walking ones
    for (unsigned bit = 0; bit < 32; bit += 3)
        patterns.push_back(~(1U << bit));  // walking zeros
    // The same pattern twice in a row: the answer is computed each time,
    // not left over from the previous one.
    patterns.push_back(0x12345678);
    patterns.push_back(0x12345678);

    std::string values;
    for (auto pattern : patterns)
        values += fmt::format(" 0x{:08x}", pattern);
    auto irqs = counter(g, "irq_count");
    auto run = g.run("for v in" + values +
                     "; do\n"
                     "    r=$(kms-edu-ctl liveness $v) ||\n"
                     "        { echo \"liveness $v failed\" >&2; exit 1; }\n"
                     "    echo \"$v $r\"\n"
                     "done\n");
    INFO(run.err);
    REQUIRE(run.status == 0);
    auto answers = lines_of(run.out);
    REQUIRE(answers.size() == patterns.size());
    for (std::size_t i = 0; i < patterns.size(); ++i)
        CHECK(answers[i] == fmt::format("0x{:08x} 0x{:08x}", patterns[i], ~patterns[i]));
    // The device answers liveness from its register, with no interrupt.
    CHECK(counter(g, "irq_count") == irqs);
    CHECK_HEALTHY(g);
}

TEST_CASE("factorial: 0! to 12! exactly, the 32-bit wrap above 12, and n up to "
          "KMS_EDU_FACTORIAL_MAX; above it EINVAL",
          "[edu]")
{
    auto& g = guest();
    require_default(g);
    auto results = factorials(g, 20);
    // Written out up to 12!, where 32 bits still hold the true value.
    const std::vector<std::string> exact{"1",      "1",       "2",        "6",        "24",
                                         "120",    "720",     "5040",     "40320",    "362880",
                                         "3628800", "39916800", "479001600"};
    for (unsigned n = 0; n <= 12; ++n) {
        INFO("n = " << n);
        CHECK(results[n] == exact[n]);
    }
    // From 13 on, modulo 2^32, as the device's 32-bit register computes.
    static_assert(factorial32(13) == 1932053504U);
    for (unsigned n = 13; n <= 20; ++n) {
        INFO("n = " << n);
        CHECK(results[n] == std::to_string(factorial32(n)));
    }

    // The largest n the driver passes on, and one more that it refuses.
    auto largest = g.run(fmt::format("kms-edu-ctl factorial {}", KMS_EDU_FACTORIAL_MAX));
    INFO(largest.err);
    CHECK(largest.status == 0);
    CHECK(trimmed(largest.out) == std::to_string(factorial32(KMS_EDU_FACTORIAL_MAX)));
    check_invalid(g, fmt::format("kms-edu-ctl factorial {}", KMS_EDU_FACTORIAL_MAX + 1));
    check_invalid(g, "kms-edu-ctl factorial 4294967295");
    // Still answering after the refusals.
    CHECK(trimmed(g.run("kms-edu-ctl factorial 7").out) == "5040");
    CHECK_HEALTHY(g);
}

TEST_CASE("each factorial request raises exactly one interrupt, and so does each DMA transfer",
          "[edu]")
{
    auto& g = guest();
    require_default(g);
    auto irqs = counter(g, "irq_count");
    auto transfers = counter(g, "dma_count");
    factorials(g, 19);  // 20 requests
    CHECK(counter(g, "irq_count") == irqs + 20);
    CHECK(counter(g, "dma_count") == transfers);

    // One write and one read: two transfers.
    irqs = counter(g, "irq_count");
    REQUIRE(tool_write(g, 0, "kms_edu").status == 0);
    CHECK(tool_read(g, 0, 7) == "kms_edu");
    CHECK(counter(g, "irq_count") == irqs + 2);
    CHECK(counter(g, "dma_count") == transfers + 2);

    // A round trip is a write and a read, three times.
    irqs = counter(g, "irq_count");
    transfers = counter(g, "dma_count");
    auto trip = g.run("kms-edu-ctl dma-roundtrip --length 64 --repeat 3");
    INFO(trip.out << trip.err);
    REQUIRE(trip.status == 0);
    CHECK(counter(g, "irq_count") == irqs + 6);
    CHECK(counter(g, "dma_count") == transfers + 6);
    CHECK_HEALTHY(g);
}

TEST_CASE("DMA round trips: the largest transfer of random bytes, and small ones at odd offsets",
          "[edu]")
{
    auto& g = guest();
    require_default(g);
    struct Trip {
        std::string args;
        std::string expected;
    };
    const std::vector<Trip> trips{
        {"", "dma-roundtrip: 1/1 identical (4095 bytes at offset 0)"},
        {"--length 4095 --repeat 3 --seed 11",
         "dma-roundtrip: 3/3 identical (4095 bytes at offset 0)"},
        {"--offset 1 --length 3 --repeat 3", "dma-roundtrip: 3/3 identical (3 bytes at offset 1)"},
        {"--offset 1001 --length 17", "dma-roundtrip: 1/1 identical (17 bytes at offset 1001)"},
        {"--offset 4094 --length 1", "dma-roundtrip: 1/1 identical (1 bytes at offset 4094)"},
        {"--offset 0 --length 1", "dma-roundtrip: 1/1 identical (1 bytes at offset 0)"},
        {"--offset 2047 --length 2048", "dma-roundtrip: 1/1 identical (2048 bytes at offset 2047)"},
    };
    for (const auto& trip : trips) {
        auto run = g.run("kms-edu-ctl dma-roundtrip " + trip.args);
        INFO("kms-edu-ctl dma-roundtrip " << trip.args << "\n" << run.out << run.err);
        CHECK(run.status == 0);
        CHECK(trimmed(run.out) == trip.expected);
    }
    CHECK_HEALTHY(g);
}

TEST_CASE("bytes the test chose, written by one command, read back by another at the offsets "
          "asked, through kms-edu-ctl and through dd",
          "[edu]")
{
    auto& g = guest();
    require_default(g);
    auto random = seeded_random();

    // dd writes with write() at the file position (0): the tool reads.
    auto first = random_bytes(random, dma_max);
    g.write("/tmp/edu-first", first);
    auto dd_write = g.run(fmt::format(
        "dd if=/tmp/edu-first of={} bs={} count=1 conv=notrunc", device_node, dma_max));
    INFO(dd_write.err);
    REQUIRE(dd_write.status == 0);
    auto back = tool_read(g, 0, dma_max);
    CHECK(first_difference(back, first) == "identical");

    // The tool writes: dd reads with read() at position 0.
    auto buffer = random_bytes(random, dma_max);
    REQUIRE(tool_write(g, 0, buffer).status == 0);
    auto dd_read = g.run(
        fmt::format("dd if={} of=/tmp/edu-dd bs={} count=1", device_node, dma_max));
    INFO(dd_read.err);
    REQUIRE(dd_read.status == 0);
    CHECK(first_difference(g.read("/tmp/edu-dd"), buffer) == "identical");

    // Small writes land exactly where asked and nowhere else: the whole
    // buffer reads back as before with just those bytes replaced.
    const std::vector<std::pair<std::size_t, std::size_t>> pieces{
        {1, 3}, {1001, 17}, {4094, 1}, {0, 1}, {2048, 1000}, {4000, 95}};
    for (auto [offset, length] : pieces) {
        INFO("offset " << offset << ", length " << length);
        auto piece = random_bytes(random, length);
        auto wrote = tool_write(g, offset, piece);
        INFO(wrote.err);
        REQUIRE(wrote.status == 0);
        buffer.replace(offset, length, piece);
        CHECK(first_difference(tool_read(g, offset, length), piece) == "identical");
        CHECK(first_difference(tool_read(g, 0, dma_max), buffer) == "identical");
    }
    CHECK_HEALTHY(g);
}

TEST_CASE("bad DMA requests and factorials fail with EINVAL before they reach the device, "
          "and the guest and QEMU stay up",
          "[edu]")
{
    auto& g = guest();
    require_default(g);
    auto random = seeded_random();
    auto buffer = random_bytes(random, dma_max);
    REQUIRE(tool_write(g, 0, buffer).status == 0);
    auto irqs = counter(g, "irq_count");
    auto transfers = counter(g, "dma_count");

    // Reads.
    check_invalid(g, "kms-edu-ctl read 0 4096");
    check_invalid(g, "kms-edu-ctl read 0 0");
    check_invalid(g, "kms-edu-ctl read 4095 1");
    check_invalid(g, "kms-edu-ctl read 4000 200");
    check_invalid(g, "kms-edu-ctl read 4096 1");
    // Offsets that a driver doing its sums in 32 bits would wrap to 0 or 1.
    check_invalid(g, "kms-edu-ctl read 4294967295 2");
    check_invalid(g, "kms-edu-ctl read 4294967296 1");
    check_invalid(g, "kms-edu-ctl read 1099511627776 1");
    // The largest offset the VFS lets through (offset + length fits in loff_t).
    check_invalid(g, "kms-edu-ctl read 9223372036854775806 1");

    // Writes, each with bytes that would show if any of them landed.
    g.write("/tmp/edu-4096", std::string(4096, 'x'));
    g.write("/tmp/edu-200", std::string(200, 'x'));
    g.write("/tmp/edu-1", "x");
    check_invalid(g, "kms-edu-ctl write 0 < /tmp/edu-4096");
    check_invalid(g, "kms-edu-ctl write 0 < /dev/null");
    check_invalid(g, "kms-edu-ctl write 4095 < /tmp/edu-1");
    check_invalid(g, "kms-edu-ctl write 4000 < /tmp/edu-200");
    check_invalid(g, "kms-edu-ctl write 4294967296 < /tmp/edu-1");
    check_invalid(g, "kms-edu-ctl write 1099511627776 < /tmp/edu-1");

    // write() and read() at the file position, by dd, with 4096 bytes.
    auto dd_write = g.run("dd if=/dev/zero of=/dev/kms_edu bs=4096 count=1");
    CHECK(dd_write.status != 0);
    CHECK_THAT(dd_write.err, Contains("Invalid argument"));
    auto dd_read = g.run("dd if=/dev/kms_edu of=/dev/null bs=4096 count=1");
    CHECK(dd_read.status != 0);
    CHECK_THAT(dd_read.err, Contains("Invalid argument"));

    // None reached the device: no transfer, no interrupt, the buffer as it was.
    CHECK(g.run("echo alive").out == "alive\n");
    CHECK(counter(g, "dma_count") == transfers);
    CHECK(counter(g, "irq_count") == irqs);
    CHECK(first_difference(tool_read(g, 0, dma_max), buffer) == "identical");

    check_invalid(g, fmt::format("kms-edu-ctl factorial {}", KMS_EDU_FACTORIAL_MAX + 1));
    CHECK(trimmed(g.run("kms-edu-ctl factorial 10").out) == "3628800");
    CHECK_HEALTHY(g);
}

TEST_CASE("8 exercise and 8 dma-roundtrip processes at once all get right answers", "[edu][stress]")
{
    auto& g = guest();
    require_default(g);
    auto irqs = counter(g, "irq_count");
    auto transfers = counter(g, "dma_count");

    // Background jobs, each writing its output and its exit status to files;
    // the command waits for all of them. Each DMA transfer takes ~100 ms of
    // device time and they are serialised: 64 of them take 6.4 s at least.
    // The device has one buffer, shared by every open file, and a round
    // trip is two requests: another process's write between them would
    // change what it reads back, under any driver. So each round-tripping
    // process has its own part of the buffer, 8 x 511 bytes of the 4095,
    // and a transfer that lands outside its part spoils another's.
    constexpr std::size_t part = dma_max / 8;
    constexpr unsigned trips = 4;  // each, two transfers apiece
    auto run = g.run(fmt::format(
        "rm -rf /tmp/edu-jobs && mkdir /tmp/edu-jobs && cd /tmp/edu-jobs\n"
        "for i in 1 2 3 4 5 6 7 8; do\n"
        "    (kms-edu-ctl exercise --repeat 500 --seed $i > ex$i 2>&1; echo $? > ex$i.status) &\n"
        "    (kms-edu-ctl dma-roundtrip --offset $(((i - 1) * {0})) --length {0} --repeat {1} \\\n"
        "         --seed $((100 + i)) > dma$i 2>&1; echo $? > dma$i.status) &\n"
        "done\n"
        "wait\n"
        "for f in ex1 ex2 ex3 ex4 ex5 ex6 ex7 ex8 dma1 dma2 dma3 dma4 dma5 dma6 dma7 dma8; do\n"
        "    echo \"$f $(cat $f.status) $(cat $f | tr '\\n' ' ')\"\n"
        "done\n",
        part, trips),
        std::chrono::seconds(240));
    INFO(run.out << run.err);
    REQUIRE(run.status == 0);
    for (std::size_t i = 1; i <= 8; ++i) {
        auto exercise = field(run.out, fmt::format("ex{}", i));
        INFO("exercise --seed " << i << ": " << exercise);
        CHECK(exercise.rfind("0 ", 0) == 0);
        CHECK_THAT(exercise,
                   Contains("exercise: 500/500 factorials correct, 500/500 liveness correct"));
        auto trip = field(run.out, fmt::format("dma{}", i));
        INFO("dma-roundtrip --seed " << 100 + i << ": " << trip);
        CHECK(trip.rfind("0 ", 0) == 0);
        CHECK_THAT(trip, Contains(fmt::format(
                             "dma-roundtrip: {0}/{0} identical ({1} bytes at offset {2})", trips, part,
                             (i - 1) * part)));
    }
    // Every transfer completed, and every request's cause was counted, as
    // irq_count promises (one per factorial, one per transfer), also when
    // two causes were pending at once and one interrupt handled both: MSIs
    // coalesce. The kernel's own count of the vector's interrupts shows
    // how many arrived.
    INFO("/proc/interrupts: " << g.run("grep kms_edu /proc/interrupts").out);
    CHECK(counter(g, "dma_count") == transfers + 8ULL * trips * 2);
    CHECK(counter(g, "irq_count") >= irqs + 8ULL * 500 + 8ULL * trips * 2);
    CHECK_HEALTHY(g);
}

TEST_CASE("use_msi=0 makes the driver use legacy INTx, and factorials and DMA still work",
          "[edu]")
{
    auto& g = guest();
    RestoreAtEnd restore{g};
    require_default(g);
    CHECK(g.read("/sys/module/kms_edu/parameters/use_msi") == "Y\n");

    REQUIRE(g.rmmod("kms_edu").ok());
    auto loaded = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_edu", "use_msi=0").ok()); });
    INFO(loaded);
    CHECK(count_matches(loaded, probe_line(g, "intx")) == 1);
    CHECK(g.read("/sys/module/kms_edu/parameters/use_msi") == "N\n");
    CHECK(g.read(device_dir(g) + "irq_mode") == "intx\n");
    // The kernel's view: no MSI vector allocated for the device.
    auto msi = g.run("ls " + device_dir(g) + "msi_irqs 2>/dev/null");
    CHECK(trimmed(msi.out).empty());

    auto irqs = counter(g, "irq_count");
    auto transfers = counter(g, "dma_count");
    auto results = factorials(g, 12);
    for (unsigned n = 0; n <= 12; ++n) {
        INFO("n = " << n);
        CHECK(results[n] == std::to_string(factorial32(n)));
    }
    auto trip = g.run("kms-edu-ctl dma-roundtrip --repeat 3");
    INFO(trip.out << trip.err);
    CHECK(trip.status == 0);
    CHECK(trimmed(trip.out) == "dma-roundtrip: 3/3 identical (4095 bytes at offset 0)");
    // The line may be shared: only the interrupts this device raised count.
    CHECK(counter(g, "irq_count") == irqs + 13 + 6);
    CHECK(counter(g, "dma_count") == transfers + 6);
    CHECK_HEALTHY(g);

    // Back to the default: MSI again.
    REQUIRE(g.rmmod("kms_edu").ok());
    auto reloaded = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_edu").ok()); });
    INFO(reloaded);
    CHECK(count_matches(reloaded, probe_line(g, "msi")) == 1);
    CHECK(g.read(device_dir(g) + "irq_mode") == "msi\n");
    CHECK(trimmed(g.run("kms-edu-ctl factorial 12").out) == "479001600");
    CHECK_HEALTHY(g);
}

TEST_CASE("unbind through sysfs removes /dev/kms_edu, bind brings it back, again and again",
          "[edu]")
{
    auto& g = guest();
    RestoreAtEnd restore{g};
    require_default(g);
    const auto& bdf = edu_bdf(g);

    auto unbound = kernel_log_during(g, [&] {
        auto unbind = g.run("echo " + bdf + " > " + driver_dir + "unbind");
        INFO(unbind.err);
        REQUIRE(unbind.status == 0);
    });
    CHECK_FALSE(bound(g));
    CHECK_FALSE(exists(g, device_node));
    CHECK_FALSE(exists(g, device_dir(g) + "driver"));
    CHECK(is_loaded(g, "kms_edu"));  // unbinding leaves the module loaded
    auto orphan = g.run("kms-edu-ctl factorial 3");
    CHECK(orphan.status != 0);

    auto rebound = kernel_log_during(g, [&] {
        auto bind = g.run("echo " + bdf + " > " + driver_dir + "bind");
        INFO(bind.err);
        REQUIRE(bind.status == 0);
    });
    INFO(rebound);
    CHECK(count_matches(rebound, probe_line(g, "msi")) == 1);
    CHECK(bound(g));
    CHECK(g.run("test -c " + device_node).status == 0);
    CHECK(trimmed(g.run("kms-edu-ctl factorial 10").out) == "3628800");

    // Ten more rounds, each ending with a working device: what remove()
    // forgets to release (the MSI vector, the minor, the region) shows as a
    // failing probe on a later bind.
    auto rounds = g.run(fmt::format(
        "for i in $(seq 10); do\n"
        "    echo {0} > {1}unbind || exit 1\n"
        "    [ ! -e {2} ] || {{ echo \"round $i: {2} left after unbind\"; exit 1; }}\n"
        "    echo {0} > {1}bind || exit 1\n"
        "    [ \"$(kms-edu-ctl factorial 5)\" = 120 ] || {{ echo \"round $i: no 5!\"; exit 1; }}\n"
        "done\n",
        bdf, driver_dir, device_node));
    INFO(rounds.out << rounds.err);
    CHECK(rounds.status == 0);
    CHECK(bound(g));
    CHECK_HEALTHY(g);
}

TEST_CASE("unbind while a file is open: that file's later reads and writes fail with ENODEV, "
          "close is safe, and the device binds again",
          "[edu]")
{
    auto& g = guest();
    RestoreAtEnd restore{g};
    require_default(g);
    const auto& bdf = edu_bdf(g);

    // One shell holds fd 3 across the unbind; dd reads and writes through
    // that very file (its stdin or stdout is fd 3), not a new open.
    auto run = g.run(fmt::format(
        "exec 3<>{2}\n"
        "echo \"refcnt $(cat /sys/module/kms_edu/refcnt)\"\n"
        "echo {0} > {1}unbind\n"
        "echo \"unbind $?\"\n"
        "[ -e {2} ] && echo 'node present' || echo 'node gone'\n"
        "dd bs=1 count=1 <&3 >/dev/null 2>/tmp/edu-read.err\n"
        "echo \"read $? $(cat /tmp/edu-read.err | tr '\\n' ' ')\"\n"
        "printf x | dd bs=1 count=1 >&3 2>/tmp/edu-write.err\n"
        "echo \"write $? $(cat /tmp/edu-write.err | tr '\\n' ' ')\"\n"
        "exec 3>&-\n"
        "echo \"closed refcnt $(cat /sys/module/kms_edu/refcnt)\"\n",
        bdf, driver_dir, device_node));
    INFO(run.out << run.err);
    REQUIRE(run.status == 0);
    // The open file holds the module (fops.owner).
    CHECK(field(run.out, "refcnt") == "1");
    CHECK(field(run.out, "unbind") == "0");
    CHECK_THAT(run.out, Contains("node gone"));
    CHECK(field(run.out, "read").rfind("1 ", 0) == 0);
    CHECK_THAT(field(run.out, "read"), Contains("No such device"));
    CHECK(field(run.out, "write").rfind("1 ", 0) == 0);
    CHECK_THAT(field(run.out, "write"), Contains("No such device"));
    CHECK(field(run.out, "closed refcnt") == "0");
    CHECK_HEALTHY(g);

    auto bind = g.run("echo " + bdf + " > " + driver_dir + "bind");
    INFO(bind.err);
    REQUIRE(bind.status == 0);
    CHECK(g.run("test -c " + device_node).status == 0);
    CHECK(trimmed(g.run("kms-edu-ctl factorial 6").out) == "720");
    CHECK_HEALTHY(g);
}

TEST_CASE("unbind while a process is in the middle of requests: it fails with ENODEV, "
          "and nothing breaks",
          "[edu]")
{
    auto& g = guest();
    RestoreAtEnd restore{g};
    require_default(g);
    const auto& bdf = edu_bdf(g);

    // Once the process has the device open (its file holds the module),
    // and half a second into its long run of requests, the device is
    // unbound under it: it is waiting for a transfer's or a factorial's
    // interrupt, or about to ask again. `timeout` bounds a process the
    // driver never fails.
    for (std::string requests : {"dma-roundtrip --repeat 1000", "exercise --repeat 10000000"}) {
        INFO("kms-edu-ctl " << requests);
        CommandResult run;
        auto log = kernel_log_during(g, [&] { run = g.run(fmt::format(
            "timeout 60 kms-edu-ctl {3} > /tmp/edu-bg.out 2>&1 &\n"
            "pid=$!\n"
            "{4}"
            "sleep 0.5\n"
            "echo {0} > {1}unbind\n"
            "echo \"unbind $?\"\n"
            "wait $pid\n"
            "echo \"status $?\"\n"
            "echo \"output $(cat /tmp/edu-bg.out | tr '\\n' ' ')\"\n"
            "echo {0} > {1}bind\n"
            "echo \"bind $?\"\n",
            bdf, driver_dir, device_node, requests,
            wait_for_refcount_script("kms_edu", 1)),
            std::chrono::seconds(120)); });
        INFO(run.out << run.err);
        REQUIRE(run.status == 0);
        CHECK(field(run.out, "unbind") == "0");
        CHECK(field(run.out, "status") == "1");
        CHECK_THAT(field(run.out, "output"), Contains("No such device"));
        // Remove waited for the request in flight: it found the device idle.
        INFO(log);
        CHECK_THAT(log, !Contains("still running at removal"));
        CHECK_THAT(log, !Contains("no interrupt within"));
        CHECK(field(run.out, "bind") == "0");
        CHECK(trimmed(g.run("kms-edu-ctl factorial 4").out) == "24");
        CHECK_HEALTHY(g);
    }
}

TEST_CASE("rmmod while /dev/kms_edu is open fails in use, and succeeds once it is closed",
          "[edu]")
{
    auto& g = guest();
    RestoreAtEnd restore{g};
    require_default(g);

    // A process that sleeps with the device open, past this command.
    auto holder = hold_open(g, device_node, "kms_edu");
    restore.holder(holder);

    // kmod's checks first (the agent words them as kmod does), then the
    // kernel's own answer to delete_module, through busybox: EAGAIN.
    check_rmmod_refused_in_use(g, "kms_edu");
    CHECK(bound(g));
    CHECK_HEALTHY(g);

    auto closed = g.run("kill " + holder + "\n" + wait_for_refcount_script("kms_edu", 0));
    REQUIRE(closed.status == 0);
    REQUIRE(g.read("/sys/module/kms_edu/refcnt") == "0\n");
    REQUIRE(g.rmmod("kms_edu").ok());
    CHECK_FALSE(is_loaded(g, "kms_edu"));
    CHECK_FALSE(exists(g, device_node));
    CHECK_FALSE(exists(g, driver_dir));

    // Loaded again, it binds again.
    REQUIRE(g.insmod("kms_edu").ok());
    CHECK(bound(g));
    CHECK(trimmed(g.run("kms-edu-ctl factorial 8").out) == "40320");
    CHECK_HEALTHY(g);
}

TEST_CASE("100 load/unload cycles with the device present: each load binds it and it answers",
          "[edu][stress]")
{
    auto& g = guest();
    RestoreAtEnd restore{g};
    require_default(g);
    const auto& bdf = edu_bdf(g);
    REQUIRE(g.rmmod("kms_edu").ok());

    CommandResult cycles;
    auto log = kernel_log_during(g, [&] {
        cycles = g.run(fmt::format(
            "i=0\n"
            "while [ $i -lt 100 ]; do\n"
            "    i=$((i + 1))\n"
            "    insmod kms_edu.ko || {{ echo \"cycle $i: insmod failed\"; exit 1; }}\n"
            "    [ -c {2} ] || {{ echo \"cycle $i: no {2}\"; exit 1; }}\n"
            "    [ -e {1}{0} ] || {{ echo \"cycle $i: not bound\"; exit 1; }}\n"
            "    r=$(kms-edu-ctl factorial 5)\n"
            "    [ \"$r\" = 120 ] || {{ echo \"cycle $i: 5! is '$r'\"; exit 1; }}\n"
            "    rmmod kms_edu || {{ echo \"cycle $i: rmmod failed\"; exit 1; }}\n"
            "    [ ! -e {2} ] || {{ echo \"cycle $i: {2} left after rmmod\"; exit 1; }}\n"
            "done\n"
            "echo \"cycles $i\"\n",
            bdf, driver_dir, device_node),
            std::chrono::seconds(300));
    });
    INFO(cycles.out << cycles.err);
    CHECK(cycles.status == 0);
    CHECK(field(cycles.out, "cycles") == "100");
    // Each load probed the device once.
    CHECK(count_matches(log, probe_line(g, "msi")) == 100);
    CHECK_FALSE(is_loaded(g, "kms_edu"));
    CHECK_HEALTHY(g);

    REQUIRE(g.insmod("kms_edu").ok());
    CHECK(bound(g));
    CHECK_HEALTHY(g);
}
