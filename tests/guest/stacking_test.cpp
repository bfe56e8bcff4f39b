// SPDX-License-Identifier: GPL-2.0
// Modules stacked on modules, in a real kernel: kms_consumer calls what
// kms_core exports (one function in a symbol namespace), kms_checksum calls
// libcrc32c of the kernel's own tree where the kernel has that module.
// What insmod and modprobe do about dependencies, what lsmod's "Used by",
// /proc/modules and /proc/kallsyms show, why a module in use cannot be
// removed (not even by rmmod -f while another module holds it), what
// EXPORT_SYMBOL_GPL refuses a proprietary module, and what rmmod -f of a
// module held only by an open file leaves behind (taint R).
#include "guest_suite.hpp"

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <optional>
#include <sstream>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] {
        return with_built_modules(
            {"kms_core", "kms_consumer", "kms_proprietary", "kms_checksum", "kms_refheld"});
    });
}

// /proc/sys/kernel/tainted, a mask of TAINT_* bits.
constexpr unsigned long taint_proprietary_module = 1UL << 0;  // P
constexpr unsigned long taint_forced_rmmod = 1UL << 3;        // R

unsigned long taint_mask(Guest& g)
{
    return std::stoul(g.read("/proc/sys/kernel/tainted"));
}

// One line of /proc/kallsyms: "ffffffffc020e000 T kms_core_add\t[kms_core]".
struct KernelSymbol {
    std::string type;
    std::string name;
};

// The symbols /proc/kallsyms lists for `module` (its lines tagged [module]).
std::vector<KernelSymbol> kallsyms_of(Guest& g, std::string_view module)
{
    auto grep = g.run("grep -F '[" + std::string{module} + "]' /proc/kallsyms");
    // grep exits 1 when nothing matched, 2 on an error.
    REQUIRE(grep.status <= 1);
    std::vector<KernelSymbol> symbols;
    for (const auto& line : lines_with(grep.out, "[" + std::string{module} + "]")) {
        auto fields = words(line);
        if (fields.size() == 4 && fields[3] == "[" + std::string{module} + "]")
            symbols.push_back({fields[1], fields[2]});
    }
    return symbols;
}

std::optional<KernelSymbol> find_symbol(const std::vector<KernelSymbol>& symbols,
                                        std::string_view name)
{
    for (const auto& symbol : symbols)
        if (symbol.name == name)
            return symbol;
    return std::nullopt;
}

// Boots the guest again at the end of a test that leaves what no rmmod
// undoes (a taint, a module unloaded under an open file), also when an
// assertion stopped the test early.
class RebootAtEnd {
public:
    explicit RebootAtEnd(Guest& g) : guest_{g} {}
    RebootAtEnd(const RebootAtEnd&) = delete;
    RebootAtEnd& operator=(const RebootAtEnd&) = delete;
    ~RebootAtEnd()
    {
        if (!done_) {
            try {
                guest_.reboot();
            } catch (...) {
                // The next test boots it when it finds it down.
            }
        }
    }
    void now()
    {
        done_ = true;
        guest_.reboot();
    }

private:
    Guest& guest_;
    bool done_ = false;
};

}  // namespace

TEST_CASE("insmod loads no dependency: kms_consumer alone fails with Unknown symbol",
          "[stacking]")
{
    auto& g = guest();
    REQUIRE_FALSE(is_loaded(g, "kms_core"));

    CommandResult insmod;
    auto log = kernel_log_during(g, [&] { insmod = g.run("insmod kms_consumer.ko"); });
    CHECK(insmod.status != 0);
    CHECK(insmod.err ==
          "insmod: ERROR: could not insert module kms_consumer.ko: Unknown symbol in module\n");
    // The kernel names each symbol it could not resolve, with -ENOENT.
    CHECK_THAT(log, Contains("kms_consumer: Unknown symbol kms_core_add (err -2)"));
    CHECK_THAT(log, Contains("kms_consumer: Unknown symbol kms_core_gpl_mul (err -2)"));

    // finit_module from the agent: the same errno, worded as kmod's insmod.
    auto helper = g.insmod("kms_consumer");
    CHECK(helper.error == ENOENT);
    CHECK_THAT(helper.message, Contains("Unknown symbol in module"));

    CHECK_FALSE(is_loaded(g, "kms_consumer"));
    CHECK_FALSE(is_loaded(g, "kms_core"));
    CHECK_HEALTHY(g);
}

TEST_CASE("modprobe loads kms_core first, and lsmod lists kms_consumer in its Used by",
          "[stacking]")
{
    auto& g = guest();
    // depmod at the boot pass turned depends=kms_core into this line.
    auto dep = g.read("/lib/modules/" + g.release() + "/modules.dep");
    CHECK_THAT(dep, Contains("extra/kms_consumer.ko: extra/kms_core.ko\n"));

    CommandResult modprobe;
    auto log = kernel_log_during(g, [&] { modprobe = g.modprobe("kms_consumer"); });
    REQUIRE(modprobe.ok());
    auto core_loaded =
        log.find("kms_core: loaded, exporting kms_core_add, kms_core_gpl_mul and kms_core_sub");
    auto add_called = log.find("kms_consumer: kms_core_add(2, 3) = 5");
    auto mul_called = log.find("kms_consumer: kms_core_gpl_mul(6, 7) = 42");
    auto sub_called = log.find("kms_consumer: kms_core_sub(9, 4) = 5");
    REQUIRE(core_loaded != std::string::npos);
    REQUIRE(add_called != std::string::npos);
    REQUIRE(mul_called != std::string::npos);
    REQUIRE(sub_called != std::string::npos);
    CHECK(core_loaded < add_called);
    CHECK(add_called < mul_called);
    CHECK(mul_called < sub_called);

    // lsmod: Module Size Used-by-count Used-by-list.
    auto lsmod = g.run("lsmod").out;
    auto core = words(line_of(lsmod, "kms_core"));
    REQUIRE(core.size() == 4);
    CHECK(core[2] == "1");
    CHECK(core[3] == "kms_consumer");
    auto consumer = words(line_of(lsmod, "kms_consumer"));
    REQUIRE(consumer.size() == 3);
    CHECK(consumer[2] == "0");

    // /proc/modules: name size refcount deps state address taints.
    auto proc = words(line_of(g.read("/proc/modules"), "kms_core"));
    REQUIRE(proc.size() >= 5);
    CHECK(proc[2] == "1");
    CHECK(proc[3] == "kms_consumer,");
    CHECK(proc[4] == "Live");

    REQUIRE(g.modprobe("-r kms_consumer").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("kms_consumer imports kms_core's symbol namespace, as the kernel requires of a caller "
          "of kms_core_sub",
          "[stacking]")
{
    auto& g = guest();
    // MODULE_IMPORT_NS() writes the namespace into .modinfo; the kernel
    // refuses to resolve a namespaced symbol for a module without it.
    auto import_ns = g.run("modinfo -F import_ns kms_consumer.ko");
    REQUIRE(import_ns.status == 0);
    CHECK(import_ns.out == "KMS_CORE\n");
    auto none = g.run("modinfo -F import_ns kms_core.ko");
    REQUIRE(none.status == 0);
    CHECK(none.out.empty());
}

TEST_CASE("kms_core cannot be removed while kms_consumer uses it; top-down removal works",
          "[stacking]")
{
    auto& g = guest();
    REQUIRE(g.modprobe("kms_consumer").ok());

    check_rmmod_refused_in_use(g, "kms_core", "kms_consumer");
    CHECK(is_loaded(g, "kms_consumer"));

    auto log = kernel_log_during(g, [&] {
        REQUIRE(g.run("rmmod kms_consumer").status == 0);
        REQUIRE(g.run("rmmod kms_core").status == 0);
    });
    auto consumer_gone = log.find("kms_consumer: unloaded");
    auto core_gone = log.find("kms_core: unloaded");
    REQUIRE(consumer_gone != std::string::npos);
    REQUIRE(core_gone != std::string::npos);
    CHECK(consumer_gone < core_gone);
    CHECK_FALSE(is_loaded(g, "kms_consumer"));
    CHECK_FALSE(is_loaded(g, "kms_core"));
    CHECK_HEALTHY(g);
}

TEST_CASE("modprobe -r removes kms_consumer, then kms_core that it no longer needs",
          "[stacking]")
{
    auto& g = guest();
    REQUIRE(g.modprobe("kms_consumer").ok());
    REQUIRE(is_loaded(g, "kms_core"));

    CommandResult removal;
    auto log = kernel_log_during(g, [&] { removal = g.modprobe("-r kms_consumer"); });
    REQUIRE(removal.ok());
    auto consumer_gone = log.find("kms_consumer: unloaded");
    auto core_gone = log.find("kms_core: unloaded");
    REQUIRE(consumer_gone != std::string::npos);
    REQUIRE(core_gone != std::string::npos);
    CHECK(consumer_gone < core_gone);

    auto modules = g.read("/proc/modules");
    CHECK(line_of(modules, "kms_consumer").empty());
    CHECK(line_of(modules, "kms_core").empty());
    CHECK_HEALTHY(g);
}

TEST_CASE("/proc/kallsyms lists kms_core's exported functions while it is loaded, and not after",
          "[stacking]")
{
    auto& g = guest();
    REQUIRE(kallsyms_of(g, "kms_core").empty());
    REQUIRE(g.insmod("kms_core").ok());

    auto symbols = kallsyms_of(g, "kms_core");
    auto add = find_symbol(symbols, "kms_core_add");
    auto mul = find_symbol(symbols, "kms_core_gpl_mul");
    REQUIRE(add);
    REQUIRE(mul);
    // Text. A module's symbol is printed in capitals only when it is in the
    // module's EXPORT_SYMBOL table: the kernel does not look in the GPL-only
    // one, so 6.1 and 6.12 both print "T kms_core_add" but "t kms_core_gpl_mul".
    CHECK(add->type == "T");
    CHECK((mul->type == "t" || mul->type == "T"));
    // The export table entries EXPORT_SYMBOL(_GPL) and EXPORT_SYMBOL_NS_GPL
    // made, and the CRCs that only CONFIG_MODVERSIONS adds (Debian's 7.x
    // kernels have none).
    CHECK(find_symbol(symbols, "__ksymtab_kms_core_add"));
    CHECK(find_symbol(symbols, "__ksymtab_kms_core_gpl_mul"));
    CHECK(find_symbol(symbols, "__ksymtab_kms_core_sub"));
    INFO("CONFIG_MODVERSIONS=" << test_kernel().config_value("MODVERSIONS"));
    CHECK(find_symbol(symbols, "__crc_kms_core_add").has_value() ==
          test_kernel().config_enabled("MODVERSIONS"));

    REQUIRE(g.rmmod("kms_core").ok());
    CHECK(kallsyms_of(g, "kms_core").empty());
    CHECK_HEALTHY(g);
}

TEST_CASE("a proprietary module is refused the GPL-only symbol, and taints the kernel P anyway",
          "[stacking]")
{
    auto& g = guest();
    RebootAtEnd reboot{g};
    // The license line below is printed only when P is first set.
    REQUIRE((taint_mask(g) & taint_proprietary_module) == 0);
    REQUIRE(g.insmod("kms_core").ok());
    CHECK_HEALTHY(g);  // kms_core's own taints (O, E) are not this test's subject

    CommandResult insmod;
    auto first = kernel_log_during(g, [&] { insmod = g.run("insmod kms_proprietary.ko"); });
    CHECK(insmod.status != 0);
    CHECK(insmod.err ==
          "insmod: ERROR: could not insert module kms_proprietary.ko: Unknown symbol in module\n");
    // The license is read first, and taints; then the GPL-only symbol is
    // not resolved for a module that is not GPL-compatible.
    CHECK_THAT(first, Contains("kms_proprietary: module license 'Proprietary' taints kernel."));
    CHECK_THAT(first, Contains("kms_proprietary: Unknown symbol kms_core_gpl_mul (err -2)"));
    CHECK_FALSE(is_loaded(g, "kms_proprietary"));

    auto health = g.health();
    CHECK_THAT(health.new_taints, Contains("P"));
    CHECK(health.problems.empty());
    CHECK((taint_mask(g) & taint_proprietary_module) != 0);

    // Again: refused the same way, and the kernel, tainted already, does not
    // say so twice.
    ModuleResult again;
    auto second = kernel_log_during(g, [&] { again = g.insmod("kms_proprietary"); });
    CHECK(again.error == ENOENT);
    CHECK_THAT(again.message, Contains("Unknown symbol in module"));
    CHECK_THAT(second, Contains("kms_proprietary: Unknown symbol kms_core_gpl_mul (err -2)"));
    CHECK_THAT(second, !Contains("taints kernel"));

    // Unloading everything does not clear P: only a new boot does.
    REQUIRE(g.rmmod("kms_core").ok());
    CHECK((taint_mask(g) & taint_proprietary_module) != 0);
    reboot.now();
    CHECK((taint_mask(g) & taint_proprietary_module) == 0);
}

TEST_CASE("rmmod -f does not remove a module that another module holds", "[stacking]")
{
    auto& g = guest();
    REQUIRE(g.modprobe("kms_consumer").ok());
    CHECK_HEALTHY(g);

    // Force skips the reference count, never the list of holders.
    auto forced = g.rmmod("kms_core", true);
    CHECK(forced.error == EAGAIN);
    CHECK_THAT(forced.message, Contains("Resource temporarily unavailable"));
    // kmod's rmmod -f asks the kernel, and says what it answered.
    auto rmmod = g.run("rmmod -f kms_core");
    CHECK(rmmod.status != 0);
    CHECK_THAT(rmmod.err,
               Contains("rmmod: ERROR: could not remove module kms_core: Resource temporarily "
                        "unavailable"));
    CHECK(is_loaded(g, "kms_core"));
    CHECK(is_loaded(g, "kms_consumer"));
    // Refused before anything was forced: no taint R.
    CHECK((taint_mask(g) & taint_forced_rmmod) == 0);

    REQUIRE(g.modprobe("-r kms_consumer").ok());
    CHECK_FALSE(is_loaded(g, "kms_core"));
    CHECK_HEALTHY(g);
}

TEST_CASE("an open file holds kms_refheld: rmmod fails, rmmod -f unloads it and taints R",
          "[stacking]")
{
    auto& g = guest();
    RebootAtEnd reboot{g};
    REQUIRE((taint_mask(g) & taint_forced_rmmod) == 0);
    auto loaded = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_refheld").ok()); });
    CHECK_THAT(loaded, Contains("kms_refheld: loaded; an open /dev/kms_refheld holds the module"));
    auto opened = kernel_log_during(g, [&] { hold_open(g, "/dev/kms_refheld", "kms_refheld"); });
    CHECK_THAT(opened, Contains("kms_refheld: opened, module refcount 1"));

    // Used by a file, not a module: a count and no names.
    auto lsmod = words(line_of(g.run("lsmod").out, "kms_refheld"));
    REQUIRE(lsmod.size() == 3);
    CHECK(lsmod[2] == "1");

    check_rmmod_refused_in_use(g, "kms_refheld");
    REQUIRE(is_loaded(g, "kms_refheld"));
    // A bystander, to see where the taint is recorded.
    REQUIRE(g.insmod("kms_core").ok());
    CHECK_HEALTHY(g);

    SECTION("the agent's forced delete_module")
    {
        auto forced = kernel_log_during(g, [&] { REQUIRE(g.rmmod("kms_refheld", true).ok()); });
        CHECK_THAT(forced, Contains("kms_refheld: unloaded"));
    }
    SECTION("rmmod -f")
    {
        auto forced = kernel_log_during(g, [&] { REQUIRE(g.run("rmmod -f kms_refheld").ok()); });
        CHECK_THAT(forced, Contains("kms_refheld: unloaded"));
    }

    // Gone, though the file is still open in the sleeping process.
    CHECK(g.run("pidof sleep").status == 0);
    CHECK(line_of(g.read("/proc/modules"), "kms_refheld").empty());
    CHECK(g.run("test -e /sys/module/kms_refheld").status != 0);
    CHECK(g.run("test -e /dev/kms_refheld").status != 0);
    // The kernel records that it was forced (R), and nothing went wrong yet:
    // no Oops, as long as nobody closes that file. The guest boots again
    // before anyone does.
    auto health = g.health();
    CHECK_THAT(health.new_taints, Contains("R"));
    CHECK(health.problems.empty());
    CHECK((taint_mask(g) & taint_forced_rmmod) != 0);
    // R is the kernel's: the taints /proc/modules shows per module are
    // those of its own load.
    auto core = words(line_of(g.read("/proc/modules"), "kms_core"));
    REQUIRE_FALSE(core.empty());
    CHECK(core.back() == "(OE)");
    reboot.now();
    CHECK((taint_mask(g) & taint_forced_rmmod) == 0);
}

// Up to 6.13 Debian builds libcrc32c as a module (CONFIG_LIBCRC32C=m) and
// kms_checksum depends on it; from 6.14 the kernel image exports crc32c()
// and kms_checksum depends on nothing. The kernel's configuration says
// which of the two this kernel is, and the guest shows it.
TEST_CASE("kms_checksum needs libcrc32c where the kernel builds it as a module, and no module "
          "where the kernel image exports crc32c()",
          "[stacking]")
{
    auto& g = guest();
    auto before = g.loaded_modules();
    const bool crc32c_in_a_module = test_kernel().config_value("LIBCRC32C") == "m";
    INFO("CONFIG_LIBCRC32C=" << test_kernel().config_value("LIBCRC32C"));
    auto dep = g.read("/lib/modules/" + g.release() + "/modules.dep");
    auto depends = g.run("modinfo -F depends kms_checksum.ko");
    REQUIRE(depends.status == 0);
    // CRC-32C's published check value for "123456789".
    const std::string loaded = "kms_checksum: crc32c(\"123456789\") = 0xe3069283, crc32c() from ";

    if (!crc32c_in_a_module) {
        CHECK(test_kernel().config_value("CRC32") == "y");
        CHECK_THAT(dep, Contains("extra/kms_checksum.ko:\n"));
        CHECK(depends.out == "\n");
        // Nothing to load first: insmod alone is enough.
        auto log = kernel_log_during(g, [&] { REQUIRE(g.run("insmod kms_checksum.ko").status == 0); });
        CHECK_THAT(log, Contains(loaded + "the kernel image"));
        CHECK(g.loaded_modules().size() == before.size() + 1);
        REQUIRE(g.run("rmmod kms_checksum").status == 0);
        CHECK_HEALTHY(g);
        return;
    }

    REQUIRE_FALSE(is_loaded(g, "libcrc32c"));
    CHECK_THAT(dep, Contains("extra/kms_checksum.ko: kernel/lib/libcrc32c.ko\n"));
    CHECK(depends.out == "libcrc32c\n");

    // insmod loads no dependency, here neither.
    auto plain = kernel_log_during(g, [&] {
        auto insmod = g.run("insmod kms_checksum.ko");
        CHECK(insmod.status != 0);
        CHECK(insmod.err ==
              "insmod: ERROR: could not insert module kms_checksum.ko: Unknown symbol in module\n");
    });
    CHECK_THAT(plain, Contains("kms_checksum: Unknown symbol crc32c (err -2)"));

    CommandResult modprobe;
    auto log = kernel_log_during(g, [&] { modprobe = g.modprobe("kms_checksum"); });
    REQUIRE(modprobe.ok());
    CHECK_THAT(log, Contains(loaded + "libcrc32c"));
    auto lib = words(line_of(g.run("lsmod").out, "libcrc32c"));
    REQUIRE(lib.size() == 4);
    CHECK(lib[2] == "1");
    CHECK(lib[3] == "kms_checksum");

    auto removed = kernel_log_during(g, [&] { REQUIRE(g.modprobe("-r kms_checksum").ok()); });
    CHECK_THAT(removed, Contains("kms_checksum: unloaded"));
    CHECK_FALSE(is_loaded(g, "kms_checksum"));
    CHECK_FALSE(is_loaded(g, "libcrc32c"));
    // What libcrc32c asked the crypto API for (crc32c_generic, through the
    // kernel's own request_module) is not in modules.dep, so modprobe -r
    // leaves it, unused.
    unload_new_modules(g, before);
    CHECK_HEALTHY(g);
}
