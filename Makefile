# SPDX-License-Identifier: GPL-2.0
#
#   make            build every sample module with plain Kbuild, in place
#   make clean      remove what plain Kbuild built
#   make run        set up, build with CMake into build/, then tour the
#                   sample modules in a guest
#   make test       set up, build with CMake, run every test
#   make bench      set up, build with CMake, run the benchmarks (bench/README.md);
#                   STRESS=1 adds 200 consecutive boots with the other core busy,
#                   BENCH_ARGS passes options (e.g. BENCH_ARGS='-k 6.1 --runs 5')
#   make lint       checkpatch --strict, clang-format and sparse on the modules'
#                   C, clang-tidy on the C++ (configures build-lint/)
#   make sanitize   build the SDK with ASan and UBSan into build-sanitize/, run
#                   the unit tests and the `commands` guest suite on 6.12
#   make fuzz       build the wire protocol's fuzzer with clang into build-fuzz/
#                   and run it for FUZZ_RUNS inputs (at most FUZZ_SECONDS)
#
# KDIR picks the kernel for plain Kbuild: the running kernel's headers when
# installed, else the newest kernel in the kmsdk cache.
#
# KMSDK_KERNEL_SERIES picks the kernels that run, build and test use:
# series or specs as `kmsdk kernels fetch` takes them, fetched when missing.
# make test KMSDK_KERNEL_SERIES="6.1 6.12 6.12-rt 7.3" widens the matrix.

KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(addsuffix /build,$(shell scripts/kernels.sh path 2>/dev/null)))
# A kernel of another Debian release (7.x) builds in its build root.
TOOLCHAIN := $(CURDIR)/sdk/cmake/kmsdk-toolchain.sh
BUILD_DIR := build
MAKEFLAGS += --no-print-directory
KMSDK_KERNEL_SERIES ?= 6.1 6.12
empty :=
space := $(empty) $(empty)

.PHONY: modules clean run test bench fuzz setup configure build kernels lint sanitize

modules:
ifeq ($(strip $(KDIR)),)
	$(error no kernel headers: run 'scripts/setup.sh' to fetch kernels into the cache, or pass KDIR=/path/to/kernel/build)
endif
	$(TOOLCHAIN) $(KDIR) $(MAKE) -C $(KDIR) M=$(CURDIR) modules
	$(TOOLCHAIN) $(KDIR) $(MAKE) -C $(KDIR) M=$(CURDIR)/kmodules/kms_proprietary KBUILD_MODPOST_WARN=1 modules

# Kbuild's clean deletes objects anywhere below M=, build/ included, so
# each module folder is cleaned on its own.
clean:
ifneq ($(strip $(KDIR)),)
	$(foreach dir,$(wildcard kmodules/*/),$(TOOLCHAIN) $(KDIR) $(MAKE) -C $(KDIR) M=$(CURDIR)/$(dir) clean;)
	rm -f Module.symvers modules.order .Module.symvers.cmd .modules.order.cmd \
		.module-common.o ..module-common.o.cmd
endif

setup:
	@scripts/setup.sh $(KMSDK_KERNEL_SERIES)

configure: setup
	@cmake --preset default -DKMSDK_KERNELS="$(subst $(space),;,$(strip $(KMSDK_KERNEL_SERIES)))" >/dev/null

build: configure
	@cmake --build --preset default

run: build
	@$(BUILD_DIR)/bin/kmsdk tour --modules-dir $(BUILD_DIR)/modules

# The workflow's configure step keeps the KMSDK_KERNELS set just before.
test: configure
	@cmake --workflow --preset default

STRESS ?= 0
STRESS_BOOTS ?= 200
bench: build
	@$(BUILD_DIR)/bin/kmsdk_bench $(BENCH_ARGS)
ifneq ($(filter-out 0,$(STRESS)),)
	@$(BUILD_DIR)/bin/kmsdk_bench stress --boots $(STRESS_BOOTS)
endif

# The sanitize preset's workflow: configure, build the unit tests and one
# guest suite, run them (CMakePresets.json).
sanitize: setup
	@cmake --workflow --preset sanitize

# The fuzz preset builds the protocol alone; setup brings clang and libFuzzer.
FUZZ_RUNS ?= 1000000
FUZZ_SECONDS ?= 600
fuzz: setup
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz
	@FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh build-fuzz

kernels:
	@scripts/kernels.sh list

# checkpatch --strict, clang-format and sparse on every module's C, and
# clang-tidy on the C++. Its compile commands come from a tree configured
# for them alone: build/compile_commands.json lists the modules' Kbuild
# commands, not the C++'s.
LINT_DIR := build-lint
lint: setup
	@cmake --preset default -B $(LINT_DIR) -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
		-DKMSDK_KERNELS="$(subst $(space),;,$(strip $(KMSDK_KERNEL_SERIES)))" >/dev/null
	@sdk/cmake/kmsdk-lint.sh --compile-commands $(LINT_DIR)/compile_commands.json \
		kmodules tests/kmodules sdk tests bench
	@# A lab's skeleton and solution build modules of the same names: apart.
	@sdk/cmake/kmsdk-lint.sh $(wildcard labs/*/skeleton)
	@sdk/cmake/kmsdk-lint.sh $(wildcard labs/*/solution)
