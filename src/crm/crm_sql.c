/*
 * crm_sql.c
 *		Small SQL helpers of CRM sync: random OAuth states and percent-encoding
 *		for the authorize URL.
 */
#include "postgres.h"

#include <openssl/crypto.h>

#include "fmgr.h"
#include "utils/builtins.h"

#include "crypto/codec.h"
#include "http/engine.h"

#define CRM_STATE_BYTES 32

PG_FUNCTION_INFO_V1(wib_crm_random_state);

/* wib.crm_random_state(): 32 bytes of pg_strong_random as base64url (43 characters). */
Datum
wib_crm_random_state(PG_FUNCTION_ARGS)
{
	uint8_t		raw[CRM_STATE_BYTES];
	char		out[CODEC_BASE64URL_LEN(CRM_STATE_BYTES)];
	text	   *result;

	if (!pg_strong_random(raw, sizeof(raw)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes for an OAuth state")));
	codec_base64url_encode(raw, sizeof(raw), out);
	result = cstring_to_text(out);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(out, sizeof(out));
	PG_RETURN_TEXT_P(result);
}

PG_FUNCTION_INFO_V1(wib_crm_url_encode);

/* wib.crm_url_encode(text): RFC 3986 percent-encoding (unreserved characters kept). */
Datum
wib_crm_url_encode(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(http_url_encode(text_to_cstring(PG_GETARG_TEXT_PP(0)))));
}
