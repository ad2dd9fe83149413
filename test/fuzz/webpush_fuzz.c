/*
 * webpush_fuzz.c
 *		libFuzzer target for RFC 8291 encryption, with the fixed keys and salt
 *		of RFC 8291 appendix A, so runs are reproducible.  Properties:
 *		- encrypting the input and decrypting the message gives the input back;
 *		- the input, read as a message, decrypts only if it is exactly what
 *		  encrypting its plaintext with these keys gives (apart from rs, which
 *		  RFC 8188 leaves unauthenticated), so no mutation of a valid message
 *		  opens to anything;
 *		- the message of the input with one bit flipped, or cut short, does not
 *		  decrypt (a flip in rs may open it, to the same plaintext only).
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o webpush_fuzz \
 *		test/fuzz/webpush_fuzz.c src/push/webpush.c src/push/webpush_key.c \
 *		src/crypto/hmac.c src/crypto/codec.c -lcrypto
 * Run:   ./webpush_fuzz -max_total_time=60 test/fuzz/corpus/webpush
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/codec.h"
#include "push/webpush.h"

static uint8_t ua_private[WEBPUSH_PRIVATE_LEN];
static uint8_t ua_public[WEBPUSH_PUBLIC_LEN];
static uint8_t auth[WEBPUSH_AUTH_LEN];
static WebPushFixed fixed;
static bool ready = false;

/* Stops the run with what failed. */
static void
fail(const char *what, const char *reason)
{
	fprintf(stderr, "property violated: %s (%s)\n", what, reason ? reason : "");
	abort();
}

/* Decodes the appendix A keys once. */
static void
setup(void)
{
	static const char *ua_priv_b64 = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
	static const char *ua_pub_b64 = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
	static const char *auth_b64 = "BTBZMqHH6r4Tts7J_aSIgg";
	static const char *as_priv_b64 = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
	static const char *salt_b64 = "DGv6ra1nlYgDCS1FRnbzlw";

	if (codec_base64url_decode(ua_priv_b64, strlen(ua_priv_b64), ua_private, 32) != 32 ||
		codec_base64url_decode(ua_pub_b64, strlen(ua_pub_b64), ua_public, 65) != 65 ||
		codec_base64url_decode(auth_b64, strlen(auth_b64), auth, 16) != 16 ||
		codec_base64url_decode(as_priv_b64, strlen(as_priv_b64), fixed.as_private, 32) != 32 ||
		codec_base64url_decode(salt_b64, strlen(salt_b64), fixed.salt, 16) != 16)
		fail("test keys decode", NULL);
	ready = true;
}

/* A small hash of the input, to pick a bit to flip and a length to cut to. */
static uint32_t
fnv1a(const uint8_t *data, size_t size)
{
	uint32_t	h = 2166136261u;

	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	return h;
}

/* True when a and b (both len bytes) differ only in the rs field. */
static bool
same_but_rs(const uint8_t *a, const uint8_t *b, size_t len)
{
	return memcmp(a, b, 16) == 0 && memcmp(a + 20, b + 20, len - 20) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t msg[WEBPUSH_MAX_BODY];
	static uint8_t again[WEBPUSH_MAX_BODY];
	static uint8_t plain[WEBPUSH_MAX_BODY];
	size_t		len = size < WEBPUSH_MAX_PLAINTEXT ? size : WEBPUSH_MAX_PLAINTEXT;
	size_t		msg_len = 0;
	size_t		again_len = 0;
	size_t		plain_len = 0;
	uint32_t	h = fnv1a(data, size);
	size_t		bit;
	char		reason[WEBPUSH_REASON_LEN] = "";

	if (!ready)
		setup();

	/* encrypt then decrypt is the identity */
	if (!webpush_encrypt(ua_public, auth, data, len, &fixed, msg, sizeof(msg), &msg_len, NULL, reason) ||
		msg_len != WEBPUSH_MESSAGE_LEN(len))
		fail("encrypt", reason);
	if (!webpush_decrypt(ua_private, ua_public, auth, msg, msg_len, plain, sizeof(plain), &plain_len,
						 reason) ||
		plain_len != len || memcmp(plain, data, len) != 0)
		fail("decrypt(encrypt(x)) == x", reason);

	/* one flipped bit, then a cut: refused, or (rs) the same plaintext */
	bit = h % (msg_len * 8);
	msg[bit / 8] ^= (uint8_t) (1u << (bit % 8));
	if (webpush_decrypt(ua_private, ua_public, auth, msg, msg_len, plain, sizeof(plain), &plain_len,
						reason) &&
		!(bit / 8 >= 16 && bit / 8 < 20 && plain_len == len && memcmp(plain, data, len) == 0))
		fail("a message with a flipped bit does not decrypt", NULL);
	msg[bit / 8] ^= (uint8_t) (1u << (bit % 8));
	if (webpush_decrypt(ua_private, ua_public, auth, msg, (h >> 8) % msg_len, plain, sizeof(plain),
						&plain_len, reason))
		fail("a message cut short does not decrypt", NULL);

	/* the input as a message: it opens only if it is this key's message for its plaintext */
	if (webpush_decrypt(ua_private, ua_public, auth, data, size, plain, sizeof(plain), &plain_len,
						reason))
	{
		if (!webpush_encrypt(ua_public, auth, plain, plain_len, &fixed, again, sizeof(again),
							 &again_len, NULL, reason) ||
			again_len != size || !same_but_rs(again, data, size))
			fail("only unaltered messages decrypt", NULL);
	}
	return 0;
}
