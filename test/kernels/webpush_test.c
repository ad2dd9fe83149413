/*
 * webpush_test.c
 *		RFC 8291 message encryption: appendix A reproduced intermediate by
 *		intermediate, the user agent's side decrypting it, round trips, and
 *		every refusal of malformed keys and messages.
 *
 * Build: cc -I src -o webpush_test test/kernels/webpush_test.c src/push/webpush.c \
 *		src/push/webpush_key.c src/crypto/hmac.c src/crypto/codec.c -lcrypto
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/codec.h"
#include "push/webpush.h"

/* RFC 8291 appendix A, base64url. */
#define A_PLAINTEXT		"When I grow up, I want to be a watermelon"
#define A_AS_PUBLIC		"BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
#define A_AS_PRIVATE	"yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
#define A_UA_PUBLIC		"BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
#define A_UA_PRIVATE	"q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
#define A_SALT			"DGv6ra1nlYgDCS1FRnbzlw"
#define A_AUTH			"BTBZMqHH6r4Tts7J_aSIgg"
#define A_ECDH			"kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs"
#define A_IKM			"S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg"
#define A_PRK			"09_eUZGrsvxChDCGRCdkLiDXrReGOEVeSCdCcPBSJSc"
#define A_CEK			"oIhVW04MRdy2XN9CiKLxTg"
#define A_NONCE			"4h_95klXJ5E_qnoN"
#define A_MESSAGE		"DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"

/* The order n of P-256, big-endian. */
static const char p256_order_hex[] =
"ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

/* Decodes a base64url constant of the test; exits on a typo in this file. */
static size_t
b64(const char *text, uint8_t *out, size_t max)
{
	int			n = codec_base64url_decode(text, strlen(text), out, max);

	if (n < 0)
	{
		fprintf(stderr, "bad constant %s\n", text);
		exit(2);
	}
	return (size_t) n;
}

/* True when bytes equal the base64url constant want; prints both when not. */
static int
same(const uint8_t *got, size_t len, const char *want)
{
	uint8_t		w[256];
	size_t		n = b64(want, w, sizeof(w));
	char		text[CODEC_BASE64URL_LEN(256)];

	if (n == len && memcmp(got, w, n) == 0)
		return 1;
	codec_base64url_encode(got, len, text);
	printf("# got  %s\n# want %s\n", text, want);
	return 0;
}

/* The subscription of appendix A. */
static uint8_t ua_private[32];
static uint8_t ua_public[65];
static uint8_t auth[16];

/* Decrypts msg with the appendix A subscription; true when it opens to want[0..want_len). */
static int
opens_to(const uint8_t *msg, size_t len, const uint8_t *want, size_t want_len)
{
	uint8_t		out[WEBPUSH_MAX_BODY];
	size_t		out_len = 0;
	char		reason[WEBPUSH_REASON_LEN] = "";

	if (!webpush_decrypt(ua_private, ua_public, auth, msg, len, out, sizeof(out), &out_len, reason))
		return 0;
	return out_len == want_len && memcmp(out, want, want_len) == 0;
}

/* True when decrypting msg fails with a reason containing word. */
static int
refused(const uint8_t *msg, size_t len, const char *word)
{
	uint8_t		out[WEBPUSH_MAX_BODY];
	size_t		out_len = 99;
	char		reason[WEBPUSH_REASON_LEN] = "";

	if (webpush_decrypt(ua_private, ua_public, auth, msg, len, out, sizeof(out), &out_len, reason))
		return 0;
	if (strstr(reason, word) == NULL)
		printf("# reason: %s\n", reason);
	return out_len == 0 && strstr(reason, word) != NULL;
}

/*
 * A message of the appendix A keys whose record is content (delimiter and
 * padding as given) under the appendix's CEK and nonce: for the user agent's
 * checks of what follows the plaintext.
 */
static size_t
record_of(const uint8_t *content, size_t len, uint8_t *msg)
{
	uint8_t		cek[16];
	uint8_t		nonce[12];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int			n;

	b64(A_MESSAGE, msg, WEBPUSH_MAX_BODY);	/* its header is kept */
	b64(A_CEK, cek, sizeof(cek));
	b64(A_NONCE, nonce, sizeof(nonce));
	EVP_EncryptInit_ex2(ctx, EVP_aes_128_gcm(), cek, nonce, NULL);
	EVP_EncryptUpdate(ctx, msg + WEBPUSH_HEADER_LEN, &n, content, (int) len);
	EVP_EncryptFinal_ex(ctx, msg + WEBPUSH_HEADER_LEN + len, &n);
	EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, msg + WEBPUSH_HEADER_LEN + len);
	EVP_CIPHER_CTX_free(ctx);
	return WEBPUSH_HEADER_LEN + len + 16;
}

/* Encrypts len bytes with fresh keys and decrypts them; true when they come back. */
static int
round_trip(size_t len)
{
	uint8_t		priv[32];
	uint8_t		pub[65];
	uint8_t		secret[16];
	uint8_t	   *plain = malloc(len + 1);
	uint8_t		msg[WEBPUSH_MAX_BODY];
	uint8_t		back[WEBPUSH_MAX_BODY];
	size_t		msg_len = 0;
	size_t		back_len = 0;
	char		reason[WEBPUSH_REASON_LEN] = "";
	int			ok;

	for (size_t i = 0; i < len; i++)
		plain[i] = (uint8_t) (i * 7 + 1);
	memset(secret, 0x5a, sizeof(secret));
	ok = webpush_keypair(priv, pub, reason) &&
		webpush_encrypt(pub, secret, plain, len, NULL, msg, WEBPUSH_MESSAGE_LEN(len), &msg_len,
						NULL, reason) &&
		msg_len == WEBPUSH_MESSAGE_LEN(len) &&
		webpush_decrypt(priv, pub, secret, msg, msg_len, back, sizeof(back), &back_len, reason) &&
		back_len == len && memcmp(back, plain, len) == 0;
	if (!ok)
		printf("# length %zu: %s\n", len, reason);
	free(plain);
	return ok;
}

int
main(void)
{
	WebPushFixed fixed;
	WebPushTrace trace;
	uint8_t		as_public[65];
	uint8_t		key[65];
	uint8_t		msg[WEBPUSH_MAX_BODY];
	uint8_t		msg2[WEBPUSH_MAX_BODY];
	uint8_t		rfc_msg[256];
	uint8_t		content[64];
	size_t		rfc_len;
	size_t		msg_len = 0;
	size_t		len;
	char		reason[WEBPUSH_REASON_LEN] = "";
	const uint8_t *plain = (const uint8_t *) A_PLAINTEXT;
	size_t		plain_len = strlen(A_PLAINTEXT);
	int			ok;
	int			all;
	int			rs_accepted;

	printf("1..32\n");
	b64(A_UA_PRIVATE, ua_private, 32);
	b64(A_UA_PUBLIC, ua_public, 65);
	b64(A_AUTH, auth, 16);
	b64(A_AS_PRIVATE, fixed.as_private, 32);
	b64(A_SALT, fixed.salt, 16);
	rfc_len = b64(A_MESSAGE, rfc_msg, sizeof(rfc_msg));

	/* keys */
	check(webpush_public_from_private(fixed.as_private, as_public, reason) &&
		  same(as_public, 65, A_AS_PUBLIC) &&
		  webpush_public_from_private(ua_private, key, reason) && same(key, 65, A_UA_PUBLIC),
		  "public keys of appendix A's private keys are its public keys");
	{
		uint8_t		zero[32] = {0};
		uint8_t		order[32];
		uint8_t		above[32];

		codec_hex_decode(p256_order_hex, 64, order, 32);
		memset(above, 0xff, sizeof(above));
		check(!webpush_public_from_private(zero, key, reason) &&
			  !webpush_public_from_private(order, key, reason) &&
			  !webpush_public_from_private(above, key, reason) &&
			  strstr(reason, "scalar") != NULL,
			  "private keys 0, n and 2^256-1 are refused");
	}
	{
		uint8_t		priv[32];
		uint8_t		pub[65];
		uint8_t		priv2[32];
		uint8_t		pub2[65];

		check(webpush_keypair(priv, pub, reason) && webpush_keypair(priv2, pub2, reason) &&
			  webpush_point_valid(pub, 65) && webpush_public_from_private(priv, key, reason) &&
			  memcmp(key, pub, 65) == 0 && memcmp(priv, priv2, 32) != 0,
			  "a fresh key pair is valid, consistent and not repeated");
	}

	/* points */
	memcpy(key, ua_public, 65);
	ok = webpush_point_valid(key, 65);
	key[0] = 0x05;
	ok = ok && !webpush_point_valid(key, 65);
	key[0] = 0x03;
	ok = ok && !webpush_point_valid(key, 33) && !webpush_point_valid(key, 65);
	check(ok, "a point is valid only with the uncompressed prefix 0x04");
	memcpy(key, ua_public, 65);
	key[64] ^= 0x01;
	ok = !webpush_point_valid(key, 65);
	memset(key + 1, 0, 64);
	ok = ok && !webpush_point_valid(key, 65);
	memset(key + 1, 0xff, 64);
	ok = ok && !webpush_point_valid(key, 65);
	check(ok, "points off the curve, (0,0) and coordinates above the prime are refused");
	check(!webpush_point_valid(ua_public, 64) && !webpush_point_valid(ua_public, 66) &&
		  !webpush_point_valid(ua_public, 0) && !webpush_point_valid(NULL, 65),
		  "points of 64, 66 and 0 bytes, and no point, are refused");

	/* appendix A, intermediate by intermediate */
	ok = webpush_encrypt(ua_public, auth, plain, plain_len, &fixed, msg, sizeof(msg), &msg_len,
						 &trace, reason);
	if (!ok)
		printf("# %s\n", reason);
	check(ok && same(trace.ecdh_secret, 32, A_ECDH), "appendix A ecdh_secret");
	check(ok && same(trace.ikm, 32, A_IKM), "appendix A IKM (from PRK_key and key_info)");
	check(ok && same(trace.prk, 32, A_PRK), "appendix A PRK");
	check(ok && same(trace.cek, 16, A_CEK), "appendix A CEK");
	check(ok && same(trace.nonce, 12, A_NONCE), "appendix A NONCE");
	check(ok && same(trace.as_public, 65, A_AS_PUBLIC) && msg_len == WEBPUSH_MESSAGE_LEN(plain_len) &&
		  same(msg, msg_len, A_MESSAGE),
		  "appendix A message, byte for byte (rs 4096, keyid as_public, 0x02, no padding)");
	OPENSSL_cleanse(&trace, sizeof(trace));

	/* the user agent's side */
	check(opens_to(rfc_msg, rfc_len, plain, plain_len),
		  "the appendix A message decrypts to \"When I grow up, I want to be a watermelon\"");

	/* round trips with fresh keys */
	check(round_trip(0), "round trip of an empty payload");
	check(round_trip(1), "round trip of 1 byte");
	check(round_trip(WEBPUSH_MAX_PLAINTEXT) && WEBPUSH_MESSAGE_LEN(WEBPUSH_MAX_PLAINTEXT) == 4096,
		  "round trip of 3993 bytes, a 4096-byte message");
	memset(msg2, 'x', sizeof(msg2));
	check(!webpush_encrypt(ua_public, auth, msg2, WEBPUSH_MAX_PLAINTEXT + 1, NULL, msg, sizeof(msg),
						   &msg_len, NULL, reason) && msg_len == 0 && strstr(reason, "3993") != NULL,
		  "3994 bytes of payload are refused, saying 3993 is the limit");
	{
		uint8_t		other[WEBPUSH_MAX_BODY];
		size_t		other_len = 0;

		ok = webpush_encrypt(ua_public, auth, plain, plain_len, NULL, msg, sizeof(msg), &msg_len,
							 NULL, reason) &&
			webpush_encrypt(ua_public, auth, plain, plain_len, NULL, other, sizeof(other),
							&other_len, NULL, reason);
		check(ok && msg_len == other_len && memcmp(msg, other, 16) != 0 &&
			  memcmp(msg + 21, other + 21, 65) != 0 &&
			  opens_to(msg, msg_len, plain, plain_len) && opens_to(other, other_len, plain, plain_len),
			  "each message has its own salt and key, and both decrypt");
	}
	check(!webpush_encrypt(ua_public, auth, plain, plain_len, NULL, msg,
						   WEBPUSH_MESSAGE_LEN(plain_len) - 1, &msg_len, NULL, reason) &&
		  strstr(reason, "buffer") != NULL,
		  "an output buffer one byte short is refused");
	/* padding after the delimiter: the length says less, the text is the same */
	ok = webpush_encrypt_padded(ua_public, auth, plain, plain_len, 100, NULL, msg, sizeof(msg),
								&msg_len, NULL, reason);
	check(ok && msg_len == WEBPUSH_PADDED_LEN(plain_len, 100) && opens_to(msg, msg_len, plain, plain_len),
		  "a message padded with 100 zero bytes is 100 bytes longer and opens to the same text");
	ok = webpush_encrypt_padded(ua_public, auth, plain, plain_len, WEBPUSH_MAX_PLAINTEXT - plain_len,
								NULL, msg, sizeof(msg), &msg_len, NULL, reason);
	check(ok && msg_len == WEBPUSH_MAX_BODY && opens_to(msg, msg_len, plain, plain_len),
		  "padding up to the 4096-byte limit opens to the same text");
	check(!webpush_encrypt_padded(ua_public, auth, plain, plain_len, WEBPUSH_MAX_PLAINTEXT - plain_len + 1,
								  NULL, msg, sizeof(msg), &msg_len, NULL, reason) && msg_len == 0,
		  "padding past the 4096-byte limit is refused");
	{
		uint8_t		scalar[WEBPUSH_PRIVATE_LEN];
		uint8_t		as_pub[WEBPUSH_PUBLIC_LEN];
		uint8_t		secret[WEBPUSH_SECRET_LEN];

		memset(scalar, 0, sizeof(scalar));
		check(!webpush_agree(scalar, ua_public, as_pub, secret, reason) && strstr(reason, "scalar") != NULL,
			  "ECDH with a zero application server key is refused");
		memset(scalar, 0xff, sizeof(scalar));
		check(!webpush_agree(scalar, ua_public, as_pub, secret, reason) && strstr(reason, "scalar") != NULL,
			  "ECDH with a key not below the group order is refused");
	}
	memcpy(key, ua_public, 65);
	key[40] ^= 0x10;
	check(!webpush_encrypt(key, auth, plain, plain_len, NULL, msg, sizeof(msg), &msg_len, NULL,
						   reason) && strstr(reason, "p256dh") != NULL,
		  "encryption to a subscription key off the curve is refused");

	/* every single flipped bit */
	all = 1;
	rs_accepted = 0;
	for (size_t bit = 0; bit < rfc_len * 8; bit++)
	{
		uint8_t		out[WEBPUSH_MAX_BODY];
		size_t		out_len;
		size_t		byte = bit / 8;

		memcpy(msg, rfc_msg, rfc_len);
		msg[byte] ^= (uint8_t) (1 << (bit % 8));
		if (!webpush_decrypt(ua_private, ua_public, auth, msg, rfc_len, out, sizeof(out), &out_len,
							 reason))
			continue;
		/* RFC 8188 does not authenticate rs: any rs the record fits in opens it unchanged */
		if (byte >= 16 && byte < 20 && out_len == plain_len && memcmp(out, plain, plain_len) == 0)
			rs_accepted++;
		else
		{
			printf("# flipped bit %zu accepted\n", bit);
			all = 0;
		}
	}
	check(all, "every flipped bit outside rs is refused; flips of rs that leave room open the same text");
	printf("# %d of %zu flips (all in rs) still open the same plaintext\n", rs_accepted, rfc_len * 8);

	/* malformed messages */
	ok = 1;
	for (len = 0; len < rfc_len; len++)
		ok = ok && !opens_to(rfc_msg, len, plain, plain_len);
	memcpy(msg, rfc_msg, rfc_len);
	msg[rfc_len] = 0;
	check(ok && refused(msg, rfc_len + 1, "tag"), "every truncation and an appended byte are refused");
	memcpy(msg, rfc_msg, rfc_len);
	msg[20] = 64;
	check(refused(msg, rfc_len, "65-byte"), "a key id length other than 65 is refused");
	msg[20] = 65;
	msg[21] = 0x02;
	check(refused(msg, rfc_len, "point"), "a key id that is not an uncompressed point is refused");
	memcpy(msg, rfc_msg, rfc_len);
	msg[18] = 0;
	msg[19] = 57;				/* one below the record's 58 bytes */
	ok = refused(msg, rfc_len, "more than one record");
	msg[19] = 17;
	check(ok && refused(msg, rfc_len, "minimum"), "rs below the record (two records) and rs below 18 are refused");

	/* what follows the plaintext */
	memcpy(content, "hi\002\000\000\000", 6);
	len = record_of(content, 6, msg);
	check(opens_to(msg, len, (const uint8_t *) "hi", 2), "zero padding after the 0x02 delimiter is stripped");
	content[2] = 0x01;
	len = record_of(content, 6, msg);
	ok = refused(msg, len, "last");
	memset(content, 0, 6);
	len = record_of(content, 6, msg);
	ok = ok && refused(msg, len, "no delimiter");
	len = record_of((const uint8_t *) "hi", 2, msg);
	check(ok && refused(msg, len, "not a delimiter"),
		  "a 0x01 delimiter, all padding, and a record without delimiter are refused");

	printf("# %d failed\n", failures);
	return failures == 0 ? 0 : 1;
}
