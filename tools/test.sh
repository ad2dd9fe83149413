#!/usr/bin/env bash
# make test: every suite against a private installation, as an unprivileged user.
#   1. pg_regress (sql/, expected/)   deterministic outputs
#   2. pgTAP via pg_prove (test/pgtap/) contracts, tenant isolation, errors
#   3. TAP via prove (test/t/)          workers, crashes, restarts, peers
#   0. kernels (test/kernels/)          backend-free C (codecs, crypto, parsers) on their own
#   0. fuzz (test/fuzz/)                each libFuzzer target for WIB_FUZZ_SECONDS (default 3)
# WIB_SUITES picks suites; WIB_TAP and WIB_PGTAP are globs of test/t/ and
# test/pgtap/ file names without their extension (WIB_TAP='07*').
# Ends with one line "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
source "$(dirname "$0")/common.sh"

# The run user must be able to read the tree; a checkout under /root is not.
if [ "$(id -u)" -eq 0 ] && ! runuser -u "$WIB_RUN_USER" -- test -r "$WIB_ROOT/tools/test.sh"; then
	copy=$(mktemp -d /tmp/wib-test.XXXXXX)
	cp -a "$WIB_ROOT/." "$copy/"
	chmod 755 "$copy"
	echo "wib: $WIB_ROOT is not readable by $WIB_RUN_USER; testing a copy in $copy"
	"$copy/tools/test.sh" "$@"
	status=$?
	[ "$status" -eq 0 ] && rm -rf "$copy"	# kept on failure, for its logs
	exit "$status"
fi

suite_filter=${WIB_SUITES:-kernels fuzz regress pgtap tap}
passed=0
failed=0

# What a reader needs from a TAP log: each file, its failures and diagnostics,
# the summary.  Passing assertions, plans and the rows a suite's own SQL
# prints stay in the log file.
show_tap() {
	grep -E '^[[:space:]]*(not ok [0-9]+|#)|^/.*\.(sql|pl) \.+|^(All tests|Files=|Result|Failed|Test Summary|Dubious)|\(Wstat' "$1"
}

# Adds the ok / not ok lines of TAP output to the totals; a run that failed
# without a failing assertion (a crash, a bad plan) counts as one failure.
count_tap() {
	local log=$1 status=$2 ok notok
	ok=$(grep -cE '^[[:space:]]*ok [0-9]+' "$log")
	notok=$(grep -E '^[[:space:]]*not ok [0-9]+' "$log" | grep -vc '# TODO')
	if [ "$status" -ne 0 ] && [ "$notok" -eq 0 ]; then
		notok=1
	fi
	passed=$((passed + ok))
	failed=$((failed + notok))
}

# The backend-free kernels: the C files that include no PostgreSQL header,
# each compiled once (two at a time) into an archive that each test program
# of test/kernels/ is linked against.
if [[ " $suite_filter " == *" kernels "* ]]; then
	echo "== kernels"
	kdir=$TMP_CHECK/kernels
	rm -rf "$kdir" && mkdir -p "$kdir/obj"
	kflags=(-std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
		-Wno-sign-compare -I src)
	mapfile -t kernel_srcs < <(cd "$WIB_ROOT" && grep -L '#include "postgres.h"' $(find src -name '*.c' | sort))
	kobjs=()
	for src in "${kernel_srcs[@]}"; do
		obj=$kdir/obj/$(echo "${src#src/}" | tr / _).o
		kobjs+=("$obj")
		(cd "$WIB_ROOT" && cc "${kflags[@]}" -c "$src" -o "$obj") >"$obj.log" 2>&1 &
		[ "$(jobs -rp | wc -l)" -ge 2 ] && wait -n
	done
	wait
	cat "$kdir"/obj/*.log >"$kdir/kernels.build.log"
	ar rcs "$kdir/libkernels.a" "${kobjs[@]}" >>"$kdir/kernels.build.log" 2>&1
	for t in "$WIB_ROOT"/test/kernels/*_test.c; do
		[ -e "$t" ] || continue
		name=$(basename "$t" .c)
		if (cd "$WIB_ROOT" && cc "${kflags[@]}" -o "$kdir/$name" "$t" "$kdir/libkernels.a" \
			-lcurl -lcrypto -lm) >"$kdir/$name.build.log" 2>&1; then
			"$kdir/$name" >"$kdir/$name.log" 2>&1
			status=$?
		else
			cat "$kdir/kernels.build.log" "$kdir/$name.build.log" >"$kdir/$name.log"
			status=1
		fi
		grep -vE '^(ok [0-9]+|1\.\.[0-9]+$)' "$kdir/$name.log" | sed "s/^/$name: /"
		count_tap "$kdir/$name.log" "$status"
	done
fi

# A smoke pass of every fuzz target (make fuzz runs them longer): one "ok"
# per target that ran clean, a "not ok" naming the reproducer of a finding.
if [[ " $suite_filter " == *" fuzz "* ]]; then
	echo "== fuzz"
	log=$TMP_CHECK/fuzz.log
	mkdir -p "$TMP_CHECK"
	FUZZ_SECONDS=${WIB_FUZZ_SECONDS:-3} FUZZ_DIR=$TMP_CHECK/fuzz "$WIB_ROOT/tools/fuzz.sh" >"$log" 2>&1
	status=$?
	grep -vE '^(ok [0-9]+|1\.\.[0-9]+$)' "$log"
	count_tap "$log" "$status"
fi

start_throwaway_cluster wib_tap "cron.database_name = 'wib_tap'" || exit 1
port=$PGPORT

if [[ " $suite_filter " == *" regress "* ]]; then
	echo "== pg_regress"
	out=$TMP_CHECK/regress
	scratch_dir "$out"
	tests=$(cd "$WIB_ROOT/sql" && ls [0-9]*.sql 2>/dev/null | sed 's/\.sql$//')
	as_runner "$PG_REGRESS" --host=127.0.0.1 --port="$port" --user=postgres \
		--dbname=wib_regress --load-extension=wib \
		--inputdir="$WIB_ROOT" --outputdir="$out" --bindir="$PG_BINDIR" $tests 2>&1 | tee "$out/summary.log"
	status=${PIPESTATUS[0]}
	ok=$(grep -cE '^test .* \.\.\. ok' "$out/summary.log")
	bad=$(grep -cE '\.\.\. FAILED' "$out/summary.log")
	[ "$status" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
	passed=$((passed + ok))
	failed=$((failed + bad))
	[ -s "$out/regression.diffs" ] && cat "$out/regression.diffs"
fi

if [[ " $suite_filter " == *" pgtap "* ]]; then
	echo "== pgTAP"
	as_runner "$PG_BINDIR/psql" -X -q -d wib_tap -v ON_ERROR_STOP=1 \
		-c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION wib' -c 'CREATE EXTENSION pg_cron' >/dev/null
	log=$TMP_CHECK/pgtap.log
	as_runner pg_prove -v -h 127.0.0.1 -p "$port" -U postgres -d wib_tap "$WIB_ROOT"/test/pgtap/${WIB_PGTAP:-*}.sql >"$log" 2>&1
	status=$?
	show_tap "$log"
	count_tap "$log" "$status"
fi

if [[ " $suite_filter " == *" tap "* ]]; then
	echo "== TAP"
	log=$TMP_CHECK/tap.log
	rm -rf "$TMP_CHECK/tap" && scratch_dir "$TMP_CHECK/tap"
	(cd "$TMP_CHECK/tap" && as_runner env TESTDIR="$TMP_CHECK/tap" PG_TEST_PORT_DIR=/tmp PG_REGRESS="$PG_REGRESS" \
		PERL5LIB="$PG_PERL_LIB:$WIB_ROOT/test/t" WIB_ROOT="$WIB_ROOT" \
		prove -v $(ls "$WIB_ROOT"/test/t/${WIB_TAP:-*}.pl)) >"$log" 2>&1
	status=$?
	show_tap "$log"
	count_tap "$log" "$status"
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
