#!/usr/bin/env bash
# The vault and tokens against a throwaway cluster, under each key source:
#   1. no configuration: the key ring generated in the data directory;
#   2. wib.key_file: refused when group/world readable or foreign-owned, used at 0600;
#   3. rotation: a second key in the file; old values still open, new ones use it;
#   4. wib.keys: the same suite, and the key text never reaches the server log;
#   5. a malformed wib.keys at start is refused rather than replaced by the generated key.
# crypto_regress.sql runs (as pg_regress would) in 1, 2 and 4 against crypto_regress.out.
# Prints "ok"/"not ok" lines and exits non-zero on any failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tools/common.sh"

failed=0
n=0
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}

install_private || exit 1
export PATH=$PG_BINDIR:$PATH
work=$TMP_CHECK/crypto
data=$work/data
keys=$work/keys				# outside the data directory
rm -rf "$work"
scratch_dir "$work"
mkdir -p "$keys" && chown "$WIB_RUN_USER" "$keys" && chmod 700 "$keys"
port=$(free_port)
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=crypto
trap 'cluster_stop "$data"' EXIT

q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# Sets the key settings through an included file and reloads; waits until a new session sees them.
set_keys_conf() {
	printf '%s\n' "$@" >"$data/crypto_keys.conf"
	chown "$WIB_RUN_USER" "$data/crypto_keys.conf"
	q -d postgres -c 'SELECT pg_reload_conf()' >/dev/null
	sleep 1
}

# Runs the regression script as pg_regress does and compares with the expected output.
run_regress() {
	local name=$1
	psql -X -a -q -d crypto <"$here/crypto_regress.sql" >"$work/$name.out" 2>&1
	diff -u "$here/crypto_regress.out" "$work/$name.out" >"$work/$name.diff"
	ok $? "crypto_regress under $name"
	[ -s "$work/$name.diff" ] && head -40 "$work/$name.diff"
}

# A key file of the given ids (fixed test keys), owned by the server's user, with mode.
K1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
K2=//79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA=
K3=ERERERERERERERERERERERERERERERERERERERERERE=

cluster_start "$data" "$port" "wib.database_name = 'crypto'
include_if_exists = 'crypto_keys.conf'" || exit 1
q -d postgres -c 'CREATE DATABASE crypto'
q -c 'CREATE EXTENSION wib'
sed 's|MODULE_PATHNAME|$libdir/wib|' "$here/crypto.sql" | q >/dev/null
ok $? "crypto.sql loads after CREATE EXTENSION wib"

# 1. The generated key ring.
run_regress generated
mode=$(stat -c '%a %U' "$data/wib_keys" 2>/dev/null)
[ "$mode" = "600 $WIB_RUN_USER" ]
ok $? "wib_keys was generated in the data directory, mode 0600, owned by the server's user ($mode)"
[ "$(grep -c 'wib generated its key ring in the data directory' "$data.log")" = 1 ]
ok $? "its generation was logged once, with the advice to move it"
[ "$(grep -vc '^#' "$data/wib_keys")" = 1 ] && grep -q '^1 ' "$data/wib_keys"
ok $? "it holds one key, id 1"
q -c "CREATE TABLE kept AS SELECT wib.vault_seal('generated-secret', NULL, 't.c', '1') AS c,
	wib.token_sign('export-download', 'tok-1', now() + interval '1 day') AS t"

# 2. wib.key_file: 0644 refused, foreign owner refused, 0600 used.
printf '# test keys\n1 %s\n' "$K1" >"$keys/ring"
chown "$WIB_RUN_USER" "$keys/ring" && chmod 644 "$keys/ring"
set_keys_conf "wib.key_file = '$keys/ring'"
err=$(q -c "SELECT wib.vault_seal('x', NULL, 't.c', '1')" 2>&1)
echo "$err" | grep -q 'key file ".*/ring" has group or world access' &&
	echo "$err" | grep -q 'Its permissions are 0644; they must be 0600 or stricter' &&
	q -c "SELECT 1" >/dev/null
ok $? "a 0644 key file is refused, naming the problem: $(echo "$err" | head -1)"
err=$(q -v VERBOSITY=verbose -c "SELECT wib.vault_seal('x', NULL, 't.c', '1')" 2>&1)
echo "$err" | grep -q 'ERROR:  F0000: key file'
ok $? "the refusal is SQLSTATE F0000 (config_file_error)"
err=$(q -c "SELECT wib.vault_open(c, NULL, 't.c', '1') FROM kept" 2>&1)
echo "$err" | grep -q 'has group or world access'
ok $? "a refused key file is not replaced by the generated key (opening fails too)"
chown root:"$WIB_RUN_USER" "$keys/ring" && chmod 640 "$keys/ring"	# readable, but not the server's
err=$(q -c "SELECT wib.vault_seal('x', NULL, 't.c', '1')" 2>&1)
echo "$err" | grep -q 'is not owned by the database server.s operating system user'
ok $? "a key file owned by another user is refused: $(echo "$err" | head -1)"
chown "$WIB_RUN_USER" "$keys/ring" && chmod 600 "$keys/ring"
run_regress key_file_0600
[ "$(q -c "SELECT wib.vault_current_key_id()")" = 1 ]
ok $? "the 0600 key file is the ring (current key 1)"
err=$(q -c "SELECT wib.vault_open(c, NULL, 't.c', '1') FROM kept" 2>&1)
echo "$err" | grep -q 'could not open the sealed value of "t.c"' && ! echo "$err" | grep -q 'generated-secret'
ok $? "a value sealed under another key 1 does not open, and the error names the context only"

# 3. Rotation: key 2 added to the file (no reload needed: the file is watched), old values still open.
q -c "CREATE TABLE old AS SELECT wib.vault_seal('rotated-secret', 'a0000000-0000-4000-8000-000000000001', 't.c', '7') AS c,
	wib.token_sign('qr-login', 'old-token', now() + interval '1 day') AS t"
printf '1 %s\n2 %s\n' "$K1" "$K2" >"$keys/ring.new"
chown "$WIB_RUN_USER" "$keys/ring.new" && chmod 600 "$keys/ring.new" && mv "$keys/ring.new" "$keys/ring"
res=$(q -c "SELECT wib.vault_current_key_id(), wib.vault_key_id(c), wib.vault_needs_rotation(c),
	wib.vault_open(c, 'a0000000-0000-4000-8000-000000000001', 't.c', '7'),
	wib.vault_key_id(wib.vault_seal('new', NULL, 't.c', '8')),
	wib.token_verify('qr-login', t), split_part(wib.token_sign('qr-login', 'x', now() + interval '1 hour'), '.', 2)
	FROM old" 2>&1)
[ "$res" = "2|1|t|rotated-secret|2|old-token|2" ]
ok $? "after adding key 2: current 2, old value (key 1) needs rotation and opens, new seals and tokens use 2 ($res)"
res=$(q -c "UPDATE old SET c = wib.vault_seal(wib.vault_open(c, 'a0000000-0000-4000-8000-000000000001', 't.c', '7'),
	'a0000000-0000-4000-8000-000000000001', 't.c', '7') WHERE wib.vault_needs_rotation(c) RETURNING wib.vault_key_id(c)" 2>&1)
[ "$res" = 2 ]
ok $? "re-sealing moves the value to key 2"
printf '2 %s\n' "$K2" >"$keys/ring.new"
chown "$WIB_RUN_USER" "$keys/ring.new" && chmod 600 "$keys/ring.new" && mv "$keys/ring.new" "$keys/ring"
res=$(q -c "SELECT wib.vault_open(c, 'a0000000-0000-4000-8000-000000000001', 't.c', '7') FROM old")
[ "$res" = rotated-secret ]
ok $? "with key 1 retired, the re-sealed value still opens"
err=$(q -c "SELECT wib.token_verify('qr-login', t) FROM old" 2>&1)
echo "$err" | grep -q 'ERROR:  invalid token'
ok $? "a token signed under the retired key is invalid: $(echo "$err" | head -1)"
err=$(q -c "SELECT wib.vault_open(wib.vault_seal('x', NULL, 't.c', '1'), NULL, 't.c', '1')" -c "SELECT wib.vault_open(c, NULL, 't.c', '1') FROM kept" 2>&1)
echo "$err" | grep -q 'key 1 is not in wib.s key ring' && echo "$err" | grep -q 'HINT:  Add the key with id 1 back'
ok $? "a value sealed under a retired key names the missing key id with a hint: $(echo "$err" | grep ERROR)"
! grep -q -e "$K1" -e "$K2" "$data.log"
ok $? "no key text in the server log so far"
! grep -q -e 'whsec_c2VjcmV0' -e 'generated-secret' -e "STATEMENT:  SELECT wib.vault_seal('x'" "$data.log"
ok $? "reports of the vault and the key ring leave the statement (and its plaintext) out of the log"

# 4. wib.keys, which takes precedence; its value is kept out of the reload log.
set_keys_conf "wib.key_file = '$keys/ring'" "wib.keys = '3:$K3, 2:$K2'"
[ "$(q -c "SELECT wib.vault_current_key_id()")" = 3 ]
ok $? "wib.keys takes precedence over wib.key_file (current key 3)"
run_regress wib_keys
grep -q 'parameter "wib.keys" changed (value not shown)' "$data.log"
ok $? "the reload logged that wib.keys changed, without its value"
! grep -q -e "$K3" -e "${K3:0:12}" -e "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg" "$data.log"
ok $? "neither the keys nor the regress suite's malformed keys appear in the server log"
grep -q 'ERROR:  wib.keys is malformed' "$data.log" && ! grep -q 'STATEMENT:  ALTER SYSTEM SET wib.keys' "$data.log"
ok $? "ALTER SYSTEM with a malformed wib.keys is logged without its statement"
set_keys_conf "wib.key_file = '$keys/ring'" "wib.keys = '3:bad'"
grep -q 'wib.keys is malformed' "$data.log" && [ "$(q -c "SELECT wib.vault_current_key_id()")" = 3 ]
ok $? "a malformed wib.keys at reload is refused and the previous ring stays"

# 5. A malformed wib.keys at start: keys are refused, the generated file is not used instead.
cluster_stop "$data"
as_runner "$PG_BINDIR/pg_ctl" -D "$data" -l "$data.log" -w -t 60 start >/dev/null
err=$(q -c "SELECT wib.vault_seal('x', NULL, 't.c', '1')" 2>&1)
echo "$err" | grep -q "wib's keys are not loaded: wib.keys was refused"
ok $? "a malformed wib.keys at start refuses to seal: $(echo "$err" | head -1)"

# 6. A key file inside the data directory is reported by the postmaster.
cp "$keys/ring" "$data/inside_ring" && chown "$WIB_RUN_USER" "$data/inside_ring" && chmod 600 "$data/inside_ring"
set_keys_conf "wib.key_file = '$data/inside_ring'"
cluster_stop "$data"	# a refused wib.keys stays refused until a valid one is loaded or a restart
as_runner "$PG_BINDIR/pg_ctl" -D "$data" -l "$data.log" -w -t 60 start >/dev/null
grep -q "wib.key_file \"$data/inside_ring\" is inside the data directory" "$data.log" &&
	[ "$(q -c "SELECT wib.vault_current_key_id()")" = 2 ]
ok $? "a key file inside the data directory works but is reported in the log"

echo "1..$n"
[ "$failed" = 0 ]
