#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# What new guest suites cost: the guest suites of one kernel with and
# without the named ones, alternating, in one invocation (the machines are
# noisy), as ctest runs them in CI (-j2, warm). Prints each run's wall time
# and sum of the suites' own times, the medians and the difference, and the
# named suites' own times (medians over the rounds): the part of the
# growth that the noise of the other suites does not blur. Each named suite
# starts one guest; beyond that start, its time is its own commands.
#
# Usage: bench/suite_growth.sh BUILD_DIR KERNEL_SPEC ROUNDS SUITE...
#   bench/suite_growth.sh build 6.12 3 chardev sysfs procfs debugfs deferred locking unwind install
set -euo pipefail

build=$1 spec=$2 rounds=$3
shift 3
(($# > 0)) || { echo "usage: $0 BUILD_DIR KERNEL_SPEC ROUNDS SUITE..." >&2; exit 2; }
new=$(IFS='|'; echo "$*")
scratch=$(mktemp -d "${TMPDIR:-/tmp}/kmsdk-suite-growth-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# run NAME EXCLUDE: one ctest of the kernel's warm guest suites; prints
# "<wall s> <sum s> <suites>".
run() {
	local log=$scratch/$1.log started ended
	started=$(date +%s.%N)
	ctest --test-dir "$build" -L guest -L "kernel:$spec\$" -LE "$2" -j2 >"$log" 2>&1 ||
		{ tail -n 20 "$log" >&2; echo "ctest failed ($1)" >&2; exit 1; }
	ended=$(date +%s.%N)
	awk -v wall="$(awk -v a="$started" -v b="$ended" 'BEGIN { print b - a }')" '
		/Test +#[0-9]+: / { for (i = 1; i <= NF; i++) if ($i == "sec") sum += $(i - 1); n++ }
		END { printf "%.1f %.1f %d\n", wall, sum, n }' "$log"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: >"$scratch/without" >"$scratch/with"
for ((round = 1; round <= rounds; round++)); do
	read -r wall sum n < <(run "without-$round" "cold|suite:($new)\$")
	echo "round $round without: $n suites, wall $wall s, sum $sum s"
	echo "$wall $sum" >>"$scratch/without"
	read -r wall sum n < <(run "with-$round" "cold")
	echo "round $round with:    $n suites, wall $wall s, sum $sum s"
	echo "$wall $sum" >>"$scratch/with"
	# "9/29 Test #171: guest_sysfs_6.12 .....   Passed    2.72 sec"
	awk -v spec="$spec" -v new="^guest_($new)_" '
		/Test +#[0-9]+: / { name = $4; sub("_" spec "$", "", name)
			if ($4 ~ new && $4 ~ "_" spec "$") for (i = 1; i <= NF; i++) if ($i == "sec") print name, $(i - 1) }' \
		"$scratch/with-$round.log" >>"$scratch/named"
done
wall_a=$(cut -d' ' -f1 "$scratch/without" | median) sum_a=$(cut -d' ' -f2 "$scratch/without" | median)
wall_b=$(cut -d' ' -f1 "$scratch/with" | median) sum_b=$(cut -d' ' -f2 "$scratch/with" | median)
echo "median without $*: wall $wall_a s, sum $sum_a s"
echo "median with them:  wall $wall_b s, sum $sum_b s"
total=0
for suite in "$@"; do
	t=$(awk -v s="guest_$suite" '$1 == s { print $2 }' "$scratch/named" | median)
	echo "  guest_${suite}_$spec: median $t s"
	total=$(awk -v a="$total" -v b="$t" 'BEGIN { print a + b }')
done
echo "the named suites' own times add up to $total s"
awk -v wa="$wall_a" -v wb="$wall_b" -v sa="$sum_a" -v sb="$sum_b" 'BEGIN {
	printf "growth: wall %+.1f s (%.2fx), sum of suites %+.1f s (%.2fx)\n", wb - wa, wb / wa, sb - sa, sb / sa }'
