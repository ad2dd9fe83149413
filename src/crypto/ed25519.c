/*
 * ed25519.c
 *		wib.telnyx_verify(): Telnyx signs each webhook with Ed25519 over
 *		timestamp || '|' || raw body (PROTOCOLS.md section 3).
 *
 * The check runs on the raw bytes before anything is parsed.  The decision
 * depends only on public data (body, timestamp, signature, public key), and
 * OpenSSL compares the final point in constant time (CRYPTO_memcmp); this
 * code never compares signature bytes itself.  A timestamp outside the
 * window is refused before the (costlier) signature check.
 */
#include "postgres.h"

#include <openssl/evp.h>

#include "common/base64.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "crypto/ed25519.h"

PG_FUNCTION_INFO_V1(wib_telnyx_verify);

#define ED25519_KEY_LEN 32
#define ED25519_SIG_LEN 64

/* The last public key used and its OpenSSL object, kept for the next call. */
static unsigned char cached_key[ED25519_KEY_LEN];
static EVP_PKEY *cached_pkey = NULL;

/* True when signature is a valid Ed25519 signature of message under public_key. */
bool
ed25519_verify(const unsigned char *public_key, const unsigned char *signature,
			   const unsigned char *message, size_t len)
{
	EVP_MD_CTX *ctx;
	int			rc;

	if (cached_pkey == NULL || memcmp(cached_key, public_key, ED25519_KEY_LEN) != 0)
	{
		EVP_PKEY   *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
													   public_key, ED25519_KEY_LEN);

		if (pkey == NULL)
			return false;
		if (cached_pkey != NULL)
			EVP_PKEY_free(cached_pkey);
		cached_pkey = pkey;
		memcpy(cached_key, public_key, ED25519_KEY_LEN);
	}
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	rc = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, cached_pkey);
	if (rc == 1)
		rc = EVP_DigestVerify(ctx, signature, ED25519_SIG_LEN, message, len);
	EVP_MD_CTX_free(ctx);
	return rc == 1;
}

/* Decodes a base64 Ed25519 public key into out (32 bytes); false if it is not one. */
bool
ed25519_decode_key(const char *b64, unsigned char *out)
{
	char		raw[64];
	int			len = b64 ? strlen(b64) : 0;

	if (len != 44 || pg_b64_dec_len(len) > (int) sizeof(raw) ||
		pg_b64_decode(b64, len, raw, sizeof(raw)) != ED25519_KEY_LEN)
		return false;
	memcpy(out, raw, ED25519_KEY_LEN);
	return true;
}

/*
 * Telnyx's check: ts is Unix seconds within tolerance_seconds of now, and
 * signature is base64 of an Ed25519 signature of ts "|" body.
 */
bool
telnyx_signature_ok(const char *body, size_t body_len, const char *signature,
					const char *ts, const unsigned char *public_key, int tolerance_seconds)
{
	char		sig[ED25519_SIG_LEN + 8];
	int			sig_len = signature ? strlen(signature) : 0;
	int			ts_len = ts ? strlen(ts) : 0;
	int64		when = 0;
	int64		now;
	unsigned char *message;
	bool		ok;

	if (ts_len < 1 || ts_len > 12 || sig_len != 88)
		return false;
	for (int i = 0; i < ts_len; i++)
	{
		if (ts[i] < '0' || ts[i] > '9')
			return false;
		when = when * 10 + (ts[i] - '0');
	}
	now = (GetCurrentTimestamp() / USECS_PER_SEC) +
		((POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY);
	if (when > now + tolerance_seconds || when < now - tolerance_seconds)
		return false;
	if (pg_b64_dec_len(sig_len) > (int) sizeof(sig) ||
		pg_b64_decode(signature, sig_len, sig, sizeof(sig)) != ED25519_SIG_LEN)
		return false;

	message = palloc(ts_len + 1 + body_len);
	memcpy(message, ts, ts_len);
	message[ts_len] = '|';
	memcpy(message + ts_len + 1, body, body_len);
	ok = ed25519_verify(public_key, (unsigned char *) sig, message, ts_len + 1 + body_len);
	pfree(message);
	return ok;
}

/*
 * wib.telnyx_verify(raw_body bytea, signature text, ts text, public_key text,
 * tolerance_seconds integer DEFAULT 300) RETURNS boolean.  False for a
 * missing, malformed, wrong or stale signature; an error only for a public
 * key that is not base64 of 32 bytes or a tolerance out of range (the
 * caller's configuration, not the request).
 */
Datum
wib_telnyx_verify(PG_FUNCTION_ARGS)
{
	unsigned char key[ED25519_KEY_LEN];
	int			tolerance = PG_ARGISNULL(4) ? 300 : PG_GETARG_INT32(4);
	char	   *public_key = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	bytea	   *body;

	if (!ed25519_decode_key(public_key, key))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid public_key"),
				 errdetail("public_key must be the base64 of a 32-byte Ed25519 public key.")));
	if (tolerance < 1 || tolerance > 86400)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid tolerance_seconds"),
				 errdetail("tolerance_seconds must be between 1 and 86400.")));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_BOOL(false);
	body = PG_GETARG_BYTEA_PP(0);
	PG_RETURN_BOOL(telnyx_signature_ok(VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body),
									   text_to_cstring(PG_GETARG_TEXT_PP(1)),
									   text_to_cstring(PG_GETARG_TEXT_PP(2)),
									   key, tolerance));
}
