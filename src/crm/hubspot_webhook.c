/*
 * hubspot_webhook.c
 *		wib.crm_hubspot_verify(): the v3 signature of an inbound HubSpot
 *		webhook (src/crm/hubspot_signature.c) checked on the raw bytes, with
 *		the header names matched in any case.  Errors say which check failed,
 *		never what the request held.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "core/errors.h"
#include "crm/hubspot_signature.h"

/* The string value of the header called name (any case) in a JSON object of headers, or NULL. */
static char *
header_value(Jsonb *headers, const char *name, int *len)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		matched = false;

	if (!JB_ROOT_IS_OBJECT(headers))
		return NULL;
	it = JsonbIteratorInit(&headers->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			matched = v.type == jbvString && v.val.string.len == (int) strlen(name) &&
				pg_strncasecmp(v.val.string.val, name, v.val.string.len) == 0;
		else if (tok == WJB_VALUE && matched && v.type == jbvString)
		{
			*len = v.val.string.len;
			return v.val.string.val;
		}
	}
	return NULL;
}

PG_FUNCTION_INFO_V1(wib_crm_hubspot_verify);

/*
 * wib.crm_hubspot_verify(secret, method, uri, raw_body, headers): returns
 * when X-HubSpot-Signature-v3 is the request's signature under the app's
 * client secret and X-HubSpot-Request-Timestamp is within five minutes of
 * now; raises WB506 for a timestamp outside the window and WB007 otherwise.
 */
Datum
wib_crm_hubspot_verify(PG_FUNCTION_ARGS)
{
	text	   *secret;
	text	   *method;
	text	   *uri;
	bytea	   *body;
	Jsonb	   *headers;
	char	   *sig;
	char	   *ts;
	int			sig_len = 0;
	int			ts_len = 0;
	int64		now_ms;
	HubspotSigStatus st;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_WIB_CRM_NOT_CONFIGURED),
				 errmsg("CRM \"hubspot\" is not configured"),
				 errhint("An operator sets the OAuth app with wib.crm_provider_set.")));
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_WIB_SIGNATURE_INVALID),
				 errmsg("hubspot webhook signature is invalid"),
				 errdetail("The method, URI, body or headers are missing.")));
	secret = PG_GETARG_TEXT_PP(0);
	method = PG_GETARG_TEXT_PP(1);
	uri = PG_GETARG_TEXT_PP(2);
	body = PG_GETARG_BYTEA_PP(3);
	headers = PG_GETARG_JSONB_P(4);
	sig = header_value(headers, "X-HubSpot-Signature-v3", &sig_len);
	ts = header_value(headers, "X-HubSpot-Request-Timestamp", &ts_len);

	now_ms = GetCurrentTimestamp() / 1000 +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;
	st = hubspot_sig_v3_check((const uint8_t *) VARDATA_ANY(secret), VARSIZE_ANY_EXHDR(secret),
							  VARDATA_ANY(method), VARSIZE_ANY_EXHDR(method),
							  VARDATA_ANY(uri), VARSIZE_ANY_EXHDR(uri),
							  (const uint8_t *) VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body),
							  ts, ts ? ts_len : 0, sig, sig ? sig_len : 0,
							  now_ms, HUBSPOT_SIG_WINDOW_MS);
	if (st == HUBSPOT_SIG_STALE)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_CRM_WEBHOOK_STALE),
				 errmsg("hubspot webhook is outside the five-minute window"),
				 errdetail("%s", hubspot_sig_status_reason(st))));
	if (st != HUBSPOT_SIG_OK)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_SIGNATURE_INVALID),
				 errmsg("hubspot webhook signature is invalid"),
				 errdetail("%s", hubspot_sig_status_reason(st))));
	PG_RETURN_VOID();
}
