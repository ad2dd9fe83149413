/*
 * token_sql.c
 *		SQL functions of purpose-bound signed tokens, under the key ring's
 *		current key, and the check features use in C (token_sql.h).
 *		Internal: never granted to applications.
 *
 * Verification errors say only malformed, invalid or expired: which field
 * failed, or whether the key id is known, is no business of the bearer.
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "core/errors.h"
#include "crypto/keys.h"
#include "crypto/token.h"
#include "crypto/token_sql.h"

/* Seconds from the Unix epoch to PostgreSQL's (2000-01-01). */
#define TOKEN_SQL_EPOCH_SHIFT \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

/* Raises 22023 unless a purpose of len bytes is allowed. */
static void
token_sql_check_purpose(size_t len)
{
	if (len == 0 || len > TOKEN_PURPOSE_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid purpose"),
				 errdetail("purpose must name what the token is for, such as \"export-download\", in 1 to %d bytes.",
						   TOKEN_PURPOSE_MAX)));
}

/* The purpose argument as a C string; 22023 when empty or too long. */
static char *
token_sql_purpose(text *purpose)
{
	token_sql_check_purpose(VARSIZE_ANY_EXHDR(purpose));
	return text_to_cstring(purpose);
}

/* Unix seconds of ts, rounded down. */
static int64
token_sql_unix(TimestampTz ts)
{
	int64		secs = ts / USECS_PER_SEC;

	if (ts % USECS_PER_SEC < 0)
		secs--;
	return secs + TOKEN_SQL_EPOCH_SHIFT;
}

/* The key lookup token_verify calls: the ring's token key of key_id. */
static const uint8_t *
token_sql_lookup(uint32_t key_id, size_t *key_len, void *arg)
{
	const VaultKey *key = keys_find(key_id);

	if (key == NULL)
		return NULL;
	*key_len = sizeof(key->token_key);
	return key->token_key;
}

TokenStatus
token_sql_check(const char *purpose, const char *token, size_t len,
				uint8 *payload, size_t cap, size_t *payload_len)
{
	return token_verify(token, len, purpose, token_sql_unix(GetCurrentTimestamp()),
						token_sql_lookup, NULL, payload, cap, payload_len);
}

text *
token_sql_sign(const char *purpose, const char *payload, size_t len, TimestampTz expires_at)
{
	int64		expires;
	const VaultKey *key;
	char	   *out;

	token_sql_check_purpose(strlen(purpose));
	if (len > TOKEN_PAYLOAD_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid payload"),
				 errdetail("payload must be at most %d bytes.", TOKEN_PAYLOAD_MAX)));
	if (TIMESTAMP_NOT_FINITE(expires_at) || (expires = token_sql_unix(expires_at)) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid expires_at"),
				 errdetail("expires_at must be a finite time after 1970-01-01.")));
	key = keys_current();
	out = palloc(TOKEN_LEN(len));
	if (!token_sign(key->token_key, sizeof(key->token_key), key->id, purpose, expires,
					(const uint8_t *) payload, len, out, TOKEN_LEN(len)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not sign the token")));
	return cstring_to_text(out);
}

/* wib.token_sign(purpose, payload, expires_at): a token for purpose, valid until expires_at. */
PG_FUNCTION_INFO_V1(wib_token_sign);
Datum
wib_token_sign(PG_FUNCTION_ARGS)
{
	char	   *purpose = token_sql_purpose(PG_GETARG_TEXT_PP(0));
	text	   *payload = PG_GETARG_TEXT_PP(1);

	PG_RETURN_TEXT_P(token_sql_sign(purpose, VARDATA_ANY(payload), VARSIZE_ANY_EXHDR(payload),
									PG_GETARG_TIMESTAMPTZ(2)));
}

/*
 * wib.token_verify(purpose, token): the payload of a genuine, unexpired token
 * minted for purpose; WB010 when malformed, forged, altered or minted for
 * another purpose, WB011 when expired.
 */
PG_FUNCTION_INFO_V1(wib_token_verify);
Datum
wib_token_verify(PG_FUNCTION_ARGS)
{
	char	   *purpose = token_sql_purpose(PG_GETARG_TEXT_PP(0));
	text	   *token = PG_GETARG_TEXT_PP(1);
	uint8_t    *payload = palloc(TOKEN_PAYLOAD_MAX + 1);
	size_t		payload_len = 0;
	TokenStatus status;

	status = token_sql_check(purpose, VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token),
							 payload, TOKEN_PAYLOAD_MAX, &payload_len);
	/* Only wib signs, but a payload that is not valid text is refused like a forgery. */
	if (status == TOKEN_OK && !pg_verifymbstr((const char *) payload, (int) payload_len, true))
		status = TOKEN_BAD_SIGNATURE;
	switch (status)
	{
		case TOKEN_OK:
			break;
		case TOKEN_MALFORMED:
			ereport(ERROR,
					(errcode(ERRCODE_WIB_TOKEN_INVALID),
					 errmsg("invalid token"),
					 errdetail("The token is malformed.")));
			break;
		case TOKEN_UNKNOWN_KEY:
		case TOKEN_BAD_SIGNATURE:
			ereport(ERROR,
					(errcode(ERRCODE_WIB_TOKEN_INVALID),
					 errmsg("invalid token"),
					 errdetail("The token was not issued for this purpose or was altered.")));
			break;
		case TOKEN_EXPIRED:
			ereport(ERROR,
					(errcode(ERRCODE_WIB_TOKEN_EXPIRED),
					 errmsg("token expired"),
					 errhint("Ask for a new one.")));
			break;
	}
	PG_RETURN_TEXT_P(cstring_to_text_with_len((const char *) payload, (int) payload_len));
}
