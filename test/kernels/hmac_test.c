/*
 * hmac_test.c
 *		RFC 4231 HMAC-SHA256 vectors and FIPS 180-2 SHA-256 vectors, given in
 *		one piece and split into parts.
 *
 * Build: cc -I src -o hmac_test test/kernels/hmac_test.c src/crypto/hmac.c src/crypto/codec.c -lcrypto
 */
#include <stdio.h>
#include <string.h>

#include "crypto/codec.h"
#include "crypto/hmac.h"

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

/* HMAC of msg under key, with the message cut into parts at every cut'th byte. */
static int
hmac_is(const uint8_t *key, size_t key_len, const char *msg, size_t cut, const char *want_hex)
{
	HmacPart	parts[64];
	int			n = 0;
	size_t		len = strlen(msg);
	uint8_t		mac[HMAC_SHA256_LEN];
	char		hex[CODEC_HEX_LEN(HMAC_SHA256_LEN)];

	for (size_t off = 0; off < len || n == 0; off += cut)
	{
		parts[n].data = msg + off;
		parts[n].len = off + cut <= len ? cut : len - off;
		n++;
	}
	if (!hmac_sha256(key, key_len, parts, n, mac))
		return 0;
	codec_hex_encode(mac, sizeof(mac), hex);
	return strcmp(hex, want_hex) == 0;
}

int
main(void)
{
	uint8_t		key1[20];
	uint8_t		key3[20];
	uint8_t		key6[131];
	char		msg3[51];
	const char *msg6 = "Test Using Larger Than Block-Size Key - Hash Key First";
	uint8_t		digest[SHA256_LEN];
	char		hex[CODEC_HEX_LEN(SHA256_LEN)];
	HmacPart	abc[2] = {{"a", 1}, {"bc", 2}};

	printf("1..6\n");
	memset(key1, 0x0b, sizeof(key1));
	memset(key3, 0xaa, sizeof(key3));
	memset(key6, 0xaa, sizeof(key6));
	memset(msg3, 0xdd, 50);
	msg3[50] = '\0';

	check(hmac_is(key1, 20, "Hi There", 100,
				  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7") &&
		  hmac_is(key1, 20, "Hi There", 3,
				  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
		  "RFC 4231 case 1, whole and in parts");
	check(hmac_is((const uint8_t *) "Jefe", 4, "what do ya want for nothing?", 5,
				  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
		  "RFC 4231 case 2 (a key shorter than the block)");
	check(hmac_is(key3, 20, msg3, 7,
				  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
		  "RFC 4231 case 3");
	check(hmac_is(key6, 131, msg6, 10,
				  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
		  "RFC 4231 case 6 (a key longer than the block is hashed first)");
	check(sha256_parts(abc, 2, digest) &&
		  codec_hex_encode(digest, sizeof(digest), hex) &&
		  strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
		  "SHA-256 of \"abc\" given in two parts");
	check(sha256_parts(NULL, 0, digest) &&
		  codec_hex_encode(digest, sizeof(digest), hex) &&
		  strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0,
		  "SHA-256 of the empty message");
	return failures == 0 ? 0 : 1;
}
