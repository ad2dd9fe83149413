/*
 * telnyx.c
 *		Requests to Telnyx's API v2 for inbound numbers: the deliverer's
 *		telnyx channel (orders and releases, outside any caller's transaction)
 *		and the one synchronous request a number search makes.
 *
 * The account (base URL and API key) is the operator's (wib.telnyx_config):
 * the URL is not a tenant's, so requests are not guarded by the SSRF check,
 * while TLS is verified as for every request of the engine.  The key is
 * opened from the vault only into the Authorization header of the requests
 * being sent, and that header is wiped once they are done.
 *
 * The channel's jobs are small state machines kept in wib.telnyx_jobs; the
 * SQL side decides what each request is (wib.telnyx_claim) and what each
 * answer means (wib.telnyx_record).
 */
#include "postgres.h"

#include <openssl/crypto.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/uuid.h"

#include "core/errors.h"
#include "http/engine.h"
#include "http/http_settings.h"
#include "ivr/telnyx.h"
#include "workers/channel.h"

#define TELNYX_HEADERS		3
#define TELNYX_MAX_RESPONSE (256 * 1024)

int			telnyx_search_timeout_ms = 3000;
static int	telnyx_batch_size = 50;
static int	telnyx_retry_delay_s = 10;
static int	telnyx_retry_max_s = 3600;
static int	telnyx_poll_interval_s = 5;

/* The account requests are sent with. */
typedef struct TelnyxAccount
{
	char	   *api_url;
	char	   *authorization;	/* "Authorization: Bearer <key>", wiped after use */
} TelnyxAccount;

/* One claimed job and its request. */
typedef struct TelnyxJob
{
	pg_uuid_t	id;
	int32		attempts;
	char	   *step;
	const char *headers[TELNYX_HEADERS];
} TelnyxJob;

/* What the channel's record needs: the jobs and the account to wipe. */
typedef struct TelnyxBatch
{
	TelnyxAccount account;
	TelnyxJob  *jobs;
} TelnyxBatch;

/* Defines the wib.telnyx_* settings of the API client; called from ivr_define_settings. */
void
telnyx_define_settings(void)
{
	DefineCustomIntVariable("wib.telnyx_search_timeout",
							"Longest a number search waits for Telnyx (the request runs in the caller's transaction).",
							NULL,
							&telnyx_search_timeout_ms,
							3000, 500, 10000,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.telnyx_batch_size",
							"How many due Telnyx orders and releases one deliverer pass sends at once.",
							NULL,
							&telnyx_batch_size,
							50, 1, 1000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.telnyx_retry_delay",
							"Wait before the first retry of a Telnyx request that failed (doubled per failure in a row).",
							NULL,
							&telnyx_retry_delay_s,
							10, 1, 3600,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.telnyx_retry_max",
							"Longest wait between retries of a Telnyx request.",
							"Releases are retried until Telnyx confirms them, at most this far apart.",
							&telnyx_retry_max_s,
							3600, 1, 86400,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.telnyx_poll_interval",
							"How often a pending Telnyx number order is looked at again.",
							NULL,
							&telnyx_poll_interval_s,
							5, 1, 3600,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
}

/*
 * Loads the account into mcxt (SPI is connected); false when no API key is
 * set.  The key leaves the vault only into the Authorization header.
 */
static bool
telnyx_account_load(MemoryContext mcxt, TelnyxAccount *account)
{
	char	   *url;
	char	   *key;
	MemoryContext old;

	if (SPI_execute("SELECT c.api_url, wib.vault_open(c.api_key, NULL, 'telnyx_config.api_key', c.id)"
					" FROM wib.telnyx_config c WHERE c.id = 'telnyx' AND c.api_key IS NOT NULL", true, 1) != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg_internal("could not read the Telnyx account")));
	if (SPI_processed != 1)
		return false;
	url = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	key = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	old = MemoryContextSwitchTo(mcxt);
	account->api_url = pstrdup(url);
	account->authorization = psprintf("Authorization: Bearer %s", key ? key : "");
	MemoryContextSwitchTo(old);
	if (key != NULL)
	{
		OPENSSL_cleanse(key, strlen(key));
		pfree(key);
	}
	return true;
}

/* Wipes the API key from the account's header. */
static void
telnyx_account_forget(TelnyxAccount *account)
{
	if (account->authorization != NULL)
		OPENSSL_cleanse(account->authorization, strlen(account->authorization));
}

/* Fills req: method, the account's URL + path, the JSON body, the headers (headers[3] is the job's). */
static void
telnyx_prepare(HttpRequest *req, const TelnyxAccount *account, const char *method, const char *path,
			   const char *body, const char **headers)
{
	http_request_init(req, method, psprintf("%s%s", account->api_url, path));
	req->guarded = false;		/* the operator's provider URL, not a tenant's */
	headers[0] = account->authorization;
	headers[1] = "Accept: application/json";
	headers[2] = "Content-Type: application/json";
	req->headers = headers;
	req->nheaders = body != NULL ? 3 : 2;
	req->body = body;
	req->body_len = body != NULL ? strlen(body) : 0;
	req->max_response = TELNYX_MAX_RESPONSE;
	req->truncate_ok = true;
}

/* The channel's claim: leases due jobs (wib.telnyx_claim) and prepares their requests. */
static int
telnyx_claim(int max_items, int lease_seconds, MemoryContext mcxt, void **items, HttpRequest *requests)
{
	Oid			types[2] = {INT4OID, INT4OID};
	Datum		values[2] = {Int32GetDatum(max_items), Int32GetDatum(lease_seconds)};
	TelnyxBatch *batch = MemoryContextAllocZero(mcxt, sizeof(TelnyxBatch));
	int			n;

	*items = batch;
	/* Most passes find nothing due: then the key is not even opened. */
	if (SPI_execute("SELECT 1 FROM wib.telnyx_jobs j WHERE j.due_at <= now() LIMIT 1", true, 1) != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("wib deliverer could not look for Telnyx jobs")));
	if (SPI_processed == 0 || !telnyx_account_load(mcxt, &batch->account))
		return 0;				/* nothing due, or not configured: the jobs wait */
	if (SPI_execute_with_args("SELECT id, attempts, step, method, path, body"
							  " FROM wib.telnyx_claim($1, pg_catalog.make_interval(secs => $2))",
							  2, types, values, NULL, false, 0) != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("wib deliverer could not claim Telnyx jobs")));
	n = (int) SPI_processed;
	batch->jobs = MemoryContextAllocZero(mcxt, sizeof(TelnyxJob) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		TelnyxJob  *job = &batch->jobs[i];
		bool		isnull;
		MemoryContext spi = MemoryContextSwitchTo(mcxt);

		memcpy(&job->id, DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull)), sizeof(pg_uuid_t));
		job->attempts = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		job->step = SPI_getvalue(tup, desc, 3);
		telnyx_prepare(&requests[i], &batch->account, SPI_getvalue(tup, desc, 4),
					   SPI_getvalue(tup, desc, 5), SPI_getvalue(tup, desc, 6), job->headers);
		MemoryContextSwitchTo(spi);
	}
	if (n == 0)
		telnyx_account_forget(&batch->account);	/* no record() will follow */
	return n;
}

/* The channel's record: every answer in one call of wib.telnyx_record; the key is wiped first. */
static void
telnyx_record(void *items, HttpRequest *reqs, int n)
{
	TelnyxBatch *batch = (TelnyxBatch *) items;
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum	   *attempts = palloc(sizeof(Datum) * n);
	Datum	   *steps = palloc(sizeof(Datum) * n);
	Datum	   *statuses = palloc(sizeof(Datum) * n);
	Datum	   *bodies = palloc(sizeof(Datum) * n);
	Datum	   *errors = palloc(sizeof(Datum) * n);
	bool	   *error_nulls = palloc(sizeof(bool) * n);
	Datum	   *retry_after = palloc(sizeof(Datum) * n);
	bool	   *retry_nulls = palloc(sizeof(bool) * n);
	int			dims[1] = {n};
	int			lbs[1] = {1};
	Oid			types[7] = {UUIDARRAYOID, INT4ARRAYOID, TEXTARRAYOID, INT4ARRAYOID, TEXTARRAYOID,
	TEXTARRAYOID, INT4ARRAYOID};
	Datum		values[7];

	telnyx_account_forget(&batch->account);
	for (int i = 0; i < n; i++)
	{
		const HttpResult *res = &reqs[i].result;

		ids[i] = UUIDPGetDatum(&batch->jobs[i].id);
		attempts[i] = Int32GetDatum(batch->jobs[i].attempts);
		steps[i] = CStringGetTextDatum(batch->jobs[i].step);
		statuses[i] = Int32GetDatum((int32) res->status);
		bodies[i] = channel_response_text(&reqs[i]);
		error_nulls[i] = res->error[0] == '\0';
		errors[i] = error_nulls[i] ? (Datum) 0 : CStringGetTextDatum(res->error);
		retry_nulls[i] = res->retry_after_seconds < 0;
		retry_after[i] = Int32GetDatum(Max(res->retry_after_seconds, 0));
	}
	values[0] = PointerGetDatum(construct_array(ids, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
	values[1] = PointerGetDatum(construct_array(attempts, n, INT4OID, 4, true, TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_array(steps, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[3] = PointerGetDatum(construct_array(statuses, n, INT4OID, 4, true, TYPALIGN_INT));
	values[4] = PointerGetDatum(construct_array(bodies, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[5] = PointerGetDatum(construct_md_array(errors, error_nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
	values[6] = PointerGetDatum(construct_md_array(retry_after, retry_nulls, 1, dims, lbs, INT4OID, 4, true, TYPALIGN_INT));
	if (SPI_execute_with_args("SELECT wib.telnyx_record($1, $2, $3, $4, $5, $6, $7)",
							  7, types, values, NULL, false, 0) != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("wib deliverer could not record Telnyx answers")));
}

/* The channel's release: jobs leased by a deliverer that died are due at once. */
static void
telnyx_release(void)
{
	SPI_execute("SELECT wib.telnyx_release_leases()", false, 0);
}

static int
telnyx_channel_batch_size(void)
{
	return telnyx_batch_size;
}

const DeliveryChannel telnyx_channel = {
	.name = "telnyx",
	.batch_size = telnyx_channel_batch_size,
	.claim = telnyx_claim,
	.record = telnyx_record,
	.release = telnyx_release,
};

PG_FUNCTION_INFO_V1(wib_telnyx_request);

/*
 * wib.telnyx_request(method, path, body, OUT status, OUT response, OUT
 * error): one request to the account's API in the caller's session, for the
 * number search a settings page waits for.  It is network I/O inside the
 * caller's transaction, bounded by wib.telnyx_search_timeout (connect
 * included).  WB307 when no API key is configured; a failed request is a
 * result (status 0 and the error), not an error.
 */
Datum
wib_telnyx_request(PG_FUNCTION_ARGS)
{
	char	   *method = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *path = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *body = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	TelnyxAccount account;
	const char *headers[TELNYX_HEADERS];
	HttpRequest req;
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	bool		configured;
	MemoryContext caller = CurrentMemoryContext;

	if (method == NULL || path == NULL || path[0] != '/')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid path"),
				 errdetail("method and an absolute path such as /v2/available_phone_numbers are required.")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("wib.telnyx_request must be called in a context that accepts a record")));
	memset(&account, 0, sizeof(account));
	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg_internal("SPI_connect failed")));
	configured = telnyx_account_load(caller, &account);
	SPI_finish();
	if (!configured)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_TELNYX_NOT_CONFIGURED),
				 errmsg("the Telnyx API is not configured"),
				 errdetail("No API key is set."),
				 errhint("An operator sets it with wib.telnyx_configure.")));

	telnyx_prepare(&req, &account, method, path, body, headers);
	req.timeout_ms = telnyx_search_timeout_ms;
	req.connect_timeout_ms = Min(telnyx_search_timeout_ms, http_connect_timeout_ms);
	PG_TRY();
	{
		http_engine_run(&req, 1);
	}
	PG_FINALLY();
	{
		telnyx_account_forget(&account);
	}
	PG_END_TRY();

	values[0] = Int32GetDatum((int32) req.result.status);
	values[1] = channel_response_text(&req);
	nulls[2] = req.result.error[0] == '\0';
	values[2] = nulls[2] ? (Datum) 0 : CStringGetTextDatum(req.result.error);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
