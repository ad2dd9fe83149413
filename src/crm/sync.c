/*
 * sync.c
 *		The C side of CRM sync: claims an integration, then sends the requests
 *		its SQL side asks for (src/sql/50_crm/52_advance.sql), one at a time,
 *		through the shared HTTP engine with no transaction open, and hands each
 *		answer back to be recorded in a transaction of its own.
 *
 * A unit of work is src/workers/unit.c's: in the worker each claim and each
 * record-and-next step is a transaction of its own (the cursor is committed
 * with the rows it covers); called from SQL (wib.crm_sync) they are nested
 * SPI calls in the caller's transaction.  Before each request the shared
 * limiter (limiter.c) waits for the CRM account's rate limits; a 429 holds
 * the account back (Retry-After, else exponential backoff) and the request
 * is sent again; a failure with no answer is retried only for requests that
 * cannot have taken effect twice (the SQL side marks a call "pushing" before
 * it is created, and looks for it in the CRM instead of creating it again).
 *
 * A request to a URL the CRM account chose (Salesforce's instance_url) says
 * so in ctx.guarded and goes through the SSRF guard; requests to the
 * operator's provider URLs do not.  An answer header the adapter names
 * (usage_header: the account's API usage) goes back to SQL as ctx.limit_info.
 *
 * Requests and answers may carry tokens and client secrets: they are passed
 * to SQL only as parameters (never in statement text), never logged, and
 * wiped from this process's memory once used.
 */
#include "postgres.h"

#include <openssl/crypto.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "crm/adapter.h"
#include "crm/crm_settings.h"
#include "crm/limiter.h"
#include "crm/pace.h"
#include "crm/sync.h"
#include "http/engine.h"
#include "workers/unit.h"

#define CRM_MAX_RESPONSE		(32 * 1024 * 1024)
#define CRM_TRANSIENT_RETRIES	3		/* resends after a 5xx or no answer, at most */
#define CRM_HOLD_WHEN_SPENT_US	USECS_PER_SEC
#define CRM_TOKEN_SLACK_US		(2 * USECS_PER_SEC)	/* a token this close to expiry is not sent */

/* The integration a slice works on. */
typedef struct CrmSlice
{
	pg_uuid_t	org;
	pg_uuid_t	integration;
	pg_uuid_t	lease;
	const CrmAdapter *adapter;
} CrmSlice;

/* A request, as sent; secrets in url, body and auth are wiped after use. */
typedef struct CrmStep
{
	MemoryContext mcxt;			/* everything below lives here */
	char	   *kind;
	char	   *method;
	char	   *url;
	char	   *body;
	size_t		body_len;
	const char *content_type;
	char	   *auth;
	char	   *account;
	bool		search;
	bool		retry_safe;
	bool		guarded;		/* the URL is the CRM account's, not the operator's */
	char	   *ctx;
	TimestampTz not_after;		/* the bearer token expires then (0: no token) */

	/* The answer. */
	int32		status;
	char	   *answer;			/* valid text in the database encoding */
	char	   *error;
	char	   *usage;			/* the adapter's usage header, when answered */
	int32		attempts;
	int32		limited;
} CrmStep;

static void
wipe(char *s)
{
	if (s)
		OPENSSL_cleanse(s, strlen(s));
}

/* Forgets a step: its secrets are wiped, its memory freed. */
static void
step_free(CrmStep *st)
{
	if (st->mcxt == NULL)
		return;
	wipe(st->url);
	if (st->body)
		OPENSSL_cleanse(st->body, st->body_len);
	wipe(st->auth);
	wipe(st->answer);
	MemoryContextDelete(st->mcxt);
	memset(st, 0, sizeof(*st));
}

/* True for the kinds that end a slice. */
static bool
step_ends(const char *kind)
{
	return strcmp(kind, "done") == 0 || strcmp(kind, "lost") == 0 ||
		strcmp(kind, "paused") == 0 || strcmp(kind, "none") == 0;
}

/* Leases the most overdue integration with work (only: that one); false when none. */
static bool
slice_claim(CrmSlice *sl, bool own_xact, const pg_uuid_t *only)
{
	Oid			types[3] = {INT4OID, UUIDOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', only ? ' ' : 'n', ' '};
	WorkerUnit	unit;
	bool		found = false;

	values[0] = Int32GetDatum(crm_lease_seconds);
	values[1] = only ? UUIDPGetDatum((pg_uuid_t *) only) : (Datum) 0;
	values[2] = CStringGetTextDatum(own_xact ? "worker" : psprintf("session %d", MyProcPid));
	worker_unit_begin(&unit, own_xact, "wib crm_sync: claiming due work");
	if (SPI_execute_with_args("SELECT organization_id, integration_id, crm_type, lease_id"
							  "  FROM wib.crm_claim($1, $2, $3)",
							  3, types, values, nulls, false, 0) != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("wib crm_sync could not claim work")));
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *crm_type;

		memcpy(&sl->org, DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull)), sizeof(pg_uuid_t));
		memcpy(&sl->integration, DatumGetUUIDP(SPI_getbinval(tup, desc, 2, &isnull)), sizeof(pg_uuid_t));
		memcpy(&sl->lease, DatumGetUUIDP(SPI_getbinval(tup, desc, 4, &isnull)), sizeof(pg_uuid_t));
		crm_type = SPI_getvalue(tup, desc, 3);
		sl->adapter = crm_adapter(crm_type);
		found = true;
	}
	worker_unit_end(&unit);
	return found;
}

/* The elements of a text[] column as C strings in the current context (n set), or NULL. */
static char **
text_array(HeapTuple tup, TupleDesc desc, int col, int *n)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);
	Datum	   *elems;
	bool	   *nulls;
	char	  **out;

	*n = 0;
	if (isnull)
		return NULL;
	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	out = palloc(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
		out[i] = nulls[i] ? pstrdup("") : TextDatumGetCString(elems[i]);
	return out;
}

/* A column as a C string in the current context, or NULL. */
static char *
text_col(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* Fills a step from the row wib.crm_advance returned (in the step's own context). */
static void
step_from_row(CrmStep *st, HeapTuple tup, TupleDesc desc)
{
	MemoryContext old = MemoryContextSwitchTo(st->mcxt);
	bool		isnull;
	char	  **query;
	char	  **form;
	int			nquery;
	int			nform;
	char	   *json;
	char	   *bearer;
	Datum		d;

	st->kind = text_col(tup, desc, 1);
	if (st->kind == NULL)
		st->kind = pstrdup("done");
	st->method = text_col(tup, desc, 2);
	st->url = text_col(tup, desc, 3);
	query = text_array(tup, desc, 4, &nquery);
	form = text_array(tup, desc, 5, &nform);
	json = text_col(tup, desc, 6);
	bearer = text_col(tup, desc, 7);
	st->account = text_col(tup, desc, 8);
	d = SPI_getbinval(tup, desc, 9, &isnull);
	st->search = !isnull && DatumGetBool(d);
	d = SPI_getbinval(tup, desc, 10, &isnull);
	st->retry_safe = !isnull && DatumGetBool(d);
	st->ctx = text_col(tup, desc, 11);
	d = SPI_getbinval(tup, desc, 12, &isnull);
	st->not_after = isnull ? 0 : (TimestampTz) ((DatumGetFloat8(d) -
												 (double) ((POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY))
												* USECS_PER_SEC);
	d = SPI_getbinval(tup, desc, 13, &isnull);
	st->guarded = !isnull && DatumGetBool(d);

	/* The query string, each name and value percent-encoded. */
	if (st->url && nquery >= 2)
	{
		StringInfoData url;

		initStringInfo(&url);
		appendStringInfoString(&url, st->url);
		for (int i = 0; i + 1 < nquery; i += 2)
			appendStringInfo(&url, "%c%s=%s", i == 0 ? '?' : '&',
							 http_url_encode(query[i]), http_url_encode(query[i + 1]));
		wipe(st->url);
		st->url = url.data;
	}
	if (form != NULL)
	{
		int			npairs = nform / 2;
		const char **names = palloc(sizeof(char *) * Max(npairs, 1));
		const char **values = palloc(sizeof(char *) * Max(npairs, 1));

		for (int i = 0; i < npairs; i++)
		{
			names[i] = form[2 * i];
			values[i] = form[2 * i + 1];
		}
		st->body = http_form_encode(names, values, npairs);
		st->body_len = strlen(st->body);
		st->content_type = "Content-Type: application/x-www-form-urlencoded";
		for (int i = 0; i < nform; i++)
			wipe(form[i]);
	}
	else if (json != NULL)
	{
		st->body = json;
		st->body_len = strlen(json);
		st->content_type = "Content-Type: application/json";
	}
	if (bearer != NULL)
	{
		st->auth = psprintf("Authorization: Bearer %s", bearer);
		wipe(bearer);
	}
	MemoryContextSwitchTo(old);
}

/*
 * One step: records the answer to prev (when given) and fills next with the
 * request that follows, in one unit of work.
 */
static void
slice_advance(CrmSlice *sl, bool own_xact, bool want_next, CrmStep *prev, CrmStep *next)
{
	Oid			types[12] = {UUIDOID, UUIDOID, UUIDOID, BOOLOID, TEXTOID, TEXTOID, INT4OID, TEXTOID,
	TEXTOID, INT4OID, INT4OID, TEXTOID};
	Datum		values[12];
	char		nulls[12];
	WorkerUnit	unit;
	text	   *answer = NULL;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = UUIDPGetDatum(&sl->org);
	values[1] = UUIDPGetDatum(&sl->integration);
	values[2] = UUIDPGetDatum(&sl->lease);
	values[3] = BoolGetDatum(want_next);
	if (prev != NULL)
	{
		values[4] = CStringGetTextDatum(prev->kind);
		values[5] = CStringGetTextDatum(prev->ctx ? prev->ctx : "{}");
		values[6] = Int32GetDatum(prev->status);
		answer = cstring_to_text(prev->answer ? prev->answer : "");
		values[7] = PointerGetDatum(answer);
		values[8] = prev->error ? CStringGetTextDatum(prev->error) : (Datum) 0;
		nulls[8] = prev->error ? ' ' : 'n';
		values[9] = Int32GetDatum(prev->attempts);
		values[10] = Int32GetDatum(prev->limited);
		values[11] = prev->usage ? CStringGetTextDatum(prev->usage) : (Datum) 0;
		nulls[11] = prev->usage ? ' ' : 'n';
	}
	else
	{
		for (int i = 4; i < 12; i++)
		{
			values[i] = (Datum) 0;
			nulls[i] = 'n';
		}
	}

	worker_unit_begin(&unit, own_xact, "wib crm_sync: recording and planning");
	if (SPI_execute_with_args("SELECT kind, method, url, query, form, json_body, bearer, account, search,"
							  "       retry_safe, ctx::text, (ctx ->> 'not_after')::float8, (ctx ->> 'guarded')::boolean"
							  "  FROM wib.crm_advance($1, $2, $3, $4, $5,"
							  "                       $6::jsonb || jsonb_strip_nulls(jsonb_build_object('limit_info', $12)),"
							  "                       $7, $8, $9, $10, $11)",
							  12, types, values, nulls, false, 0) != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("wib crm_sync could not record an answer")));
	step_from_row(next, SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
	worker_unit_end(&unit);
	/* The answer (it may hold tokens) went to SQL as a parameter only; it goes now. */
	if (answer != NULL)
		OPENSSL_cleanse(VARDATA(answer), VARSIZE(answer) - VARHDRSZ);
}

/* The answer body as text: cut at the first byte that is not valid in the database encoding. */
static char *
answer_text(const HttpRequest *req)
{
	const char *body = req->result.body ? req->result.body : "";
	int			len = (int) Min(req->result.body_len, (size_t) MaxAllocSize - 1);
	int			valid = pg_encoding_verifymbstr(GetDatabaseEncoding(), body, len);

	return pnstrdup(body, Max(valid, 0));
}

/*
 * Sends a step's request: waits for the account's rate limits, resends after
 * a 429 (the CRM refused it on arrival: nothing happened) with the backoff,
 * and after a 5xx or no answer only when the request is safe to resend.  The
 * waits of one step stay within half the lease, so the lease never lapses.
 */
static void
slice_send(CrmSlice *sl, CrmStep *st)
{
	MemoryContext old = MemoryContextSwitchTo(st->mcxt);
	const char *headers[4];
	int			nheaders = 0;
	CrmLimits	limits;
	bool		limited = st->account != NULL && sl->adapter != NULL && sl->adapter->limits != NULL;
	int			refusals = 0;
	int			transient = 0;
	int64		waited = 0;
	int64		budget = (int64) crm_lease_seconds * USECS_PER_SEC / 2;

	headers[nheaders++] = "Accept: application/json";
	if (st->content_type)
		headers[nheaders++] = st->content_type;
	if (st->auth)
		headers[nheaders++] = st->auth;
	if (limited)
		sl->adapter->limits(&limits);

	for (;;)
	{
		HttpRequest req;
		long		status;
		int64		wait;

		CHECK_FOR_INTERRUPTS();
		if (limited)
			waited += crm_limiter_acquire(st->account, &limits, st->search);
		/* A token that expired while waiting is not sent: the SQL side refreshes it first, as after a 401. */
		if (st->not_after != 0 && GetCurrentTimestamp() >= st->not_after - CRM_TOKEN_SLACK_US)
		{
			st->status = -1;
			st->answer = pstrdup("");
			st->error = pstrdup("not sent: the access token expired while the request waited for the rate limit");
			break;
		}
		http_request_init(&req, st->method ? st->method : "POST", st->url);
		/* Operator-configured provider URLs are not guarded (TLS is verified all the same). */
		req.guarded = st->guarded;
		req.headers = headers;
		req.nheaders = nheaders;
		req.body = st->body;
		req.body_len = st->body_len;
		req.max_response = CRM_MAX_RESPONSE;
		http_engine_run(&req, 1);
		st->attempts++;
		status = req.result.status;

		if (status == 429)
		{
			st->limited++;
			refusals++;
			if (limited)
				wait = crm_limiter_refused(st->account, req.result.retry_after_seconds);
			else
				wait = pace_backoff(refusals, (int64) crm_backoff_base_ms * 1000, (int64) crm_backoff_max_ms * 1000,
									req.result.retry_after_seconds >= 0 ?
									(int64) req.result.retry_after_seconds * USECS_PER_SEC : -1);
			if (refusals <= crm_max_retries && waited + wait <= budget)
			{
				if (!limited)
					crm_sleep(wait);	/* with an account, the next acquire waits */
				else
					waited += wait;
				continue;
			}
		}
		else if ((status == 0 || status >= 500) && st->retry_safe &&
				 transient < Min(crm_max_retries, CRM_TRANSIENT_RETRIES))
		{
			transient++;
			wait = pace_backoff(transient, (int64) crm_backoff_base_ms * 1000, (int64) crm_backoff_max_ms * 1000,
								req.result.retry_after_seconds >= 0 ?
								(int64) req.result.retry_after_seconds * USECS_PER_SEC : -1);
			if (waited + wait <= budget)
			{
				crm_sleep(wait);
				waited += wait;
				continue;
			}
		}
		else if (status > 0 && status < 500 && limited)
		{
			const char *remaining = sl->adapter->remaining_header ?
				http_response_header(&req, sl->adapter->remaining_header) : NULL;

			crm_limiter_accepted(st->account);
			/* Someone else spends this account's budget too: let its window move on. */
			if (remaining != NULL && strspn(remaining, "0") == strlen(remaining) && remaining[0] != '\0')
				crm_limiter_hold(st->account, CRM_HOLD_WHEN_SPENT_US);
		}

		if (sl->adapter != NULL && sl->adapter->usage_header != NULL)
		{
			const char *usage = http_response_header(&req, sl->adapter->usage_header);

			if (usage != NULL)
				st->usage = pnstrdup(usage, Min(strlen(usage), 200));
		}
		st->status = (int32) status;
		st->answer = answer_text(&req);
		st->error = req.result.error[0] ? pstrdup(req.result.error) : NULL;
		if (req.result.body)
			OPENSSL_cleanse(req.result.body, req.result.body_len);
		break;
	}
	MemoryContextSwitchTo(old);
}

/* A new step with a memory context of its own under parent. */
static void
step_init(CrmStep *st, MemoryContext parent)
{
	memset(st, 0, sizeof(*st));
	st->mcxt = AllocSetContextCreate(parent, "wib crm_sync step", ALLOCSET_DEFAULT_SIZES);
}

/* Gives the lease up at the end of a slice. */
static void
slice_release(CrmSlice *sl, bool own_xact)
{
	Oid			types[3] = {UUIDOID, UUIDOID, UUIDOID};
	Datum		values[3] = {UUIDPGetDatum(&sl->org), UUIDPGetDatum(&sl->integration), UUIDPGetDatum(&sl->lease)};
	WorkerUnit	unit;

	worker_unit_begin(&unit, own_xact, "wib crm_sync: releasing");
	SPI_execute_with_args("SELECT wib.crm_release($1, $2, $3)", 3, types, values, NULL, false, 0);
	worker_unit_end(&unit);
}

/*
 * A slice of work on one integration (only: that one), at most wib.crm_slice
 * long in the worker, to its end from SQL.  Returns the requests sent, or -1
 * when nothing was claimed; *paused when it stopped with work left.
 */
static int64
crm_slice(bool own_xact, const pg_uuid_t *only, bool *paused)
{
	MemoryContext parent = CurrentMemoryContext;
	CrmSlice	sl;
	CrmStep		prev;
	CrmStep		next;
	bool		have_prev = false;
	TimestampTz start = GetCurrentTimestamp();
	int64		sent = 0;
	bool		lost;

	*paused = false;
	if (!slice_claim(&sl, own_xact, only))
		return -1;
	memset(&prev, 0, sizeof(prev));
	for (;;)
	{
		bool		want_next = !own_xact ||
			GetCurrentTimestamp() - start < (int64) crm_slice_seconds * USECS_PER_SEC;

		TimestampTz t0 = GetCurrentTimestamp();
		TimestampTz t1;

		CHECK_FOR_INTERRUPTS();
		step_init(&next, parent);
		slice_advance(&sl, own_xact, want_next, have_prev ? &prev : NULL, &next);
		step_free(&prev);
		have_prev = false;
		if (step_ends(next.kind))
			break;
		if (own_xact)
			pgstat_report_activity(STATE_RUNNING, next.kind);
		t1 = GetCurrentTimestamp();
		slice_send(&sl, &next);
		ereport(DEBUG1,
				(errmsg_internal("wib crm_sync: %s: record and plan %ld ms, send %ld ms (%d attempts, HTTP %d)",
								 next.kind, (long) ((t1 - t0) / 1000),
								 (long) ((GetCurrentTimestamp() - t1) / 1000), next.attempts, next.status)));
		sent += next.attempts;
		prev = next;
		have_prev = true;
	}
	*paused = strcmp(next.kind, "paused") == 0;
	lost = strcmp(next.kind, "lost") == 0;
	step_free(&next);
	if (!lost)
		slice_release(&sl, own_xact);
	return sent;
}

int64
crm_sync_pass(bool *more)
{
	static bool released = false;
	static MemoryContext pass_context = NULL;
	bool		paused;
	int64		n;

	if (pass_context == NULL)
		pass_context = AllocSetContextCreate(TopMemoryContext, "wib crm_sync pass", ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(pass_context);
	MemoryContextSwitchTo(pass_context);

	/* What a crashed predecessor held is due again at once. */
	if (!released)
	{
		WorkerUnit	unit;

		worker_unit_begin(&unit, true, "wib crm_sync: releasing stale leases");
		SPI_execute("SELECT wib.crm_release_stale('worker')", false, 0);
		worker_unit_end(&unit);
		released = true;
	}
	n = crm_slice(true, NULL, &paused);
	*more = n > 0 || paused;
	return Max(n, 0);
}

PG_FUNCTION_INFO_V1(wib_crm_sync);

/*
 * wib.crm_sync(integration): the integration's work now, in the caller's
 * session and transaction: a run is made due when none is in progress, then
 * followed to its end.  Returns the requests sent.
 */
Datum
wib_crm_sync(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *id;
	Oid			types[1] = {UUIDOID};
	Datum		values[1];
	MemoryContext pass_context;
	MemoryContext old;
	int64		total = 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid integration"),
				 errdetail("integration must be the id of a CRM integration.")));
	id = PG_GETARG_UUID_P(0);
	values[0] = UUIDPGetDatum(id);
	SPI_connect();
	if (SPI_execute_with_args("SELECT 1 FROM wib.crm_integrations WHERE id = $1", 1, types, values, NULL, true, 1)
		!= SPI_OK_SELECT || SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("CRM integration %s does not exist", DatumGetCString(DirectFunctionCall1(uuid_out, values[0])))));
	SPI_execute_with_args("UPDATE wib.crm_integrations"
						  "   SET next_sync_at = least(coalesce(next_sync_at, 'infinity'), clock_timestamp()),"
						  "       worker_state = worker_state || '{\"next_trigger\": \"cron\"}'"
						  " WHERE id = $1 AND status = 'connected' AND current_sync_id IS NULL",
						  1, types, values, NULL, false, 0);
	SPI_finish();

	pass_context = AllocSetContextCreate(CurrentMemoryContext, "wib crm_sync", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(pass_context);
	for (;;)
	{
		bool		paused;
		int64		n = crm_slice(false, id, &paused);

		if (n < 0)
			break;
		total += n;
		if (!paused)
			break;
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(pass_context);
	PG_RETURN_INT64(total);
}
