/*
 * telnyx_fuzz.c
 *		libFuzzer target of Telnyx's webhook check (src/crypto/telnyx.c over
 *		src/crypto/ed25519.c's cached verifier).
 *
 * Properties:
 *	- any bytes as body, signature and timestamp: the check answers without
 *	  crashing, and accepts only what an oracle written here accepts: a
 *	  timestamp of 1 to 12 digits within the tolerance of now, a signature
 *	  that is strict base64 of 64 bytes, and OpenSSL's Ed25519 verification
 *	  of timestamp "|" body with a fresh context;
 *	- a callback from the input (timestamp, body) signed with a key of the
 *	  target verifies; changed in its body, its signature or its timestamp,
 *	  it never verifies (unless the change gives back the signed callback),
 *	  and the verdict is the oracle's;
 *	- a verifier moved to another key refuses the callback and accepts it
 *	  again once moved back (the cached key and context follow the key).
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o telnyx_fuzz \
 *   test/fuzz/telnyx_fuzz.c src/crypto/telnyx.c src/crypto/ed25519.c src/crypto/codec.c -lcrypto
 * Run:   ./telnyx_fuzz -max_total_time=60 test/fuzz/corpus/telnyx   (or make fuzz)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/codec.h"
#include "crypto/ed25519.h"
#include "crypto/telnyx.h"

#define NOW			INT64_C(1700000000)

/* Two fixed private keys (the first is RFC 8032's test 1 key). */
static const uint8_t secret_keys[2][32] = {
	{0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
	 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60},
	{0x4c, 0xcd, 0x08, 0x9b, 0x28, 0xff, 0x96, 0xda, 0x9d, 0xb6, 0xc3, 0x46, 0xec, 0x11, 0x4e, 0x0f,
	 0x5b, 0x8a, 0x31, 0x9f, 0x35, 0xab, 0xa6, 0x24, 0xda, 0x8c, 0xf6, 0xed, 0x4f, 0xb8, 0xa6, 0xfb},
};
static EVP_PKEY *signers[2];
static uint8_t public_keys[2][32];
static Ed25519Verifier verifier;

static void
fail(const char *what)
{
	fprintf(stderr, "telnyx_fuzz: %s\n", what);
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	for (int i = 0; i < 2; i++)
	{
		size_t		len = 32;

		signers[i] = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, secret_keys[i], 32);
		if (signers[i] == NULL || !EVP_PKEY_get_raw_public_key(signers[i], public_keys[i], &len))
			fail("the fixed keys do not load");
	}
	if (!ed25519_verifier_set_key(&verifier, public_keys[0]))
		fail("the verifier does not take the key");
	return 0;
}

/* Signs ts "|" body with key k; base64 of the signature into out (89 bytes). */
static void
sign(int k, const char *ts, size_t ts_len, const char *body, size_t body_len, char *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *msg = malloc(ts_len + 1 + body_len);
	unsigned char sig[64];
	size_t		sig_len = sizeof(sig);

	memcpy(msg, ts, ts_len);
	msg[ts_len] = '|';
	if (body_len > 0)
		memcpy(msg + ts_len + 1, body, body_len);
	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, NULL, NULL, signers[k]) != 1 ||
		EVP_DigestSign(ctx, sig, &sig_len, msg, ts_len + 1 + body_len) != 1)
		fail("signing failed");
	EVP_EncodeBlock((unsigned char *) out, sig, 64);
	EVP_MD_CTX_free(ctx);
	free(msg);
}

/* The oracle: Telnyx's rules checked here, the signature with a fresh OpenSSL context. */
static bool
oracle(int k, const char *body, size_t body_len, const char *sig64, size_t sig_len,
	   const char *ts, size_t ts_len, int64_t now, int tolerance)
{
	int64_t		when = 0;
	uint8_t		sig[66];
	EVP_PKEY   *pkey;
	EVP_MD_CTX *ctx;
	unsigned char *msg;
	bool		ok;

	if (ts_len < 1 || ts_len > 12)
		return false;
	for (size_t i = 0; i < ts_len; i++)
	{
		if (ts[i] < '0' || ts[i] > '9')
			return false;
		when = when * 10 + (ts[i] - '0');
	}
	if (when < now - tolerance || when > now + tolerance)
		return false;
	if (sig_len != 88 || codec_base64_decode(sig64, sig_len, sig, sizeof(sig)) != 64)
		return false;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, public_keys[k], 32);
	ctx = EVP_MD_CTX_new();
	msg = malloc(ts_len + 1 + body_len);
	memcpy(msg, ts, ts_len);
	msg[ts_len] = '|';
	if (body_len > 0)
		memcpy(msg + ts_len + 1, body, body_len);
	ok = pkey != NULL && ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
		EVP_DigestVerify(ctx, sig, 64, msg, ts_len + 1 + body_len) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	free(msg);
	return ok;
}

/* The check and the oracle agree on one callback (key 0); returns the verdict. */
static bool
agree(const char *body, size_t body_len, const char *sig, size_t sig_len,
	  const char *ts, size_t ts_len, int tolerance)
{
	TelnyxVerdict v = telnyx_verify(&verifier, body, body_len, sig, sig_len, ts, ts_len, NOW, tolerance);
	bool		want = oracle(0, body, body_len, sig, sig_len, ts, ts_len, NOW, tolerance);

	if ((v == TELNYX_VALID) != want)
	{
		fprintf(stderr, "verdict: %s\n", telnyx_verdict_string(v));
		fail(want ? "a callback the oracle accepts is refused" : "a callback the oracle refuses is accepted");
	}
	return want;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	const uint8_t *end = data + size;
	int			tolerance;
	char		ts[16];
	size_t		ts_len;
	const char *body;
	size_t		body_len;
	char		sig[96];
	char	   *mbody;
	size_t		mbody_len;
	char		mts[16];
	char		msig[96];
	unsigned	how;

	if (size < 4)
		return 0;
	how = *p++;
	tolerance = 1 + (*p++ % 200);

	/* Any bytes: the last 88 (or fewer) as a signature, a timestamp from the head, the rest a body. */
	{
		size_t		sl = size - 2 < 88 ? size - 2 : 88;
		size_t		tl = (how & 0x0F) < end - p - sl ? (how & 0x0F) : 0;

		(void) agree((const char *) p + tl, end - p - tl - sl, (const char *) end - sl, sl,
					 (const char *) p, tl, tolerance);
	}

	/* A signed callback: a timestamp near now, the rest of the input as its body. */
	ts_len = (size_t) snprintf(ts, sizeof(ts), "%lld", (long long) (NOW + (int8_t) *p++ % (tolerance + 1)));
	if (how & 0x10)
	{
		/* Leading zeros: still digits, still the same second, but another message. */
		memmove(ts + 1, ts, ts_len + 1);
		ts[0] = '0';
		ts_len++;
	}
	body = (const char *) p;
	body_len = end - p;
	sign(0, ts, ts_len, body, body_len, sig);
	if (!agree(body, body_len, sig, 88, ts, ts_len, tolerance))
		fail("a signed callback within the tolerance does not verify");

	/* Changed in its body, signature or timestamp, it does not verify. */
	mbody = malloc(body_len + 1);
	mbody_len = body_len;
	if (body_len > 0)
		memcpy(mbody, body, body_len);
	memcpy(mts, ts, sizeof(ts));
	memcpy(msig, sig, sizeof(sig));
	switch ((how >> 5) % 4)
	{
		case 0:
			if (body_len > 0)
				mbody[how % body_len] ^= (char) (1 + (how >> 3) % 255);
			else
				mbody[mbody_len++] = 'x';
			break;
		case 1:
			msig[how % 88] = msig[how % 88] == 'A' ? 'B' : 'A';
			break;
		case 2:
			mts[ts_len - 1] = mts[ts_len - 1] == '9' ? '8' : (char) (mts[ts_len - 1] + 1);
			break;
		case 3:
			/* the last character of the signature spelt with its unused bits set */
			msig[85] = (char) (msig[85] == 'A' ? 'B' : msig[85] ^ 1);
			break;
	}
	if (agree(mbody, mbody_len, msig, 88, mts, ts_len, tolerance) &&
		!(mbody_len == body_len && memcmp(mbody, body, body_len) == 0 &&
		  strcmp(msig, sig) == 0 && strcmp(mts, ts) == 0))
		fail("a changed callback verifies");
	free(mbody);

	/* Another key refuses it; the first key, set again, accepts it again. */
	if ((how & 3) == 0)
	{
		if (!ed25519_verifier_set_key(&verifier, public_keys[1]))
			fail("the verifier does not take the second key");
		if (telnyx_verify(&verifier, body, body_len, sig, 88, ts, ts_len, NOW, tolerance) != TELNYX_MISMATCH)
			fail("a callback verifies under another key");
		if (!ed25519_verifier_set_key(&verifier, public_keys[0]) ||
			telnyx_verify(&verifier, body, body_len, sig, 88, ts, ts_len, NOW, tolerance) != TELNYX_VALID)
			fail("a callback does not verify once its key is set again");
	}
	return 0;
}
