/*
 * webhook_sign_test.c
 *		Standard Webhooks signatures: the published example, strict secrets,
 *		the "v1," header parser, and every verdict of the verifier (valid,
 *		changed message, stale on either side, the tolerance's edges,
 *		timestamps far out of range).
 *
 * Build: cc -I src -o webhook_sign_test test/kernels/webhook_sign_test.c src/crypto/webhook_sign.c \
 *   src/crypto/codec.c -lcrypto
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crypto/webhook_sign.h"

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

int
main(void)
{
	uint8_t		key[WEBHOOK_KEY_MAX];
	uint8_t		key2[WEBHOOK_KEY_MAX];
	char		sig[WEBHOOK_SIG_LEN];
	char		sig2[WEBHOOK_SIG_LEN];
	char		header[256];
	int			n;
	int			n2;
	const char *body = "{\"test\": 2432232314}";
	const int64_t ts = 1614265330;

	printf("1..10\n");

	n = webhook_secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key);
	check(n == 24 && webhook_sign(key, n, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body, strlen(body), sig) &&
		  strcmp(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") == 0,
		  "the Standard Webhooks example signs as published");

	n2 = webhook_secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key2);
	check(n2 == n && memcmp(key, key2, n) == 0 &&
		  webhook_secret_key("whsec_c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OWFiY2RlZg==", key2) == 37,
		  "the whsec_ prefix is optional; padding is accepted when right");
	check(webhook_secret_key("whsec_not base64!", key2) < 0 && webhook_secret_key("whsec_", key2) < 0 &&
		  webhook_secret_key("whsec_AB==", key2) < 0 && webhook_secret_key("whsec_QQ=", key2) < 0 &&
		  webhook_secret_key("whsec_QQ===", key2) < 0 && webhook_secret_key("whsec_QUFB\n", key2) < 0 &&
		  webhook_secret_key("whsec_QUFBQ", key2) < 0 && webhook_secret_key("whsec_-_-_", key2) < 0,
		  "secrets are strict base64: no spaces, no stray or missing padding, no set padding bits, no base64url");
	{
		char		secret[200] = "whsec_";

		/* 64 bytes is the most a key may have, 65 too many. */
		for (int i = 0; i < 21; i++)
			strcat(secret, "QUFB");
		strcat(secret, "QQ==");
		n2 = webhook_secret_key(secret, key2);
		strcpy(secret + strlen(secret) - 4, "QUE=");
		check(n2 == 64 && webhook_secret_key(secret, key2) < 0, "a key of 64 bytes is accepted, 65 refused");
	}

	/* The header parser. */
	snprintf(header, sizeof(header), "v1,bm90IHRoaXM= %s  v2,x", sig);
	check(webhook_header_matches(header, sig) && webhook_header_matches(sig, sig) &&
		  !webhook_header_matches("", sig) && !webhook_header_matches("v1,g0hM9SsE", sig),
		  "any space-separated entry may carry the signature; a prefix of it is not it");
	snprintf(header, sizeof(header), "%sx %.*s", sig, (int) strlen(sig) - 1, sig);
	check(!webhook_header_matches(header, sig), "an entry longer or shorter by one character does not match");

	/* The verifier. */
	snprintf(header, sizeof(header), "v1,old %s", sig);
	check(webhook_verify(key, n, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body, strlen(body), header, ts + 300, 300) == WEBHOOK_VALID &&
		  webhook_verify(key, n, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body, strlen(body), header, ts - 300, 300) == WEBHOOK_VALID &&
		  webhook_verify(key, n, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body, strlen(body), header, ts, 0) == WEBHOOK_VALID,
		  "a signed message verifies up to the tolerance on either side (0: the same second)");
	check(webhook_verify(key, n, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body, strlen(body), header, ts + 301, 300) == WEBHOOK_STALE &&
		  webhook_verify(key, n, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body, strlen(body), header, ts - 301, 300) == WEBHOOK_STALE &&
		  webhook_verify(key, n, "m", INT64_MIN, "", 0, header, INT64_MAX, INT32_MAX) == WEBHOOK_STALE &&
		  webhook_verify(key, n, "m", INT64_MAX, "", 0, header, INT64_MIN, INT32_MAX) == WEBHOOK_STALE &&
		  webhook_verify(key, n, "m", ts, "", 0, header, ts, -1) == WEBHOOK_STALE,
		  "past the tolerance (or with timestamps far apart, or a negative tolerance) a message is stale");
	check(webhook_verify(key, n, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body, strlen(body) - 1, header, ts, 300) == WEBHOOK_MISMATCH &&
		  webhook_verify(key, n, "msg_p5jXN8AQM9LWM0D4loKWxJel", ts, body, strlen(body), header, ts, 300) == WEBHOOK_MISMATCH &&
		  webhook_verify(key, n, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts + 1, body, strlen(body), header, ts, 300) == WEBHOOK_MISMATCH &&
		  webhook_verify(key, n - 1, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body, strlen(body), header, ts, 300) == WEBHOOK_MISMATCH,
		  "a changed body, id, timestamp or key does not verify");

	/* Alternating keys through the kept HMAC context. */
	n2 = webhook_secret_key("whsec_c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OWFiY2RlZg==", key2);
	check(webhook_sign(key2, n2, "msg_abc", 1700000000, "", 0, sig2) &&
		  webhook_sign(key, n, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body, strlen(body), sig) &&
		  strcmp(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") == 0 &&
		  webhook_sign(key2, n2, "msg_abc", 1700000000, "", 0, sig) && strcmp(sig, sig2) == 0 &&
		  !webhook_sign(key, 0, "m", 1, "", 0, sig) && !webhook_sign(key, WEBHOOK_KEY_MAX + 1, "m", 1, "", 0, sig),
		  "signing with alternating keys gives each key's signature; key lengths outside 1-64 are refused");

	printf("# %d failed\n", failures);
	return failures ? 1 : 0;
}
