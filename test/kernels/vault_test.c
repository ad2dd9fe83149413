/*
 * vault_test.c
 *		The vault's AES-256-GCM envelopes: the published GCM vectors (McGrew
 *		and Viega, test cases 13 to 16, also in NIST's GCM validation set),
 *		the envelope layout, round trips, and every refusal.
 *
 * Build: cc -I src -o vault_test test/kernels/vault_test.c src/crypto/vault.c src/crypto/codec.c -lcrypto
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/codec.h"
#include "crypto/vault.h"
#include "crypto/vault_testing.h"

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

/* Decodes hex into out (at most max bytes); returns the length. */
static size_t
unhex(const char *hex, uint8_t *out, size_t max)
{
	int			n = codec_hex_decode(hex, strlen(hex), out, max);

	if (n < 0)
	{
		fprintf(stderr, "bad hex in test\n");
		exit(2);
	}
	return (size_t) n;
}

/* True when b (len bytes) equals the hex string. */
static int
hex_is(const uint8_t *b, size_t len, const char *hex)
{
	char	   *got = malloc(CODEC_HEX_LEN(len));
	int			ok;

	codec_hex_encode(b, len, got);
	ok = strcmp(got, hex) == 0;
	if (!ok)
		fprintf(stderr, "# got  %s\n# want %s\n", got, hex);
	free(got);
	return ok;
}

/* One published vector through the bare GCM: ciphertext and tag both match. */
static int
gcm_vector(const char *key_hex, const char *iv_hex, const char *plain_hex,
		   const char *aad_hex, const char *ct_hex, const char *tag_hex)
{
	uint8_t		key[32];
	uint8_t		iv[12];
	uint8_t		plain[64];
	uint8_t		aad[32];
	uint8_t		ct[64];
	uint8_t		tag[16];
	size_t		plen;
	size_t		alen;

	unhex(key_hex, key, sizeof(key));
	unhex(iv_hex, iv, sizeof(iv));
	plen = unhex(plain_hex, plain, sizeof(plain));
	alen = unhex(aad_hex, aad, sizeof(aad));
	if (!vault_gcm_encrypt(key, iv, aad, alen, plain, plen, ct, tag))
		return 0;
	return hex_is(ct, plen, ct_hex) && hex_is(tag, 16, tag_hex);
}

/* True when every one of len bytes is zero. */
static int
all_zero(const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

#define TC_KEY	"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
#define TC_IV	"cafebabefacedbaddecaf888"
#define TC_P60	"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
				"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define TC_C60	"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" \
				"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
#define TC_AAD	"feedfacedeadbeeffeedfacedeadbeefabaddad2"
#define ZERO32	"0000000000000000000000000000000000000000000000000000000000000000"

int
main(void)
{
	uint8_t		key[32];
	uint8_t		key2[32];
	uint8_t		nonce[12];
	uint8_t		plain[60];
	uint8_t		env[VAULT_SEALED_LEN(60)];
	uint8_t		env2[VAULT_SEALED_LEN(60)];
	uint8_t		out[64];
	uint8_t		aad[VAULT_AAD_LEN(64, 64)];
	uint8_t		aad_other[VAULT_AAD_LEN(64, 64)];
	uint8_t		hdr_aad[5 + sizeof(aad)];
	uint8_t		tag[16];
	uint8_t		org_a[16];
	uint8_t		org_b[16];
	size_t		aad_len;
	size_t		env_len;
	size_t		env2_len;
	size_t		out_len;
	uint32_t	id;
	char		reason[VAULT_REASON_LEN];
	int			ok;
	static const size_t sizes[] = {0, 1, 15, 16, 17, 255, 4096, 1 << 20};

	printf("1..24\n");
	memset(org_a, 0xa1, sizeof(org_a));
	memset(org_b, 0xb2, sizeof(org_b));

	/* 1-4: the published AES-256-GCM vectors through the primitive under the envelope. */
	check(gcm_vector(ZERO32, "000000000000000000000000", "", "", "",
					 "530f8afbc74536b9a963b4f1c4cb738b"),
		  "GCM test case 13 (empty plaintext, no AAD)");
	check(gcm_vector(ZERO32, "000000000000000000000000", "00000000000000000000000000000000", "",
					 "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"),
		  "GCM test case 14 (one zero block)");
	check(gcm_vector(TC_KEY, TC_IV, TC_P60 "1aafd255", "", TC_C60 "898015ad",
					 "b094dac5d93471bdec1a502270e3cc6c"),
		  "GCM test case 15 (four blocks, no AAD)");
	check(gcm_vector(TC_KEY, TC_IV, TC_P60, TC_AAD, TC_C60, "76fc6ece0f4e1768cddf8853bb2d551b"),
		  "GCM test case 16 (partial block, 20 bytes of AAD)");

	/* 5: the envelope is version || key id || nonce || GCM ciphertext || tag over header-prefixed AAD. */
	unhex(TC_KEY, key, sizeof(key));
	unhex(TC_IV, nonce, sizeof(nonce));
	unhex(TC_P60, plain, sizeof(plain));
	aad_len = unhex(TC_AAD, aad, sizeof(aad));
	memcpy(hdr_aad, "\x01\x01\x02\x03\x04", 5);
	memcpy(hdr_aad + 5, aad, aad_len);
	ok = vault_seal_with_nonce(key, 0x01020304, nonce, aad, aad_len, plain, sizeof(plain),
							   env, sizeof(env), &env_len, reason) &&
		env_len == 60 + VAULT_OVERHEAD && VAULT_OVERHEAD == 33 &&
		hex_is(env, 5, "0101020304") && hex_is(env + 5, 12, TC_IV) &&
		hex_is(env + VAULT_HEADER_LEN, 60, TC_C60) &&
		vault_gcm_encrypt(key, nonce, hdr_aad, 5 + aad_len, plain, sizeof(plain), out, tag) &&
		memcmp(env + VAULT_HEADER_LEN + 60, tag, 16) == 0;
	check(ok, "envelope layout: 0x01, big-endian key id, nonce, the vector's ciphertext, tag over header || AAD");
	check(vault_open(key, aad, aad_len, env, env_len, out, sizeof(out), &out_len, reason) &&
		  out_len == 60 && memcmp(out, plain, 60) == 0,
		  "the fixed-nonce envelope opens to the vector's plaintext");

	/* 7: round trips of many lengths with a random nonce. */
	ok = 1;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
	{
		size_t		n = sizes[i];
		uint8_t    *p = malloc(n + 1);
		uint8_t    *e = malloc(VAULT_SEALED_LEN(n));
		uint8_t    *o = malloc(n + 1);
		size_t		elen;
		size_t		olen;

		for (size_t j = 0; j < n; j++)
			p[j] = (uint8_t) (j * 31 + 7);
		ok = ok && vault_seal(key, 9, aad, aad_len, p, n, e, VAULT_SEALED_LEN(n), &elen, reason) &&
			elen == VAULT_SEALED_LEN(n) &&
			vault_open(key, aad, aad_len, e, elen, o, n, &olen, reason) &&
			olen == n && (n == 0 || memcmp(o, p, n) == 0);
		free(p);
		free(e);
		free(o);
	}
	check(ok, "seal then open is the identity for 0, 1, 15, 16, 17, 255, 4096 and 1 MiB bytes");

	/* 8: fresh nonces. */
	ok = vault_seal(key, 9, aad, aad_len, plain, 60, env, sizeof(env), &env_len, reason) &&
		vault_seal(key, 9, aad, aad_len, plain, 60, env2, sizeof(env2), &env2_len, reason) &&
		memcmp(env + 5, env2 + 5, VAULT_NONCE_LEN) != 0 &&
		memcmp(env + VAULT_HEADER_LEN, env2 + VAULT_HEADER_LEN, 60 + 16) != 0;
	check(ok, "two seals of the same plaintext use different nonces and ciphertexts");

	/* 9: every bit of every byte of the envelope is authenticated; failed opens leave zeros. */
	ok = 1;
	for (size_t i = 0; i < env_len && ok; i++)
		for (int bit = 0; bit < 8 && ok; bit++)
		{
			memcpy(env2, env, env_len);
			env2[i] ^= (uint8_t) (1 << bit);
			memset(out, 0xaa, sizeof(out));
			ok = !vault_open(key, aad, aad_len, env2, env_len, out, sizeof(out), &out_len, reason) &&
				out_len == 0 && (i == 0 || all_zero(out, 60));
		}
	check(ok, "any single flipped bit (version, key id, nonce, ciphertext, tag) is refused and nothing is released");

	/* 10: relabelling the key id with the right key still fails: the header is authenticated. */
	memcpy(env2, env, env_len);
	env2[4] ^= 0x01;
	check(vault_envelope_key_id(env2, env_len, &id) && id == 8 &&
		  !vault_open(key, aad, aad_len, env2, env_len, out, sizeof(out), &out_len, reason),
		  "a key id changed in the header is refused even under the right key");

	/* 11-14: the AAD binds organization, context and row. */
	aad_len = vault_aad_build(org_a, "webhook_subscriptions.secret", 28, "42", 2, aad, sizeof(aad));
	vault_seal(key, 3, aad, aad_len, plain, 60, env, sizeof(env), &env_len, reason);
	{
		size_t		n;

		n = vault_aad_build(org_b, "webhook_subscriptions.secret", 28, "42", 2, aad_other, sizeof(aad_other));
		check(!vault_open(key, aad_other, n, env, env_len, out, sizeof(out), &out_len, reason),
			  "another organization's AAD is refused");
		n = vault_aad_build(org_a, "webhook_subscriptions.secret", 28, "43", 2, aad_other, sizeof(aad_other));
		check(!vault_open(key, aad_other, n, env, env_len, out, sizeof(out), &out_len, reason),
			  "another row's AAD is refused");
		n = vault_aad_build(org_a, "crm_connections.token", 21, "42", 2, aad_other, sizeof(aad_other));
		check(!vault_open(key, aad_other, n, env, env_len, out, sizeof(out), &out_len, reason),
			  "another context's AAD is refused");
		n = vault_aad_build(NULL, "webhook_subscriptions.secret", 28, "42", 2, aad_other, sizeof(aad_other));
		check(!vault_open(key, aad_other, n, env, env_len, out, sizeof(out), &out_len, reason) &&
			  !vault_open(key, NULL, 0, env, env_len, out, sizeof(out), &out_len, reason) &&
			  vault_open(key, aad, aad_len, env, env_len, out, sizeof(out), &out_len, reason),
			  "no organization or no AAD at all is refused; the right AAD opens");
	}

	/* 15: the wrong key, with a reason that names no data. */
	memcpy(key2, key, sizeof(key2));
	key2[31] ^= 0x80;
	ok = !vault_open(key2, aad, aad_len, env, env_len, out, sizeof(out), &out_len, reason) &&
		strstr(reason, "authentication failed") != NULL && strlen(reason) < VAULT_REASON_LEN;
	check(ok, "the wrong key is refused (authentication failed)");

	/* 16: key ids read back. */
	{
		static const uint32_t ids[] = {0, 1, 0x01020304, 2147483647u, 4294967295u};

		ok = 1;
		for (size_t i = 0; i < 5; i++)
			ok = ok && vault_seal(key, ids[i], NULL, 0, plain, 3, env2, sizeof(env2), &env2_len, reason) &&
				vault_envelope_key_id(env2, env2_len, &id) && id == ids[i];
		check(ok, "the key id is read back from the envelope (0 to 4294967295)");
	}

	/* 17-18: truncated or extended envelopes. */
	ok = 1;
	for (size_t n = 0; n < env_len && ok; n++)
		ok = !vault_open(key, aad, aad_len, env, n, out, sizeof(out), &out_len, reason) &&
			(n >= VAULT_OVERHEAD || !vault_envelope_key_id(env, n, &id));
	check(ok, "every truncation of an envelope is refused");
	memcpy(env2, env, env_len);
	env2[env_len] = 0;
	check(!vault_open(key, aad, aad_len, env2, env_len + 1, out, sizeof(out), &out_len, reason),
		  "an envelope with a byte appended is refused");

	/* 19: versions other than 1. */
	memcpy(env2, env, env_len);
	env2[0] = 0x02;
	ok = !vault_open(key, aad, aad_len, env2, env_len, out, sizeof(out), &out_len, reason) &&
		strcmp(reason, "unknown envelope version") == 0 && !vault_envelope_key_id(env2, env_len, &id);
	memcpy(env2, env, env_len);
	env2[0] = 0x00;
	ok = ok && !vault_open(key, aad, aad_len, env2, env_len, out, sizeof(out), &out_len, reason);
	check(ok, "envelope versions 0 and 2 are refused as unknown");
	check(!vault_open(key, aad, aad_len, env, 0, out, sizeof(out), &out_len, reason) &&
		  strcmp(reason, "empty envelope") == 0 &&
		  !vault_open(key, aad, aad_len, env, VAULT_OVERHEAD - 1, out, sizeof(out), &out_len, reason) &&
		  strcmp(reason, "truncated envelope") == 0,
		  "empty and truncated envelopes say so");

	/* 21: buffers too small. */
	ok = !vault_seal(key, 1, NULL, 0, plain, 60, env2, VAULT_SEALED_LEN(60) - 1, &env2_len, reason) &&
		strcmp(reason, "output buffer too small") == 0 &&
		!vault_open(key, aad, aad_len, env, env_len, out, 59, &out_len, reason) &&
		strcmp(reason, "output buffer too small") == 0;
	check(ok, "output buffers one byte too small are refused");

	/* 22-24: the canonical AAD. */
	{
		uint8_t		a1[VAULT_AAD_LEN(3, 3)];
		uint8_t		a2[VAULT_AAD_LEN(3, 3)];
		uint8_t		zero_org[16] = {0};
		size_t		n1;
		size_t		n2;

		n1 = vault_aad_build(NULL, "ab", 2, "c", 1, a1, sizeof(a1));
		n2 = vault_aad_build(NULL, "a", 1, "bc", 2, a2, sizeof(a2));
		check(n1 == VAULT_AAD_LEN(2, 1) && n2 == n1 && memcmp(a1, a2, n1) != 0,
			  "AAD parts are length-prefixed: (\"ab\", \"c\") differs from (\"a\", \"bc\")");
		n1 = vault_aad_build(NULL, "t.c", 3, "1", 1, a1, sizeof(a1));
		n2 = vault_aad_build(zero_org, "t.c", 3, "1", 1, a2, sizeof(a2));
		check(n1 == n2 && memcmp(a1, a2, n1) != 0,
			  "no organization differs from the all-zero organization UUID");
		check(vault_aad_build(NULL, "t.c", 3, "1", 1, a1, VAULT_AAD_LEN(3, 1) - 1) == 0 &&
			  hex_is(a2, n2, "0100000000000000000000000000000000"
					 "00000003742e63" "0000000131"),
			  "a short AAD buffer is refused; the layout is flag, UUID, length-prefixed context and row id");
	}
	return failures == 0 ? 0 : 1;
}
