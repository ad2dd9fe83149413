/*
 * download.c
 *		Download tokens of exports: the export's pre-signed link.
 *
 * A download token is a signed token of the crypto layer (crypto/token.h)
 * for the purpose "export-download" whose payload is
 * "<job id>.<organization id>", signed under the key ring's current key as
 * wib.token_sign('export-download', ...) signs.  Because the purpose is part of the MAC, a
 * token minted for anything else (a QR login, ...) never opens an export,
 * and a download token is good for nothing else.  Checking one here maps the
 * token layer's statuses to the export API's codes (WB201 forged, altered or
 * malformed; WB202 expired) and remembers the opened export for the rest of
 * the transaction, so wib.export_read may read it without a tenant context.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "core/errors.h"
#include "crypto/token.h"
#include "crypto/token_sql.h"

#define DOWNLOAD_PURPOSE		"export-download"
#define DOWNLOAD_UUID_LEN		36
/* "<job id>.<organization id>" */
#define DOWNLOAD_PAYLOAD_LEN	(DOWNLOAD_UUID_LEN + 1 + DOWNLOAD_UUID_LEN)

/* The token opened last, valid for the rest of the transaction that opened it. */
static pg_uuid_t opened_job;
static pg_uuid_t opened_org;
static TimestampTz opened_expires;
static LocalTransactionId opened_lxid = InvalidLocalTransactionId;

/* Raises WB201 for a token that is malformed, forged, altered or of another purpose. */
static void
download_invalid(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_WIB_EXPORT_TOKEN_INVALID),
			 errmsg("invalid download token"),
			 errdetail("The token is malformed, was altered, or was not issued for downloads.")));
}

/* True when s[0..DOWNLOAD_UUID_LEN) is a UUID in canonical lower-case form. */
static bool
download_is_uuid(const char *s)
{
	for (int i = 0; i < DOWNLOAD_UUID_LEN; i++)
	{
		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (s[i] != '-')
				return false;
		}
		else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/* The UUID of the canonical text at s (checked by download_is_uuid). */
static Datum
download_uuid(const char *s)
{
	char		text[DOWNLOAD_UUID_LEN + 1];

	memcpy(text, s, DOWNLOAD_UUID_LEN);
	text[DOWNLOAD_UUID_LEN] = '\0';
	return DirectFunctionCall1(uuid_in, CStringGetDatum(text));
}

/*
 * wib.export_token_sign(job, organization, expires_at): the download token of
 * a job, valid until expires_at.  Internal.
 */
PG_FUNCTION_INFO_V1(wib_export_token_sign);
Datum
wib_export_token_sign(PG_FUNCTION_ARGS)
{
	char	   *job = DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(0)));
	char	   *org = DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(1)));
	char	   *payload = psprintf("%s.%s", job, org);

	PG_RETURN_TEXT_P(token_sql_sign(DOWNLOAD_PURPOSE, payload, strlen(payload), PG_GETARG_TIMESTAMPTZ(2)));
}

/*
 * wib.export_token_verify(token): (job_id, organization_id, expires_at) of a
 * genuine, unexpired download token; WB201 when forged, altered, malformed or
 * minted for another purpose, WB202 when expired.  Opens the export for the
 * rest of the transaction.
 */
PG_FUNCTION_INFO_V1(wib_export_token_verify);
Datum
wib_export_token_verify(PG_FUNCTION_ARGS)
{
	text	   *token;
	const char *tok;
	size_t		tok_len;
	uint8		payload[DOWNLOAD_PAYLOAD_LEN];
	size_t		payload_len = 0;
	int64		expires_s = 0;
	TimestampTz expires;
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (PG_ARGISNULL(0))
		download_invalid();
	token = PG_GETARG_TEXT_PP(0);
	tok = VARDATA_ANY(token);
	tok_len = VARSIZE_ANY_EXHDR(token);

	switch (token_sql_check(DOWNLOAD_PURPOSE, tok, tok_len, payload, sizeof(payload), &payload_len))
	{
		case TOKEN_OK:
			break;
		case TOKEN_EXPIRED:
			/* Genuine (the MAC is checked first), so its expiry is the one signed. */
			if (token_expiry(tok, tok_len, &expires_s))
				ereport(ERROR,
						(errcode(ERRCODE_WIB_EXPORT_TOKEN_EXPIRED),
						 errmsg("download token expired"),
						 errdetail("The token expired at %s.",
								   timestamptz_to_str(time_t_to_timestamptz((pg_time_t) expires_s))),
						 errhint("Ask for a new download link.")));
			ereport(ERROR,
					(errcode(ERRCODE_WIB_EXPORT_TOKEN_EXPIRED),
					 errmsg("download token expired"),
					 errhint("Ask for a new download link.")));
			break;
		case TOKEN_MALFORMED:
		case TOKEN_UNKNOWN_KEY:
		case TOKEN_BAD_SIGNATURE:
			download_invalid();
			break;
	}
	/* Only wib.export_token_sign mints these, but the payload is checked all the same. */
	if (payload_len != DOWNLOAD_PAYLOAD_LEN || payload[DOWNLOAD_UUID_LEN] != '.' ||
		!download_is_uuid((const char *) payload) ||
		!download_is_uuid((const char *) payload + DOWNLOAD_UUID_LEN + 1) ||
		!token_expiry(tok, tok_len, &expires_s))
		download_invalid();
	expires = time_t_to_timestamptz((pg_time_t) expires_s);

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg_internal("return type must be a row type")));
	values[0] = download_uuid((const char *) payload);
	values[1] = download_uuid((const char *) payload + DOWNLOAD_UUID_LEN + 1);
	values[2] = TimestampTzGetDatum(expires);

	/* Remember it: wib.export_read may now read this one job in this transaction. */
	opened_job = *DatumGetUUIDP(values[0]);
	opened_org = *DatumGetUUIDP(values[1]);
	opened_expires = expires;
	opened_lxid = MyProc->lxid;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/*
 * wib.export_token_org(job): the organization of job when a token for it was
 * opened in the current transaction and has not expired since; else NULL.
 */
PG_FUNCTION_INFO_V1(wib_export_token_org);
Datum
wib_export_token_org(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *job = PG_GETARG_UUID_P(0);
	pg_uuid_t  *org;

	if (opened_lxid == InvalidLocalTransactionId || opened_lxid != MyProc->lxid ||
		memcmp(job, &opened_job, sizeof(pg_uuid_t)) != 0 ||
		opened_expires <= GetCurrentTimestamp())
		PG_RETURN_NULL();
	org = palloc(sizeof(pg_uuid_t));
	*org = opened_org;
	PG_RETURN_UUID_P(org);
}
