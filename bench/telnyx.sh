#!/usr/bin/env bash
# Telnyx signature checks: wib.telnyx_verify (a given key) and wib.ivr_verify
# (the configured wib.telnyx_public_key) calls per second in one backend, each
# call a distinct signed callback, against OpenSSL's own Ed25519 verify rate
# (openssl speed -seconds 3 ed25519, single core), measured before and after
# in the same run and averaged.  Target: within 1.3x of OpenSSL.
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

# OpenSSL's Ed25519 verifications per second on one core (the last column of its EdDSA line).
openssl_rate() {
	openssl speed -seconds 3 ed25519 2>/dev/null | awk '/Ed25519/ {v = $NF} END {printf "%.0f", v}'
}

before=$(openssl_rate)
rates=$(psql -X -q -At -v ON_ERROR_STOP=1 -v key="$key" <<SQL
SET wib.telnyx_public_key = :'key';
SELECT count(*) FROM bench_telnyx;
-- Warm: the table in shared buffers, the key parsed.
SELECT count(*) FILTER (WHERE wib.telnyx_verify(body, signature, ts, :'key')) FROM bench_telnyx;
WITH t0 AS MATERIALIZED (SELECT clock_timestamp() AS t),
     run AS MATERIALIZED (SELECT count(*) FILTER (WHERE wib.telnyx_verify(b.body, b.signature, b.ts, :'key')) AS ok
                            FROM t0, bench_telnyx b)
SELECT ok, round($calls / extract(epoch FROM clock_timestamp() - (SELECT t FROM t0))) FROM run;
WITH t0 AS MATERIALIZED (SELECT clock_timestamp() AS t),
     run AS MATERIALIZED (SELECT count(wib.ivr_verify(b.body, b.signature, b.ts)) AS ok FROM t0, bench_telnyx b)
SELECT ok, round($calls / extract(epoch FROM clock_timestamp() - (SELECT t FROM t0))) FROM run;
-- The floor: the same scan and a call of a trivial C function per row.
WITH t0 AS MATERIALIZED (SELECT clock_timestamp() AS t),
     run AS MATERIALIZED (SELECT count(*) FILTER (WHERE length(b.body) > 0) AS ok FROM t0, bench_telnyx b)
SELECT ok, round($calls / extract(epoch FROM clock_timestamp() - (SELECT t FROM t0))) FROM run;
SQL
)
after=$(openssl_rate)
anchor=$(( (before + after) / 2 ))
verified=$(echo "$rates" | sed -n 3p | cut -d'|' -f1)
given=$(echo "$rates" | sed -n 3p | cut -d'|' -f2)
configured=$(echo "$rates" | sed -n 4p | cut -d'|' -f2)
floor=$(echo "$rates" | sed -n 5p | cut -d'|' -f2)
[ "$verified" = "$calls" ] || { echo "only $verified of $calls callbacks verified" >&2; exit 1; }
echo "telnyx: $calls distinct callbacks, all verified; openssl speed ed25519 verify/s before $before, after $after; scan floor $floor rows/s"

echo "ROW|wib.telnyx_verify calls/s, one backend, distinct callbacks|$given|$anchor|calls/s|higher|>= 0.77x openssl speed ed25519 verify"
echo "ROW|wib.ivr_verify (configured key) calls/s, one backend|$configured|$anchor|calls/s|higher|>= 0.77x openssl speed ed25519 verify"
