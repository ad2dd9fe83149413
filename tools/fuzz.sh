#!/usr/bin/env bash
# make fuzz: builds every libFuzzer target of test/fuzz/ (tools/fuzz.mk, into
# tmp_check/fuzz/) and runs each in turn for FUZZ_SECONDS (default 60).
#
#   seeds     test/fuzz/corpus/<name>/        committed, read only
#   corpus    tmp_check/fuzz/corpus/<name>/   what the fuzzer learnt, kept between runs
#   findings  tmp_check/fuzz/findings/<name>/ crash-*, leak-*, timeout-*, oom-* reproducers
#
# <name> is the target's file name without _fuzz.c.  FUZZ_TARGETS (a glob of
# names, default *) picks targets.  Prints TAP: one "ok" per target that ran
# clean, "not ok" with the reproducer's path for a finding; exits non-zero on
# any finding or build failure.  Reproduce a finding with
#   tmp_check/fuzz/<name>_fuzz <reproducer>
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-60}
out=${FUZZ_DIR:-$root/tmp_check/fuzz}
filter=${FUZZ_TARGETS:-*}
mkdir -p "$out"

if ! make -s -C "$root" -f tools/fuzz.mk -j"${FUZZ_JOBS:-2}" FUZZ_DIR="$out" >"$out/build.log" 2>&1; then
	echo "1..1"
	echo "not ok 1 - the fuzz targets build (log: $out/build.log)"
	grep -E 'error|undefined' "$out/build.log" | head -20 | sed 's/^/# /'
	exit 1
fi

targets=()
for src in "$root"/test/fuzz/${filter}_fuzz.c; do
	[ -e "$src" ] && targets+=("$(basename "$src" _fuzz.c)")
done
echo "1..${#targets[@]}"

n=0
failed=0
for name in "${targets[@]}"; do
	n=$((n + 1))
	seeds=$root/test/fuzz/corpus/$name
	corpus=$out/corpus/$name
	findings=$out/findings/$name
	log=$out/$name.log
	mkdir -p "$corpus" "$findings"
	[ -d "$seeds" ] || seeds=
	if [ ! -x "$out/${name}_fuzz" ]; then
		failed=$((failed + 1))
		echo "not ok $n - $name: not built (log: $out/build.log)"
		continue
	fi
	"$out/${name}_fuzz" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$findings/" "$corpus" ${seeds:+"$seeds"} >"$log" 2>&1
	status=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ "$status" -eq 0 ]; then
		echo "ok $n - $name: ${runs:-0} inputs in ${seconds}s, no finding"
	else
		failed=$((failed + 1))
		unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		echo "not ok $n - $name: finding, reproducer ${unit:-none written} (log: $log)"
		grep -E 'ERROR|SUMMARY|runtime error|^#[0-9]+ ' "$log" | head -12 | sed 's/^/# /'
	fi
done
[ "$failed" -eq 0 ]
