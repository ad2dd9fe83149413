/*
 * telnyx_test.c
 *		Ed25519 through the cached verifier (RFC 8032 section 7.1 vectors)
 *		and Telnyx's webhook check: a signed callback verifies; a changed
 *		body, timestamp or signature, a stale or malformed timestamp, a
 *		signature that is not strict base64 of 64 bytes do not; the cached
 *		key follows the key set; keys decode strictly.
 *
 * Build: cc -I src -o telnyx_test test/kernels/telnyx_test.c src/crypto/telnyx.c src/crypto/ed25519.c \
 *   src/crypto/codec.c -lcrypto
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/codec.h"
#include "crypto/ed25519.h"
#include "crypto/telnyx.h"

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

/* RFC 8032, section 7.1, tests 1 to 3: public key, message, signature (hex). */
static const char *const rfc8032[3][3] = {
	{"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
	 "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
	{"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
	 "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
	{"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
	 "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

/* RFC 8032's test 1 private key, to sign callbacks here. */
static const uint8_t secret_key[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
	0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
};

/* Signs ts "|" body with the test key; base64 into out (89 bytes). */
static void
sign_callback(const char *ts, const char *body, size_t body_len, char *out)
{
	EVP_PKEY   *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, secret_key, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t		len = strlen(ts) + 1 + body_len;
	unsigned char *msg = malloc(len);
	unsigned char sig[64];
	size_t		sig_len = 64;

	memcpy(msg, ts, strlen(ts));
	msg[strlen(ts)] = '|';
	memcpy(msg + strlen(ts) + 1, body, body_len);
	if (pkey == NULL || ctx == NULL || EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) != 1 ||
		EVP_DigestSign(ctx, sig, &sig_len, msg, len) != 1)
		printf("# signing failed\n");
	codec_base64_encode(sig, 64, out);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	free(msg);
}

static TelnyxVerdict
verify(Ed25519Verifier *v, const char *body, const char *sig, const char *ts, int64_t now)
{
	return telnyx_verify(v, body, strlen(body), sig, strlen(sig), ts, strlen(ts), now, 300);
}

int
main(void)
{
	Ed25519Verifier v = {0};
	Ed25519Verifier empty = {0};
	uint8_t		pub[32];
	uint8_t		other[32];
	uint8_t		sig[64];
	uint8_t		msg[2];
	char		b64[CODEC_BASE64_LEN(64)];
	char		bad[CODEC_BASE64_LEN(64)];
	const char *body = "CallSid=v3%3Aabc&To=%2B15551230000&Digits=1";
	const int64_t now = 1700000000;
	EVP_PKEY   *pk;
	int			ok = 1;

	printf("1..11\n");

	for (int i = 0; i < 3; i++)
	{
		size_t		mlen = strlen(rfc8032[i][1]) / 2;

		codec_hex_decode(rfc8032[i][0], 64, pub, 32);
		codec_hex_decode(rfc8032[i][1], 2 * mlen, msg, sizeof(msg));
		codec_hex_decode(rfc8032[i][2], 128, sig, 64);
		ok = ok && ed25519_verifier_set_key(&v, pub) && ed25519_verifier_check(&v, sig, msg, mlen);
		sig[i] ^= 1;
		ok = ok && !ed25519_verifier_check(&v, sig, msg, mlen);
		sig[i] ^= 1;
		ok = ok && ed25519_verifier_check(&v, sig, msg, mlen);
	}
	check(ok, "RFC 8032 tests 1-3 verify through one verifier, again after a refusal, and not when changed");

	/* The test key's public half, as Telnyx would publish it. */
	codec_hex_decode(rfc8032[0][0], 64, pub, 32);
	codec_base64_encode(pub, 32, b64);
	check(ed25519_decode_key(b64, strlen(b64), other) && memcmp(other, pub, 32) == 0 &&
		  strcmp(b64, "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=") == 0,
		  "a public key decodes from its base64");
	strcpy(bad, b64);
	bad[42] = 'p';				/* 'o' carries the last bits; 'p' sets an unused one */
	check(!ed25519_decode_key(bad, 44, other) && !ed25519_decode_key(b64, 43, other) &&
		  !ed25519_decode_key(NULL, 0, other) &&
		  !ed25519_decode_key("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=", 44, other) &&
		  !ed25519_decode_key("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUQ==", 44, other),
		  "keys decode strictly: padding bits clear, 44 characters, the standard alphabet, 32 bytes");

	ed25519_verifier_set_key(&v, pub);
	sign_callback("1700000000", body, strlen(body), b64);
	check(verify(&v, body, b64, "1700000000", now) == TELNYX_VALID &&
		  verify(&v, body, b64, "1700000000", now + 300) == TELNYX_VALID &&
		  verify(&v, body, b64, "1700000000", now - 300) == TELNYX_VALID,
		  "a signed callback verifies within the tolerance on either side");
	check(verify(&v, body, b64, "1700000000", now + 301) == TELNYX_STALE &&
		  verify(&v, body, b64, "1700000000", now - 301) == TELNYX_STALE &&
		  telnyx_verify(&v, body, strlen(body), b64, 88, "1700000000", 10, now, TELNYX_MAX_TOLERANCE + 1) == TELNYX_STALE,
		  "outside the tolerance (or with a tolerance past a day) it is stale");
	check(verify(&v, body, b64, "", now) == TELNYX_BAD_TIMESTAMP &&
		  verify(&v, body, b64, "17000000x0", now) == TELNYX_BAD_TIMESTAMP &&
		  verify(&v, body, b64, "-1700000000", now) == TELNYX_BAD_TIMESTAMP &&
		  verify(&v, body, b64, "0001700000000", now) == TELNYX_BAD_TIMESTAMP &&
		  verify(&v, body, b64, "01700000000", now) == TELNYX_MISMATCH,
		  "a timestamp must be 1 to 12 digits; leading zeros make another message");
	check(verify(&v, "CallSid=v3%3Aabc&To=%2B15551230000&Digits=2", b64, "1700000000", now) == TELNYX_MISMATCH &&
		  verify(&v, "", b64, "1700000000", now) == TELNYX_MISMATCH &&
		  verify(&v, body, b64, "1700000001", now) == TELNYX_MISMATCH,
		  "a changed body or timestamp does not verify");
	strcpy(bad, b64);
	bad[0] = bad[0] == 'A' ? 'B' : 'A';
	ok = verify(&v, body, bad, "1700000000", now) == TELNYX_MISMATCH;
	strcpy(bad, b64);
	bad[85] = bad[85] == 'A' ? 'B' : (char) (bad[85] ^ 1);	/* same bytes, unused bits set */
	ok = ok && verify(&v, body, bad, "1700000000", now) == TELNYX_BAD_SIGNATURE;
	bad[85] = b64[85];
	bad[87] = 'A';
	ok = ok && verify(&v, body, bad, "1700000000", now) == TELNYX_BAD_SIGNATURE;
	ok = ok && telnyx_verify(&v, body, strlen(body), b64, 86, "1700000000", 10, now, 300) == TELNYX_BAD_SIGNATURE;
	check(ok, "a changed signature does not verify; one not strict base64 of 64 bytes (even of the right bytes) is refused");

	/* The cached key follows the key set. */
	pk = v.pkey;
	ok = ed25519_verifier_set_key(&v, pub) && v.pkey == pk;
	codec_hex_decode(rfc8032[1][0], 64, other, 32);
	ok = ok && ed25519_verifier_set_key(&v, other) && verify(&v, body, b64, "1700000000", now) == TELNYX_MISMATCH;
	ok = ok && ed25519_verifier_set_key(&v, pub) && verify(&v, body, b64, "1700000000", now) == TELNYX_VALID;
	check(ok, "setting the same key keeps the parsed one; another key refuses the callback, the first accepts it again");
	check(verify(&empty, body, b64, "1700000000", now) == TELNYX_NO_KEY &&
		  strcmp(telnyx_verdict_string(TELNYX_STALE), "timestamp is outside the tolerance") == 0,
		  "a verifier without a key refuses everything; verdicts have descriptions");

	/* A body larger than the buffer so far, then an empty one. */
	{
		size_t		big = 100000;
		char	   *large = malloc(big + 1);

		memset(large, 'a', big);
		large[big] = '\0';
		sign_callback("1700000000", large, big, b64);
		ok = verify(&v, large, b64, "1700000000", now) == TELNYX_VALID && v.buf_cap == ED25519_KEEP_MAX;
		sign_callback("1700000000", "", 0, b64);
		ok = ok && telnyx_verify(&v, NULL, 0, b64, 88, "1700000000", 10, now, 300) == TELNYX_VALID;
		free(large);
	}
	ed25519_verifier_free(&v);
	check(ok && v.pkey == NULL && v.buf == NULL && v.buf_cap == 0,
		  "a 100 kB body (in a buffer of its own, not kept) and an empty one verify; free leaves an empty verifier");

	printf("# %d failed\n", failures);
	return failures ? 1 : 0;
}
