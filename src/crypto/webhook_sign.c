/*
 * webhook_sign.c
 *		Standard Webhooks signing and verification, per its specification,
 *		in C so the deliverer signs thousands of messages a second without SQL.
 *
 * The signed content is msg_id "." timestamp "." body; the signature is the
 * base64 of its HMAC-SHA256 under the base64-decoded part of the
 * "whsec_..." secret.  A header may carry several space-separated "v1,"
 * entries (secret rotation); verification accepts any one that matches,
 * comparing in constant time.
 */
#include "crypto/webhook_sign.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "crypto/codec.h"

#define SECRET_PREFIX		"whsec_"

/* The HMAC key of a whsec_ secret; -1 when malformed (see webhook_sign.h). */
int
webhook_secret_key(const char *secret, uint8_t *key)
{
	size_t		plen = strlen(SECRET_PREFIX);
	int			n;

	if (strncmp(secret, SECRET_PREFIX, plen) == 0)
		secret += plen;
	n = codec_base64_decode(secret, strlen(secret), key, WEBHOOK_KEY_MAX);
	return n > 0 ? n : -1;
}

/* Writes the "v1,<base64>" signature of msg_id.ts.body under key into out. */
bool
webhook_sign(const uint8_t *key, int key_len, const char *msg_id,
			 int64_t ts, const char *body, size_t body_len, char *out)
{
	/*
	 * One HMAC context per process, kept keyed: signing many messages with
	 * one secret (a batch, a benchmark) then skips the key set-up and the
	 * context allocation, which cost more than hashing a small body.
	 */
	static EVP_MAC *mac_algo = NULL;
	static EVP_MAC_CTX *ctx = NULL;
	static uint8_t ctx_key[WEBHOOK_KEY_MAX];
	static int	ctx_key_len = -1;
	char		tsbuf[32];
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t		mac_len = 0;
	int			tslen;
	bool		ok;

	if (key_len <= 0 || key_len > WEBHOOK_KEY_MAX)
		return false;
	if (ctx == NULL)
	{
		if (mac_algo == NULL)
			mac_algo = EVP_MAC_fetch(NULL, "HMAC", NULL);
		if (mac_algo == NULL || (ctx = EVP_MAC_CTX_new(mac_algo)) == NULL)
			return false;
		ctx_key_len = -1;
	}
	if (key_len == ctx_key_len && CRYPTO_memcmp(key, ctx_key, key_len) == 0)
		ok = EVP_MAC_init(ctx, NULL, 0, NULL) == 1;
	else
	{
		OSSL_PARAM	params[2];

		params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *) "SHA256", 0);
		params[1] = OSSL_PARAM_construct_end();
		ok = EVP_MAC_init(ctx, key, key_len, params) == 1;
		if (ok)
		{
			memcpy(ctx_key, key, key_len);
			ctx_key_len = key_len;
		}
		else
			ctx_key_len = -1;
	}
	tslen = snprintf(tsbuf, sizeof(tsbuf), ".%lld.", (long long) ts);
	ok = ok &&
		EVP_MAC_update(ctx, (const unsigned char *) msg_id, strlen(msg_id)) == 1 &&
		EVP_MAC_update(ctx, (const unsigned char *) tsbuf, tslen) == 1 &&
		EVP_MAC_update(ctx, (const unsigned char *) body, body_len) == 1 &&
		EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) == 1;
	if (!ok || mac_len != 32)
	{
		ctx_key_len = -1;
		OPENSSL_cleanse(mac, sizeof(mac));
		return false;
	}
	memcpy(out, "v1,", 3);
	codec_base64_encode(mac, mac_len, out + 3);
	OPENSSL_cleanse(mac, sizeof(mac));
	return true;
}

/* True when some space-separated entry of header is expected (see webhook_sign.h). */
bool
webhook_header_matches(const char *header, const char *expected)
{
	size_t		expected_len = strlen(expected);
	bool		match = false;
	const char *p = header;

	while (*p)
	{
		size_t		len;

		while (*p == ' ')
			p++;
		len = strcspn(p, " ");
		if (len == expected_len && CRYPTO_memcmp(p, expected, expected_len) == 0)
			match = true;
		p += len;
	}
	return match;
}

/* Verifies a delivery's timestamp and signature header (see webhook_sign.h). */
WebhookVerdict
webhook_verify(const uint8_t *key, int key_len, const char *msg_id,
			   int64_t ts, const char *body, size_t body_len,
			   const char *header, int64_t now, int32_t tolerance)
{
	char		expected[WEBHOOK_SIG_LEN];
	bool		match;

	/* |ts - now| computed in unsigned arithmetic, which cannot overflow. */
	if (tolerance < 0 ||
		(ts < now && (uint64_t) now - (uint64_t) ts > (uint64_t) tolerance) ||
		(ts > now && (uint64_t) ts - (uint64_t) now > (uint64_t) tolerance))
		return WEBHOOK_STALE;
	if (!webhook_sign(key, key_len, msg_id, ts, body, body_len, expected))
		return WEBHOOK_FAILED;
	match = webhook_header_matches(header, expected);
	OPENSSL_cleanse(expected, sizeof(expected));
	return match ? WEBHOOK_VALID : WEBHOOK_MISMATCH;
}
