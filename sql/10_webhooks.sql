-- Webhooks: Standard Webhooks signatures and the SSRF guard.
\set VERBOSITY terse

-- The published Standard Webhooks example.
SELECT wib.sign_webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek',
                        1614265330, '{"test": 2432232314}') AS standard_example;

-- Our signer against the construction computed independently with openssl:
-- base64(HMAC-SHA256(base64decode(secret), id "." ts "." body)).
\set secret 'whsec_c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OWFiY2RlZg=='
\set body '{"type":"call.completed","data":{"call_id":"c1","note":"ünïcödé ✓"}}'
\set expected `printf '%s' 'msg_abc.1700000000.{"type":"call.completed","data":{"call_id":"c1","note":"ünïcödé ✓"}}' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$(printf '%s' 'c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OWFiY2RlZg==' | base64 -d | od -An -tx1 -v | tr -d ' \n') -binary | base64`
SELECT wib.sign_webhook(:'secret', 'msg_abc', 1700000000, :'body') = 'v1,' || :'expected' AS matches_openssl;
-- The whsec_ prefix is optional; a 1 KB body too.
\set bigbody `head -c 1024 /dev/zero | tr '\0' 'x'`
\set expected_big `printf '%s' "msg_big.42.$(head -c 1024 /dev/zero | tr '\0' 'x')" | openssl dgst -sha256 -mac HMAC -macopt hexkey:$(printf '%s' 'c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OWFiY2RlZg==' | base64 -d | od -An -tx1 -v | tr -d ' \n') -binary | base64`
SELECT wib.sign_webhook('c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OWFiY2RlZg==', 'msg_big', 42, :'bigbody')
       = 'v1,' || :'expected_big' AS matches_openssl_1kb;
SELECT wib.sign_webhook(:'secret', 'msg_abc', 1700000000, '') <> wib.sign_webhook(:'secret', 'msg_abc', 1700000001, '')
       AS timestamp_is_signed;

-- Verification: valid now, several entries, tampering, age, wrong secret.
SELECT floor(extract(epoch FROM clock_timestamp()))::bigint AS now_ts \gset
SELECT wib.verify_webhook(:'secret', 'msg_1', :now_ts, :'body',
                          wib.sign_webhook(:'secret', 'msg_1', :now_ts, :'body')) AS valid;
SELECT wib.verify_webhook(:'secret', 'msg_1', :now_ts, :'body',
                          'v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= '
                          || wib.sign_webhook(:'secret', 'msg_1', :now_ts, :'body')) AS valid_among_several;
SELECT wib.verify_webhook(:'secret', 'msg_1', :now_ts, :'body' || ' ',
                          wib.sign_webhook(:'secret', 'msg_1', :now_ts, :'body')) AS tampered_body;
SELECT wib.verify_webhook(:'secret', 'msg_2', :now_ts, :'body',
                          wib.sign_webhook(:'secret', 'msg_1', :now_ts, :'body')) AS other_msg_id;
SELECT wib.verify_webhook(:'secret', 'msg_1', :now_ts + 1, :'body',
                          wib.sign_webhook(:'secret', 'msg_1', :now_ts, :'body')) AS other_timestamp;
SELECT wib.verify_webhook(:'secret', 'msg_1', :now_ts - 305, :'body',
                          wib.sign_webhook(:'secret', 'msg_1', :now_ts - 305, :'body')) AS too_old;
SELECT wib.verify_webhook(:'secret', 'msg_1', :now_ts + 305, :'body',
                          wib.sign_webhook(:'secret', 'msg_1', :now_ts + 305, :'body')) AS too_new;
SELECT wib.verify_webhook(:'secret', 'msg_1', :now_ts - 3000, :'body',
                          wib.sign_webhook(:'secret', 'msg_1', :now_ts - 3000, :'body'), 3600) AS old_within_tolerance;
SELECT wib.verify_webhook('whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==', 'msg_1', :now_ts, :'body',
                          wib.sign_webhook(:'secret', 'msg_1', :now_ts, :'body')) AS wrong_secret;
SELECT wib.verify_webhook(:'secret', 'msg_1', :now_ts, :'body', '') AS empty_header;
SELECT wib.verify_webhook(:'secret', 'msg_1', :now_ts, :'body',
                          substr(wib.sign_webhook(:'secret', 'msg_1', :now_ts, :'body'), 1, 20)) AS truncated;
SELECT wib.verify_webhook(:'secret', 'msg_1', :now_ts, :'body',
                          'v2,' || substr(wib.sign_webhook(:'secret', 'msg_1', :now_ts, :'body'), 4)) AS wrong_version;

-- Bad input.
SELECT wib.sign_webhook('whsec_not base64!', 'm', 1, 'b');
SELECT wib.sign_webhook('whsec_', 'm', 1, 'b');
SELECT wib.verify_webhook(:'secret', 'm', 1, 'b', 'v1,x', -1);
SELECT wib.sign_webhook(NULL, 'm', 1, 'b') IS NULL AS null_in_null_out;

-- New secrets: whsec_ + base64 of 32 bytes, all different.
SELECT count(DISTINCT s) = 20 AS distinct_secrets,
       bool_and(s ~ '^whsec_[A-Za-z0-9+/]{43}=$') AS well_formed,
       bool_and(length(decode(substr(s, 7), 'base64')) = 32) AS thirty_two_bytes
  FROM (SELECT wib.webhook_new_secret() AS s FROM generate_series(1, 20)) x;

-- SSRF guard: allowed URLs.
SELECT u AS allowed, wib.url_check(u) AS reason
  FROM unnest(ARRAY['https://example.com/hooks', 'https://hooks.zapier.com:8443/x?y=1@2',
                    'https://8.8.8.8/', 'https://[2606:4700:4700::1111]/', 'https://[::ffff:8.8.8.8]/',
                    'https://[2002:0808:0808::1]/', 'https://[64:ff9b::808:808]/',
                    'https://cafe.de/', 'https://EXAMPLE.COM./']) AS u;

-- Every blocked IPv4 range, at its first and last address.
SELECT u, wib.url_check(u) AS reason
  FROM unnest(ARRAY['0.0.0.0', '0.255.255.255', '10.0.0.0', '10.255.255.255', '100.64.0.0', '100.127.255.255',
                    '127.0.0.1', '127.255.255.254', '169.254.0.0', '169.254.169.254', '172.16.0.0', '172.31.255.255',
                    '192.0.0.0', '192.0.0.255', '192.0.2.0', '192.0.2.255', '192.88.99.0', '192.88.99.255',
                    '192.168.0.0', '192.168.255.255', '198.18.0.0', '198.19.255.255', '198.51.100.0', '198.51.100.255',
                    '203.0.113.0', '203.0.113.255', '224.0.0.0', '239.255.255.255', '240.0.0.0', '255.255.255.254',
                    '255.255.255.255']) AS a,
       LATERAL (SELECT 'https://' || a || '/') AS x(u);
-- Neighbours of the blocked ranges stay allowed.
SELECT u, wib.url_check(u) AS reason
  FROM unnest(ARRAY['1.0.0.0', '9.255.255.255', '11.0.0.0', '100.63.255.255', '100.128.0.0', '126.255.255.255',
                    '128.0.0.0', '172.15.255.255', '172.32.0.0', '192.0.1.0', '192.167.255.255', '198.17.255.255',
                    '198.20.0.0', '223.255.255.255']) AS a,
       LATERAL (SELECT 'https://' || a || '/') AS x(u);

-- Every blocked IPv6 range, and IPv4 carried inside IPv6.
SELECT u, wib.url_check(u) AS reason
  FROM unnest(ARRAY['::', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.1.2.3', '64:ff9b::7f00:1',
                    '64:ff9b::a9fe:a9fe', '100::', '100::ffff:ffff:ffff:ffff', '2001:db8::1',
                    '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'fc00::1', 'fdff:ffff::1', 'fe80::1', 'febf::1',
                    'ff00::1', 'ff02::1', '2002:7f00:1::1', '2002:c0a8:101::1']) AS a,
       LATERAL (SELECT 'https://[' || a || ']/') AS x(u);

-- IPv6 that is special-purpose too: site-local, local-use NAT64 (RFC 8215), IPv4-translated
-- (SIIT), Teredo and the rest of 2001::/23, documentation (3fff::/20), SRv6 SIDs.
SELECT u, wib.url_check(u) AS reason
  FROM unnest(ARRAY['fec0::1', 'feff:ffff::1', '64:ff9b:1::7f00:1', '64:ff9b:1:ffff::1', '::ffff:0:7f00:1',
                    '::ffff:0:808:808', '2001::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001:1ff::1',
                    '3fff::1', '5f00::1']) AS a,
       LATERAL (SELECT 'https://[' || a || ']/') AS x(u);
-- Their neighbours stay allowed.
SELECT u, wib.url_check(u) AS reason
  FROM unnest(ARRAY['2001:200::1', '2606:4700:4700::1111', '64:ff9b:2::1', '3ffe:ffff::1']) AS a,
       LATERAL (SELECT 'https://[' || a || ']/') AS x(u);

-- Odd spellings of hosts.
SELECT u, wib.url_check(u) AS reason
  FROM unnest(ARRAY['https://0x7f.1/', 'https://2130706433/', 'https://127.1/', 'https://0177.0.0.1/',
                    'https://0x7f000001/', 'https://017700000001/', 'https://127.0.0.1./', 'https://127.0.0.1../',
                    'https://[::ffff:127.0.0.1]/', 'https://[::127.0.0.1]/', 'https://[0:0:0:0:0:0:0:1]/',
                    'https://localhost/', 'https://LOCALHOST./', 'https://api.localhost/',
                    'https://good@127.0.0.1/', 'https://user:pass@example.com/', 'https://good.com@127.0.0.1/',
                    'https://127.0.0.1#@good.com/', 'https://10.0.0.1:443/', 'https://0/', 'https://0.0.0.0:8443/',
                    'https://169.254.169.254/latest/meta-data/', 'https://[fe80::1%25eth0]/',
                    'https://256.1.1.1/', 'https://1.2.3.4.5/', 'https://0x100000000/']) AS u;

-- Schemes and malformed URLs.
SELECT u, wib.url_check(u) AS reason
  FROM unnest(ARRAY['http://example.com/', 'ftp://example.com/', 'file:///etc/passwd', 'gopher://example.com/',
                    'example.com', 'https://', 'https:///path', 'https://exa mple.com/', 'https://example.com\@127.0.0.1/',
                    '', 'javascript:alert(1)']) AS u;
SELECT wib.url_check('https://example.com/' || repeat('a', 2100)) AS too_long;
SELECT wib.url_check(NULL) IS NULL AS null_in_null_out;

-- The superuser-only escape hatches for tests on loopback.
SET wib.http_allow_http = on;
SELECT wib.url_check('http://example.com/') AS http_allowed, wib.url_check('ftp://example.com/') AS ftp_still_refused;
SET wib.http_allow_cidrs = '127.0.0.0/8, ::1/128';
SELECT wib.url_check('http://127.0.0.1:8080/') AS loopback_allowed, wib.url_check('https://localhost/') AS localhost_allowed,
       wib.url_check('https://10.0.0.1/') AS private_still_refused;
SET wib.http_allow_cidrs = 'not-a-cidr';
SET wib.http_allow_cidrs = '10.0.0.0/33';
RESET wib.http_allow_cidrs;
RESET wib.http_allow_http;
SET wib.webhook_retry_schedule = '10 s, 1 min,2hours , 1 day';
SELECT wib.webhook_retry_delay('exponential', 3) AS third_step, wib.webhook_retry_delay('linear', 3) AS linear_third;
SET wib.webhook_retry_schedule = '1 min, soon';
SET wib.webhook_retry_schedule = '';
RESET wib.webhook_retry_schedule;
CREATE ROLE wib_regress_tenant;
SET ROLE wib_regress_tenant;
SET wib.http_allow_cidrs = '127.0.0.0/8';
SET wib.http_allow_http = on;
RESET ROLE;
DROP ROLE wib_regress_tenant;
