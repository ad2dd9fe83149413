#!/usr/bin/env bash
# Telnyx signature checks: wib.telnyx_verify (a given key) and wib.ivr_verify
# (the configured wib.telnyx_public_key) calls per second in one backend, each
# call a distinct signed callback, against OpenSSL's own Ed25519 verify rate
# (openssl speed -seconds 3 ed25519, single core), measured before and after
# in the same run and averaged; by CPU time (as openssl speed counts) and by
# the wall clock.  Target: within 1.3x of OpenSSL.
# Needs python3-cryptography (tools/deps.sh) to sign the callbacks.
set -euo pipefail

out=${BENCH_OUT:-/tmp}/telnyx
mkdir -p "$out"
calls=${TELNYX_BENCH_CALLS:-20000}

# A fresh Ed25519 key and distinct signed callbacks with a realistic form body.
python3 - "$out" "$calls" <<'PY'
import base64, sys, time, urllib.parse
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization
out, n = sys.argv[1], int(sys.argv[2])
key = Ed25519PrivateKey.generate()
pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
open(out + "/public_key", "w").write(base64.b64encode(pub).decode())
ts = str(int(time.time()))
with open(out + "/callbacks.csv", "w") as f:
    for i in range(1, n + 1):
        body = urllib.parse.urlencode([("AccountSid", "ACbench"), ("CallSid", "v3:bench-%d" % i),
                                       ("From", "+1555%07d" % i), ("To", "+15550100000"),
                                       ("CallStatus", "ringing"), ("Direction", "inbound")]).encode()
        sig = base64.b64encode(key.sign(ts.encode() + b"|" + body)).decode()
        f.write("%d,\\x%s,%s,%s\n" % (i, body.hex(), sig, ts))
PY
key=$(cat "$out/public_key")

psql -X -q -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
DROP TABLE IF EXISTS bench_telnyx;
CREATE TABLE bench_telnyx (id int PRIMARY KEY, body bytea, signature text, ts text);
SQL
psql -X -q -v ON_ERROR_STOP=1 -c "\\copy bench_telnyx FROM '$out/callbacks.csv' WITH (FORMAT csv)"

# OpenSSL's Ed25519 verifications per second on one core, the last column of
# its EdDSA line.  openssl speed counts user CPU time (-elapsed: wall clock),
# so on a shared machine the fair comparison is with the backend's CPU time.
openssl_rate() {
	openssl speed "$@" -seconds 3 ed25519 2>/dev/null | awk '/Ed25519/ {v = $NF} END {printf "%.0f", v}'
}

# Each timed statement prints: verified, calls/s by the wall clock, calls/s by
# the backend's CPU time (utime + stime from /proc/self/stat).
timed() {
	cat <<SQL
WITH t0 AS MATERIALIZED (SELECT clock_timestamp() AS t, pg_temp.cpu_ticks() AS c),
     run AS MATERIALIZED (SELECT $1 AS ok FROM t0, bench_telnyx b)
SELECT ok, round($calls / extract(epoch FROM clock_timestamp() - (SELECT t FROM t0))),
       round($calls / nullif((pg_temp.cpu_ticks() - (SELECT c FROM t0)) / $(getconf CLK_TCK)::numeric, 0))
  FROM run;
SQL
}

cpu_before=$(openssl_rate)
wall_before=$(openssl_rate -elapsed)
rates=$(psql -X -q -At -v ON_ERROR_STOP=1 -v key="$key" <<SQL
SET wib.telnyx_public_key = :'key';
CREATE FUNCTION pg_temp.cpu_ticks() RETURNS numeric LANGUAGE sql AS \$\$
    SELECT f[12]::numeric + f[13]::numeric
      FROM string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f
\$\$;
-- Warm: the table in shared buffers, the keys parsed.
SELECT count(*) FILTER (WHERE wib.telnyx_verify(body, signature, ts, :'key')) FROM bench_telnyx;
SELECT count(wib.ivr_verify(body, signature, ts)) FROM bench_telnyx;
$(timed "count(*) FILTER (WHERE wib.telnyx_verify(b.body, b.signature, b.ts, '$key'))")
$(timed "count(wib.ivr_verify(b.body, b.signature, b.ts))")
-- The floor: the same scan with a trivial C function per row.
$(timed "count(*) FILTER (WHERE length(b.body) > 0)")
SQL
)
cpu_after=$(openssl_rate)
wall_after=$(openssl_rate -elapsed)
cpu_anchor=$(( (cpu_before + cpu_after) / 2 ))
wall_anchor=$(( (wall_before + wall_after) / 2 ))
field() { echo "$rates" | sed -n "$1p" | cut -d'|' -f"$2"; }
verified=$(field 3 1)
[ "$verified" = "$calls" ] || { echo "only $verified of $calls callbacks verified" >&2; exit 1; }
echo "telnyx: $calls distinct callbacks, all verified by both functions"
echo "telnyx: openssl speed ed25519 verify/s, CPU time: before $cpu_before, after $cpu_after; wall clock: before $wall_before, after $wall_after"
echo "telnyx: wib.telnyx_verify $(field 3 3)/s CPU, $(field 3 2)/s wall; wib.ivr_verify $(field 4 3)/s CPU, $(field 4 2)/s wall; scan floor $(field 5 2)/s wall"

echo "ROW|wib.telnyx_verify calls/s, one backend, distinct callbacks (CPU time)|$(field 3 3)|$cpu_anchor|calls/s|higher|>= 0.77x openssl speed ed25519 verify"
echo "ROW|wib.ivr_verify (configured key) calls/s, one backend (CPU time)|$(field 4 3)|$cpu_anchor|calls/s|higher|>= 0.77x openssl speed ed25519 verify"
echo "ROW|wib.telnyx_verify calls/s, one backend (wall clock)|$(field 3 2)|$wall_anchor|calls/s|higher|>= 0.77x openssl speed -elapsed ed25519 verify"
