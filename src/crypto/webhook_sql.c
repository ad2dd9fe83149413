/*
 * webhook_sql.c
 *		The SQL face of Standard Webhooks signatures: wib.sign_webhook,
 *		wib.verify_webhook and wib.webhook_new_secret, over the backend-free
 *		kernel of webhook_sign.c.
 */
#include "postgres.h"

#include <openssl/crypto.h>

#include "fmgr.h"
#include "utils/builtins.h"

#include "crypto/codec.h"
#include "crypto/webhook_sign.h"

#define SECRET_PREFIX		"whsec_"
#define SECRET_RANDOM_BYTES	32

/* The HMAC key of a secret argument, or a 22023 error naming the field. */
static int
secret_key_or_error(text *secret, uint8_t *key)
{
	char	   *s = text_to_cstring(secret);
	int			n = webhook_secret_key(s, key);

	OPENSSL_cleanse(s, strlen(s));
	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid secret"),
				 errdetail("A secret is \"whsec_\" followed by the base64 of 1 to %d bytes.",
						   WEBHOOK_KEY_MAX)));
	return n;
}

/* Raises the error of a signature OpenSSL could not compute. */
static void
signature_failed(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("could not compute the webhook signature")));
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
	bool		ok;

	ok = webhook_sign(key, key_len, msg_id, ts, VARDATA_ANY(body),
					  VARSIZE_ANY_EXHDR(body), sig);
	OPENSSL_cleanse(key, sizeof(key));
	if (!ok)
		signature_failed();
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
	WebhookVerdict verdict;

	if (tolerance < 0)
	{
		OPENSSL_cleanse(key, sizeof(key));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid tolerance_seconds"),
				 errdetail("tolerance_seconds must be zero or more, not %d.", tolerance)));
	}
	verdict = webhook_verify(key, key_len, msg_id, ts, VARDATA_ANY(body),
							 VARSIZE_ANY_EXHDR(body), header, (int64) time(NULL), tolerance);
	OPENSSL_cleanse(key, sizeof(key));
	if (verdict == WEBHOOK_FAILED)
		signature_failed();
	PG_RETURN_BOOL(verdict == WEBHOOK_VALID);
}

PG_FUNCTION_INFO_V1(wib_webhook_new_secret);

/* wib.webhook_new_secret(): "whsec_" + base64 of 32 bytes from a strong random source. */
Datum
wib_webhook_new_secret(PG_FUNCTION_ARGS)
{
	uint8_t		raw[SECRET_RANDOM_BYTES];
	char		out[sizeof(SECRET_PREFIX) + CODEC_BASE64_LEN(SECRET_RANDOM_BYTES)];
	text	   *result;

	if (!pg_strong_random(raw, sizeof(raw)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes for a webhook secret")));
	strcpy(out, SECRET_PREFIX);
	codec_base64_encode(raw, sizeof(raw), out + strlen(SECRET_PREFIX));
	OPENSSL_cleanse(raw, sizeof(raw));
	result = cstring_to_text(out);
	OPENSSL_cleanse(out, sizeof(out));
	PG_RETURN_TEXT_P(result);
}
