/*
 * request.c
 *		The inbound side of a Telnyx callback, as SQL sees it: the signature
 *		check (wib.telnyx_verify against a given key, wib.ivr_verify against
 *		the configured one, before anything is parsed) and the form decoding
 *		(wib.form_value), over the backend-free kernels of crypto/telnyx.c and
 *		http/form_decode.c.
 */
#include "postgres.h"

#include <time.h>

#include "fmgr.h"
#include "utils/builtins.h"

#include "core/errors.h"
#include "crypto/ed25519.h"
#include "crypto/telnyx.h"
#include "http/form_decode.h"
#include "ivr/ivr_settings.h"
#include "ivr/request.h"

PG_FUNCTION_INFO_V1(wib_ivr_verify);
PG_FUNCTION_INFO_V1(wib_telnyx_verify);
PG_FUNCTION_INFO_V1(wib_form_value);

/*
 * Verifiers kept for the life of the backend: one for wib.telnyx_public_key,
 * so its EVP_PKEY is parsed once per change of the setting, and one for keys
 * given to wib.telnyx_verify, so calls with one key parse it once.
 */
static Ed25519Verifier configured_verifier;
static Ed25519Verifier given_verifier;

/* Raises out of memory when OpenSSL could not take a public key. */
static void
set_key_or_error(Ed25519Verifier *v, const uint8_t *key)
{
	if (!ed25519_verifier_set_key(v, key))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("OpenSSL could not load an Ed25519 public key.")));
}

/*
 * Raises WB301 when wib.telnyx_public_key is not set and WB007 when the
 * signature or its timestamp is missing or not right (signature and ts may be
 * NULL).  The error says which check failed but never echoes the request.
 */
void
ivr_request_verify(const char *body, int len, const char *signature, const char *ts)
{
	const uint8_t *key = ivr_telnyx_key();

	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_IVR_KEY_NOT_CONFIGURED),
				 errmsg("telnyx public key is not configured"),
				 errdetail("Callbacks cannot be verified until wib.telnyx_public_key is set."),
				 errhint("Set wib.telnyx_public_key to the base64 public key of the Telnyx account.")));
	if (body == NULL || signature == NULL || ts == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_SIGNATURE_INVALID),
				 errmsg("telnyx signature is invalid"),
				 errdetail("The body, the signature or the timestamp is missing.")));
	set_key_or_error(&configured_verifier, key);
	if (telnyx_verify(&configured_verifier, body, len, signature, strlen(signature),
					  ts, strlen(ts), (int64) time(NULL), ivr_telnyx_tolerance) != TELNYX_VALID)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_SIGNATURE_INVALID),
				 errmsg("telnyx signature is invalid"),
				 errdetail("The signature does not match the body, the key or a timestamp within %d seconds of now.",
						   ivr_telnyx_tolerance)));
}

/* wib.ivr_verify(raw_body bytea, signature text, ts text): ivr_request_verify as SQL. */
Datum
wib_ivr_verify(PG_FUNCTION_ARGS)
{
	bytea	   *body = PG_ARGISNULL(0) ? NULL : PG_GETARG_BYTEA_PP(0);

	ivr_request_verify(body ? VARDATA_ANY(body) : NULL, body ? VARSIZE_ANY_EXHDR(body) : 0,
					   PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1)),
					   PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)));
	PG_RETURN_VOID();
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
	uint8_t		key[ED25519_KEY_LEN];
	int			tolerance = PG_ARGISNULL(4) ? 300 : PG_GETARG_INT32(4);
	text	   *public_key = PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3);

	if (public_key == NULL ||
		!ed25519_decode_key(VARDATA_ANY(public_key), VARSIZE_ANY_EXHDR(public_key), key))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid public_key"),
				 errdetail("public_key must be the base64 of a 32-byte Ed25519 public key.")));
	if (tolerance < 1 || tolerance > TELNYX_MAX_TOLERANCE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid tolerance_seconds"),
				 errdetail("tolerance_seconds must be between 1 and 86400.")));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_BOOL(false);
	set_key_or_error(&given_verifier, key);
	{
		bytea	   *body = PG_GETARG_BYTEA_PP(0);
		text	   *signature = PG_GETARG_TEXT_PP(1);
		text	   *ts = PG_GETARG_TEXT_PP(2);

		PG_RETURN_BOOL(telnyx_verify(&given_verifier, VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body),
									 VARDATA_ANY(signature), VARSIZE_ANY_EXHDR(signature),
									 VARDATA_ANY(ts), VARSIZE_ANY_EXHDR(ts),
									 (int64) time(NULL), tolerance) == TELNYX_VALID);
	}
}

/*
 * Finds key in an application/x-www-form-urlencoded body: true and its first
 * value, decoded, in *value; false when absent.  A value that is not valid
 * UTF-8 (or holds a NUL) is refused (22023 naming the key).
 */
bool
form_find(const char *body, int len, const char *want, StringInfo value)
{
	char	   *out = palloc(len + 1);
	size_t		out_len;

	resetStringInfo(value);
	switch (form_value(body, len, want, strlen(want), out, &out_len))
	{
		case FORM_FOUND:
			appendBinaryStringInfo(value, out, (int) out_len);
			pfree(out);
			return true;
		case FORM_ABSENT:
			break;
		case FORM_BAD_ESCAPE:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid raw_body"),
					 errdetail("The form body has a %% not followed by two hex digits.")));
			break;
		case FORM_NOT_TEXT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid %s", want),
					 errdetail("The form field is not valid UTF-8 text.")));
			break;
	}
	pfree(out);
	return false;
}

/* wib.form_value(body bytea, key text): form_find as SQL; NULL when absent. */
Datum
wib_form_value(PG_FUNCTION_ARGS)
{
	bytea	   *body = PG_GETARG_BYTEA_PP(0);
	char	   *want = text_to_cstring(PG_GETARG_TEXT_PP(1));
	StringInfoData value;

	initStringInfo(&value);
	if (!form_find(VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body), want, &value))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(value.data, value.len));
}
