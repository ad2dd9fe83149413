/*
 * webhook_sign.c
 *		Standard Webhooks signing and verification (PROTOCOLS.md §1), in C so
 *		the deliverer signs thousands of messages a second without SQL.
 *
 * The signed content is msg_id "." timestamp "." body; the signature is the
 * base64 of its HMAC-SHA256 under the base64-decoded part of the
 * "whsec_..." secret.  A header may carry several space-separated "v1,"
 * entries (secret rotation); verification accepts any one that matches,
 * comparing in constant time.
 */
#include "postgres.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "crypto/webhook_sign.h"

#define SECRET_PREFIX		"whsec_"
#define SECRET_RANDOM_BYTES	32

/* Value of one base64 character, -1 for padding or anything else. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict standard base64 decoding (padding optional); -1 when malformed or longer than max. */
static int
b64_decode(const char *in, size_t len, uint8_t *out, int max)
{
	uint32_t	acc = 0;
	int			bits = 0;
	int			n = 0;

	while (len > 0 && in[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++)
	{
		int			v = b64_value((unsigned char) in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			if (n >= max)
				return -1;
			out[n++] = (uint8_t) ((acc >> bits) & 0xFF);
		}
	}
	return n;
}

/* The HMAC key of a whsec_ secret; -1 when malformed (see webhook_sign.h). */
int
webhook_secret_key(const char *secret, uint8_t *key)
{
	size_t		plen = strlen(SECRET_PREFIX);
	int			n;

	if (strncmp(secret, SECRET_PREFIX, plen) == 0)
		secret += plen;
	n = b64_decode(secret, strlen(secret), key, WEBHOOK_KEY_MAX);
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
		return false;
	}
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *) out + 3, mac, (int) mac_len);
	return true;
}

/* The HMAC key of a secret argument, or a 22023 error naming the field. */
static int
secret_key_or_error(text *secret, uint8_t *key)
{
	char	   *s = text_to_cstring(secret);
	int			n = webhook_secret_key(s, key);

	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid secret"),
				 errdetail("A secret is \"whsec_\" followed by the base64 of 1 to %d bytes.",
						   WEBHOOK_KEY_MAX)));
	return n;
}

PG_FUNCTION_INFO_V1(wib_sign_webhook);

/* wib.sign_webhook(secret, msg_id, ts, body): the "v1,..." signature of one message. */
Datum
wib_sign_webhook(PG_FUNCTION_ARGS)
{
	uint8_t		key[WEBHOOK_KEY_MAX];
	int			key_len = secret_key_or_error(PG_GETARG_TEXT_PP(0), key);
	char	   *msg_id = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int64		ts = PG_GETARG_INT64(2);
	text	   *body = PG_GETARG_TEXT_PP(3);
	char		sig[WEBHOOK_SIG_LEN];

	if (!webhook_sign(key, key_len, msg_id, ts, VARDATA_ANY(body),
					  VARSIZE_ANY_EXHDR(body), sig))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute the webhook signature")));
	OPENSSL_cleanse(key, sizeof(key));
	PG_RETURN_TEXT_P(cstring_to_text(sig));
}

PG_FUNCTION_INFO_V1(wib_verify_webhook);

/*
 * wib.verify_webhook(secret, msg_id, ts, body, signature_header, tolerance):
 * true when ts is within tolerance seconds of now and any "v1," entry of the
 * header is the signature of the message under secret.
 */
Datum
wib_verify_webhook(PG_FUNCTION_ARGS)
{
	uint8_t		key[WEBHOOK_KEY_MAX];
	int			key_len = secret_key_or_error(PG_GETARG_TEXT_PP(0), key);
	char	   *msg_id = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int64		ts = PG_GETARG_INT64(2);
	text	   *body = PG_GETARG_TEXT_PP(3);
	char	   *header = text_to_cstring(PG_GETARG_TEXT_PP(4));
	int32		tolerance = PG_GETARG_INT32(5);
	int64		now = (int64) time(NULL);
	char		expected[WEBHOOK_SIG_LEN];
	size_t		expected_len;
	bool		match = false;
	char	   *p = header;

	if (tolerance < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid tolerance_seconds"),
				 errdetail("tolerance_seconds must be zero or more, not %d.", tolerance)));
	if (ts < now - tolerance || ts > now + tolerance)
		PG_RETURN_BOOL(false);
	if (!webhook_sign(key, key_len, msg_id, ts, VARDATA_ANY(body),
					  VARSIZE_ANY_EXHDR(body), expected))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute the webhook signature")));
	OPENSSL_cleanse(key, sizeof(key));
	expected_len = strlen(expected);

	/* Every space-separated entry is compared, so timing says nothing about which matched. */
	while (*p)
	{
		size_t		len;

		while (*p == ' ')
			p++;
		len = strcspn(p, " ");
		if (len == expected_len &&
			CRYPTO_memcmp(p, expected, expected_len) == 0)
			match = true;
		p += len;
	}
	PG_RETURN_BOOL(match);
}

PG_FUNCTION_INFO_V1(wib_webhook_new_secret);

/* wib.webhook_new_secret(): "whsec_" + base64 of 32 bytes from a strong random source. */
Datum
wib_webhook_new_secret(PG_FUNCTION_ARGS)
{
	uint8_t		raw[SECRET_RANDOM_BYTES];
	char		out[sizeof(SECRET_PREFIX) + 4 * ((SECRET_RANDOM_BYTES + 2) / 3) + 1];

	if (!pg_strong_random(raw, sizeof(raw)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes for a webhook secret")));
	strcpy(out, SECRET_PREFIX);
	EVP_EncodeBlock((unsigned char *) out + strlen(SECRET_PREFIX), raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	PG_RETURN_TEXT_P(cstring_to_text(out));
}
