#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs the protocol fuzzer that the "fuzz" preset built, and fails unless
# it got through FUZZ_RUNS inputs (default 1000000) without a crash, a leak,
# undefined behaviour or a hang, within FUZZ_SECONDS (default 600). What it
# writes (the corpus it grows, the inputs that failed, its log) stays in
# the build folder, out of the source tree.
#
#   tests/fuzz/run.sh [BUILD_DIR]       BUILD_DIR defaults to build-fuzz
set -euo pipefail

build=${1:-build-fuzz}
runs=${FUZZ_RUNS:-1000000}
seconds=${FUZZ_SECONDS:-600}
fuzzer=$build/bin/kmsdk_protocol_fuzz
seeds=$build/tests/fuzz/seeds
work=$build/fuzz
log=$work/protocol_fuzz.log

if [[ ! -x $fuzzer || ! -d $seeds ]]; then
	echo "fuzz: no fuzzer in $build: cmake --preset fuzz && cmake --build --preset fuzz" >&2
	exit 1
fi
mkdir -p "$work/corpus" "$work/artifacts"

echo "fuzz: $fuzzer for $runs inputs (at most ${seconds}s), seeds $seeds, log $log"
status=0
# The first folder gets what the fuzzer finds, so the next run starts from it.
"$fuzzer" -runs="$runs" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
	-artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" >"$log" 2>&1 || status=$?

final_stat() { sed -n "s/^stat::$1: *//p" "$log"; }
executed=$(final_stat number_of_executed_units)
if ((status != 0)); then
	tail -n 40 "$log" >&2
	echo "FAIL: the fuzzer failed (exit $status); the input is in $work/artifacts/," \
		"replay it with $fuzzer FILE" >&2
	exit 1
fi
if [[ -z $executed ]] || ((executed < runs)); then
	echo "FAIL: the fuzzer ran ${executed:-no} inputs of $runs in ${seconds}s" >&2
	exit 1
fi
elapsed=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
echo "fuzz: $executed inputs in ${elapsed}s ($(final_stat average_exec_per_sec) exec/s), no failure;" \
	"$(final_stat new_units_added) new in the corpus; random seed $(sed -n 's/^INFO: Seed: //p' "$log")"
