/*
 * request.c
 *		The inbound side of a Telnyx callback: the signature check against the
 *		configured key (before anything is parsed) and the form decoding.
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "core/errors.h"
#include "core/hex.h"
#include "crypto/ed25519.h"
#include "ivr/ivr_settings.h"
#include "ivr/request.h"

PG_FUNCTION_INFO_V1(wib_ivr_verify);
PG_FUNCTION_INFO_V1(wib_form_value);

/*
 * Raises WB301 when wib.telnyx_public_key is not set and WB007 when the
 * signature or its timestamp is missing or not right (signature and ts may be
 * NULL).  The error says which check failed but never echoes the request.
 */
void
ivr_request_verify(const char *body, int len, const char *signature, const char *ts)
{
	unsigned char key[32];

	if (!ed25519_decode_key(ivr_telnyx_public_key, key))
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
	if (!telnyx_signature_ok(body, len, signature, ts, key, ivr_telnyx_tolerance))
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

/* Appends the form-decoded bytes of s[0..len) ('+' is a space, %XX a byte). */
static void
form_decode(StringInfo out, const char *s, int len)
{
	for (int i = 0; i < len; i++)
	{
		if (s[i] == '+')
			appendStringInfoChar(out, ' ');
		else if (s[i] == '%')
		{
			int			hi = i + 2 < len ? hex_digit_value(s[i + 1]) : -1;
			int			lo = i + 2 < len ? hex_digit_value(s[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid raw_body"),
						 errdetail("The form body has a %% not followed by two hex digits.")));
			appendStringInfoChar(out, (char) (hi * 16 + lo));
			i += 2;
		}
		else
			appendStringInfoChar(out, s[i]);
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
	const char *p = body;
	const char *end = body + len;
	StringInfoData name;

	initStringInfo(&name);
	resetStringInfo(value);
	while (p < end)
	{
		const char *amp = memchr(p, '&', end - p);
		const char *pair_end = amp ? amp : end;
		const char *eq = memchr(p, '=', pair_end - p);
		const char *name_end = eq ? eq : pair_end;

		resetStringInfo(&name);
		form_decode(&name, p, name_end - p);
		if (strcmp(name.data, want) == 0 && (int) strlen(name.data) == name.len)
		{
			if (eq)
				form_decode(value, eq + 1, pair_end - eq - 1);
			if ((int) strlen(value->data) != value->len ||
				!pg_verify_mbstr(PG_UTF8, value->data, value->len, true))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid %s", want),
						 errdetail("The form field is not valid UTF-8 text.")));
			pfree(name.data);
			return true;
		}
		p = pair_end + 1;
	}
	pfree(name.data);
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
