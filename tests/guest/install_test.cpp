// SPDX-License-Identifier: GPL-2.0
// Where modules live and how modprobe finds them, as the notes tell it, in
// a real guest with kmod's own tools:
//   - `make modules_install INSTALL_MOD_PATH=<root>` puts a module under
//     <root>/lib/modules/<release>/ (extra/ on 6.1, updates/ from 6.12),
//     `depmod -b <root>` indexes it there, and the guest's modprobe loads
//     it by name from that root (-d) and, once copied in, from its own;
//   - modprobe looks only under /lib/modules/$(uname -r): a module
//     elsewhere is not found by name, though insmod of its path works;
//   - every modprobe.d folder is read, and for one file name /etc wins
//     over /run, /run over /lib; the notes' "option" is not a command;
//   - modules.order decides which of two modules that claim one alias
//     modprobe tries first;
//   - `find / -name '*.ko*'` lists exactly what the guest was given.
#include "guest_suite.hpp"
#include "host_command.hpp"
#include "temp_dir.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

// Two modules of the kernel that claim the alias crypto-blowfish, on
// every Debian kernel since 6.1: the x86 assembler one and the C one.
const std::string shared_alias = "crypto-blowfish";
const std::string alias_module_asm = "blowfish_x86_64";
const std::string alias_module_c = "blowfish_generic";

Guest& guest()
{
    return suite_guest([] {
        return with_built_modules({"kms_params"})
            .kernel_module(alias_module_asm)
            .kernel_module(alias_module_c);
    });
}

std::string modules_dir(Guest& g)
{
    return "/lib/modules/" + g.release();
}

// The folder modules_install puts an external module in: the kernel's
// INSTALL_MOD_DIR default, which 6.1 has as extra and later kernels as
// updates (scripts/Makefile.modinst).
std::string install_dir_of(const Kernel& kernel)
{
    return kernel.series() == "6.1" ? "extra" : "updates";
}

// `make -C <kdir> M=<copy of kms_hello> modules modules_install
// INSTALL_MOD_PATH=<root>` on the host, with the kernel's own toolchain
// (its build root, for a kernel of another Debian release).
void install_kms_hello(const fs::path& work, const fs::path& root)
{
    auto source = work / "kms_hello";
    fs::copy(fs::path{KMSDK_SOURCE_DIR} / "kmodules" / "kms_hello", source);
    fs::remove(source / "CMakeLists.txt");
    auto kdir = test_kernel().build_dir().string();
    detail::output_of({KMSDK_TOOLCHAIN_SCRIPT, kdir, "make", "-s", "-C", kdir,
                       "M=" + source.string(), "modules", "modules_install",
                       "INSTALL_MOD_PATH=" + root.string()},
                      std::chrono::minutes{5});
}

// Removes the module the test installed in the guest's own tree (path_,
// with any compression suffix) and /stage, and indexes the tree again,
// also when an assertion stopped the test early. extra/ on 6.1 holds the
// suite's own staged modules too: only the one file goes.
class InstalledAtEnd {
public:
    InstalledAtEnd(Guest& g, std::string path) : guest_{g}, path_{std::move(path)} {}
    InstalledAtEnd(const InstalledAtEnd&) = delete;
    InstalledAtEnd& operator=(const InstalledAtEnd&) = delete;
    ~InstalledAtEnd()
    {
        try {
            guest_.run("rmmod kms_hello 2>/dev/null; rm -rf /stage " + path_ + "* && depmod -a");
        } catch (...) {
            // A guest that died boots again without it.
        }
    }

private:
    Guest& guest_;
    std::string path_;
};

}  // namespace

TEST_CASE("modules_install and depmod -b make a root from which modprobe loads kms_hello by name",
          "[install]")
{
    auto& g = guest();
    const auto& kernel = test_kernel();
    detail::TempDir work{"kmsdk-install"};
    auto root = work.path() / "root";
    install_kms_hello(work.path(), root);

    // A kernel that compresses its modules has modules_install compress
    // this one too (CONFIG_MODULE_COMPRESS_ALL): 6.12 and 7.3 with xz.
    auto file = kernel.config_enabled("MODULE_COMPRESS_XZ") ? "kms_hello.ko.xz" : "kms_hello.ko";
    auto relative = "lib/modules/" + kernel.release() + "/" + install_dir_of(kernel) + "/" + file;
    REQUIRE(fs::is_regular_file(root / relative));
    // depmod -b: the root's own modules.dep, relative to it.
    detail::output_of({"depmod", "-b", root.string(), kernel.release()});
    std::ifstream dep{root / "lib/modules" / kernel.release() / "modules.dep"};
    std::string first;
    std::getline(dep, first);
    CHECK(first == install_dir_of(kernel) + "/" + file + ":");

    // The root, as a package would carry it, in the guest at /stage.
    for (const auto& entry : fs::recursive_directory_iterator{root})
        if (entry.is_regular_file())
            g.push(entry.path(), "/stage/" + fs::relative(entry.path(), root).string());
    UnloadAtEnd unload{g, "kms_hello"};
    InstalledAtEnd uninstall{g, modules_dir(g) + "/" + install_dir_of(kernel) + "/kms_hello.ko"};

    // Not installed yet: modprobe searches /lib/modules/$(uname -r) only.
    auto missing = g.run("modprobe kms_hello");
    CHECK(missing.status == 1);
    CHECK(missing.err == "modprobe: FATAL: Module kms_hello not found in directory " +
                             modules_dir(g) + "\n");
    auto from_root = kernel_log_during(g, [&] { REQUIRE(g.run("modprobe -d /stage kms_hello").ok()); });
    CHECK_THAT(from_root, Contains("kms_hello: hello, world"));
    REQUIRE(g.run("modprobe -r -d /stage kms_hello").ok());
    CHECK_FALSE(is_loaded(g, "kms_hello"));

    // Installed for real: copied into the guest's tree and indexed there.
    REQUIRE(g.run(fmt::format("cp -r /stage/lib/modules/{0}/{1} /lib/modules/{0}/ && depmod -a",
                              kernel.release(), install_dir_of(kernel)))
                .ok());
    CHECK(trimmed(g.run("modinfo -n kms_hello").out) == "/" + relative);
    REQUIRE(g.run("modprobe kms_hello").ok());
    CHECK(is_loaded(g, "kms_hello"));
    REQUIRE(g.run("modprobe -r kms_hello").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("modprobe does not find a module outside /lib/modules/$(uname -r); insmod of its path "
          "loads it",
          "[install]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_hello"};
    g.push(built_module("kms_hello"), "/tmp/kms_hello.ko");
    auto by_name = g.run("cd /tmp && modprobe kms_hello");
    CHECK(by_name.status == 1);
    CHECK(by_name.err == "modprobe: FATAL: Module kms_hello not found in directory " +
                             modules_dir(g) + "\n");
    // Not even by path: modprobe takes a name, and finds none called that.
    CHECK(g.run("modprobe /tmp/kms_hello.ko").status != 0);
    REQUIRE(g.run("insmod /tmp/kms_hello.ko").ok());
    CHECK(is_loaded(g, "kms_hello"));
    REQUIRE(g.run("rmmod kms_hello && rm /tmp/kms_hello.ko").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("modprobe reads /etc, /run, /lib and /usr/lib modprobe.d; for one file name /etc wins, "
          "then /run, then /lib",
          "[install]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_params"};
    const std::vector<std::string> folders = {"/etc/modprobe.d", "/run/modprobe.d",
                                              "/lib/modprobe.d", "/usr/lib/modprobe.d"};
    auto clean = [&] {
        for (const auto& folder : folders)
            g.run("rm -f " + folder + "/kms-*.conf");
    };
    clean();
    auto param = [&](const std::string& name) {
        return trimmed(g.read("/sys/module/kms_params/parameters/" + name));
    };

    // Debian's merged /usr makes the last two one folder, as on the host.
    CHECK(trimmed(g.run("readlink -f /usr/lib/modprobe.d").out) == "/lib/modprobe.d");
    // A file of its own in each folder: all four are read.
    g.write("/etc/modprobe.d/kms-a.conf", "options kms_params number=11\n");
    g.write("/run/modprobe.d/kms-b.conf", "options kms_params small=22\n");
    g.write("/lib/modprobe.d/kms-c.conf", "options kms_params mask=33\n");
    g.write("/usr/lib/modprobe.d/kms-d.conf", "options kms_params word=usr\n");
    REQUIRE(g.run("modprobe kms_params").ok());
    CHECK(param("number") == "11");
    CHECK(param("small") == "22");
    CHECK(param("mask") == "33");
    CHECK(param("word") == "usr");
    REQUIRE(g.run("modprobe -r kms_params").ok());
    clean();

    // One file name in three folders: only the first folder's is read.
    g.write("/etc/modprobe.d/kms-same.conf", "options kms_params number=1\n");
    g.write("/run/modprobe.d/kms-same.conf", "options kms_params number=2\n");
    g.write("/lib/modprobe.d/kms-same.conf", "options kms_params number=3\n");
    const std::vector<std::pair<std::string, std::string>> winners = {
        {"/etc/modprobe.d", "1"}, {"/run/modprobe.d", "2"}, {"/lib/modprobe.d", "3"}};
    for (const auto& [folder, number] : winners) {
        INFO(folder << "/kms-same.conf should win");
        CHECK_THAT(g.run("modprobe -c").out, Contains("options kms_params number=" + number));
        REQUIRE(g.run("modprobe kms_params").ok());
        CHECK(param("number") == number);
        REQUIRE(g.run("modprobe -r kms_params").ok());
        g.run("rm " + folder + "/kms-same.conf");
    }
    clean();
    CHECK_HEALTHY(g);
}

TEST_CASE("the notes' `option kms_params ...` is a bad line: modprobe says so and ignores it",
          "[install]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_params"};
    g.write("/etc/modprobe.d/kms-typo.conf", "option kms_params number=5\n");
    auto loaded = g.run("modprobe kms_params");
    g.run("rm /etc/modprobe.d/kms-typo.conf");
    REQUIRE(loaded.ok());
    CHECK_THAT(loaded.err, Contains("/etc/modprobe.d/kms-typo.conf line 1: ignoring bad line "
                                    "starting with 'option'"));
    // The module loaded with its default.
    CHECK(trimmed(g.read("/sys/module/kms_params/parameters/number")) == "42");
    REQUIRE(g.run("modprobe -r kms_params").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("of two modules that claim one alias, modprobe tries first the one modules.order "
          "lists first",
          "[install]")
{
    auto& g = guest();
    auto dir = modules_dir(g);
    auto order = g.read(dir + "/modules.order");
    auto position = [&](const std::string& text, const std::string& file) {
        auto at = text.find(file);
        REQUIRE(at != std::string::npos);
        return at;
    };
    // The kernel's build lists arch/x86 before crypto/.
    REQUIRE(position(order, "/blowfish-x86_64.ko") < position(order, "/blowfish_generic.ko"));
    CHECK(g.run("modprobe -R " + shared_alias).out ==
          alias_module_asm + "\n" + alias_module_c + "\n");

    // The C one first in modules.order, and depmod again: it comes first.
    std::string swapped;
    std::string asm_line;
    for (const auto& line : lines_with(order, ".ko")) {
        if (line.find("/blowfish-x86_64.ko") != std::string::npos)
            asm_line = line;
        else
            swapped += line + "\n";
        if (line.find("/blowfish_generic.ko") != std::string::npos)
            swapped += asm_line + "\n";
    }
    REQUIRE_FALSE(asm_line.empty());
    g.write(dir + "/modules.order", swapped);
    auto resolved = g.run("depmod -a && modprobe -R " + shared_alias);
    g.write(dir + "/modules.order", order);
    REQUIRE(g.run("depmod -a").ok());
    CHECK(resolved.out == alias_module_c + "\n" + alias_module_asm + "\n");
    CHECK(g.run("modprobe -R " + shared_alias).out ==
          alias_module_asm + "\n" + alias_module_c + "\n");
    CHECK_HEALTHY(g);
}

TEST_CASE("find / -name '*.ko*' lists the modules the guest was given, and only those",
          "[install]")
{
    auto& g = guest();
    auto found = g.run("find / -name '*.ko*' 2>/dev/null | sort");
    auto files = lines_with(found.out, ".ko");
    auto dir = modules_dir(g);
    // kms_params, and the two blowfish modules with the one they share...
    for (const auto& module :
         {"/extra/kms_params.ko", "/kernel/arch/x86/crypto/blowfish-x86_64.ko",
          "/kernel/crypto/blowfish_common.ko", "/kernel/crypto/blowfish_generic.ko"})
        CHECK(std::find(files.begin(), files.end(), dir + module) != files.end());
    // ...with what the guest itself needs of the kernel's modules (6.1
    // builds virtio as modules), all in the running kernel's tree, and all
    // known to depmod, which indexed that tree at boot.
    auto dep = g.read(dir + "/modules.dep");
    for (const auto& file : files) {
        INFO(file);
        REQUIRE(file.starts_with(dir + "/"));
        CHECK_THAT(dep, Contains(file.substr(dir.size() + 1) + ":"));
    }
    CHECK(lines_with(dep, ".ko:").size() == files.size());
    auto kernel_files = std::count_if(files.begin(), files.end(), [&](const std::string& file) {
        return file.starts_with(dir + "/kernel/");
    });
    CHECK(trimmed(g.run("cd " + dir + "/kernel && find . -name '*.ko*' | wc -l").out) ==
          std::to_string(kernel_files));
    // Debian's package of the kernel has thousands: the guest takes only
    // what its modules need.
    std::size_t packaged = 0;
    for (const auto& entry : fs::recursive_directory_iterator{test_kernel().modules_dir()})
        if (entry.is_regular_file() && entry.path().string().find(".ko") != std::string::npos)
            ++packaged;
    INFO(packaged << " modules in Debian's package of " << g.release());
    CHECK(packaged > 1000);
}
