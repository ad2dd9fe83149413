/*
 * deliver.c
 *		The webhook channel of the deliverer (src/workers/channel.c): claims due
 *		deliveries with a lease, signs each request as it is sent, records the
 *		results, retries on the schedule.
 *
 * Each request is signed with the time it is sent (the engine's start
 * callback), not the time of the claim, so a large batch to slow receivers
 * never arrives with a stale webhook-timestamp.  A delivery that was sent but
 * not recorded (the deliverer died) is sent again with the same webhook-id:
 * at least once, and receivers dedupe on the id.
 */
#include "postgres.h"

#include <openssl/crypto.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "crypto/webhook_sign.h"
#include "http/engine.h"
#include "webhooks/deliver.h"
#include "workers/channel.h"

#define DELIVERY_HEADERS	6
#define SIGNATURE_HEADER_MAX (2 * WEBHOOK_SIG_LEN + 32)
#define TIMESTAMP_HEADER_MAX 48
#define RESPONSE_BODY_KEPT	1024	/* bytes of a receiver's answer recorded */

int			webhook_lease_seconds = 60;
static int	webhook_batch_size = 500;
static int	webhook_disable_after = 10;
static char *webhook_retry_schedule = NULL;

/* The parsed wib.webhook_retry_schedule: the waits in seconds (check hook's extra). */
typedef struct RetrySchedule
{
	int			count;
	double		seconds[FLEXIBLE_ARRAY_MEMBER];
} RetrySchedule;

static const RetrySchedule *retry_schedule = NULL;

/* One claimed delivery and the request that sends it. */
typedef struct Delivery
{
	pg_uuid_t	organization_id;
	pg_uuid_t	id;
	int32		attempt;
	char	   *message_id;
	char	   *url;
	char	   *body;
	char	   *secrets[2];
	int			nsecrets;
	const char *headers[DELIVERY_HEADERS];
	/* Written when the request is sent (sign_delivery), so no palloc then. */
	char		timestamp[TIMESTAMP_HEADER_MAX];
	char		signature[SIGNATURE_HEADER_MAX];
	char		x_signature[SIGNATURE_HEADER_MAX];
} Delivery;

/*
 * Check hook of wib.webhook_retry_schedule: one or more comma-separated
 * "<number> [unit]" waits (s, min, h, d and their spellings; seconds when no
 * unit).  The schedule is parsed here, once, into the waits the retries use,
 * so a value the hook accepts is exactly the schedule that applies.
 */
static bool
check_retry_schedule(char **newval, void **extra, GucSource source)
{
	static const struct
	{
		const char *name;
		double		seconds;
	}			units[] = {
		{"", 1}, {"s", 1}, {"sec", 1}, {"secs", 1}, {"second", 1}, {"seconds", 1},
		{"min", 60}, {"mins", 60}, {"minute", 60}, {"minutes", 60},
		{"h", 3600}, {"hour", 3600}, {"hours", 3600},
		{"d", 86400}, {"day", 86400}, {"days", 86400},
	};
	const char *p = *newval;
	int			count = 1;
	RetrySchedule *parsed;

	if (p == NULL)
		return false;
	for (const char *q = p; *q; q++)
		count += (*q == ',');
	parsed = (RetrySchedule *) malloc(offsetof(RetrySchedule, seconds) + count * sizeof(double));
	if (parsed == NULL)
		return false;
	parsed->count = 0;
	for (;;)
	{
		char		unit[16];
		int			ulen = 0;
		char	   *end;
		double		amount;
		double		factor = -1;

		while (*p == ' ')
			p++;
		amount = strtod(p, &end);
		if (end == p || !isdigit((unsigned char) *p) || amount < 0 || amount > 366 * 86400.0)
			goto bad;
		p = end;
		while (*p == ' ')
			p++;
		while (isalpha((unsigned char) *p) && ulen < (int) sizeof(unit) - 1)
			unit[ulen++] = *p++;
		unit[ulen] = '\0';
		while (*p == ' ')
			p++;
		for (int i = 0; i < lengthof(units); i++)
			if (pg_strcasecmp(unit, units[i].name) == 0)
				factor = units[i].seconds;
		if (factor < 0 || (*p != ',' && *p != '\0') || amount * factor > 366 * 86400.0)
			goto bad;
		parsed->seconds[parsed->count++] = amount * factor;
		if (*p == '\0')
			break;
		p++;
	}
	*extra = parsed;
	return true;

bad:
	free(parsed);
	GUC_check_errdetail("Expected comma-separated waits such as \"1 min, 5 min, 1 hour\" (at most 366 days each).");
	return false;
}

static void
assign_retry_schedule(const char *newval, void *extra)
{
	retry_schedule = (const RetrySchedule *) extra;
}

/* Defines the wib.webhook_* settings; called from _PG_init. */
void
webhook_define_settings(void)
{
	DefineCustomIntVariable("wib.webhook_batch_size",
							"How many due deliveries one deliverer pass claims and sends at once.",
							NULL,
							&webhook_batch_size,
							500, 1, 10000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.webhook_lease",
							"How long a claimed delivery stays leased before another pass may send it again.",
							"Never shorter than the batch could take if every request timed out. A deliverer that dies mid-pass leaves its batch leased; it is sent again when the lease ends (at once when the worker restarts).",
							&webhook_lease_seconds,
							60, 1, 3600,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.webhook_disable_after",
							"Failed deliveries in a row after which a subscription is deactivated (0: never).",
							NULL,
							&webhook_disable_after,
							10, 0, 100000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	DefineCustomStringVariable("wib.webhook_retry_schedule",
							   "Waits before each retry of a failed delivery, comma-separated intervals.",
							   "exponential uses the n-th wait for retry n (the last repeats); linear waits the first one times n.",
							   &webhook_retry_schedule,
							   "1 min,5 min,15 min,1 hour,4 hours",
							   PGC_SUSET,
							   0,
							   check_retry_schedule, assign_retry_schedule, NULL);
}

static void prepare_request(Delivery *d, HttpRequest *req);

/* The channel's claim: leases up to max_items due deliveries and prepares their requests. */
static int
webhook_claim(int max_items, int lease_seconds, MemoryContext mcxt, void **items, HttpRequest *requests)
{
	Oid			types[2] = {INT4OID, INT4OID};
	Datum		values[2] = {Int32GetDatum(max_items), Int32GetDatum(lease_seconds)};
	Delivery   *d;
	int			n;

	if (SPI_execute_with_args("SELECT * FROM wib.webhook_claim($1, pg_catalog.make_interval(secs => $2))",
							  2, types, values, NULL, false, 0) != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("wib deliverer could not claim deliveries")));
	n = (int) SPI_processed;
	d = (Delivery *) MemoryContextAllocZero(mcxt, sizeof(Delivery) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		ArrayType  *secrets;
		Datum	   *elems;
		int			nelems;
		MemoryContext spi = MemoryContextSwitchTo(mcxt);

		memcpy(&d[i].organization_id, DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull)), sizeof(pg_uuid_t));
		memcpy(&d[i].id, DatumGetUUIDP(SPI_getbinval(tup, desc, 2, &isnull)), sizeof(pg_uuid_t));
		d[i].attempt = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		d[i].message_id = SPI_getvalue(tup, desc, 4);
		d[i].url = SPI_getvalue(tup, desc, 5);
		d[i].body = SPI_getvalue(tup, desc, 6);
		secrets = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 7, &isnull));
		deconstruct_array(secrets, TEXTOID, -1, false, TYPALIGN_INT, &elems, NULL, &nelems);
		for (int j = 0; j < nelems && j < 2; j++)
			d[i].secrets[d[i].nsecrets++] = TextDatumGetCString(elems[j]);
		prepare_request(&d[i], &requests[i]);
		MemoryContextSwitchTo(spi);
	}
	*items = d;
	return n;
}

/*
 * The engine's start callback: signs a delivery with every live secret and
 * the time of this moment, right before it is sent.  Runs while other
 * requests are in flight, so it writes only into the Delivery's own buffers
 * and never raises; the decoded keys are wiped on every path.
 */
static void
sign_delivery(HttpRequest *req, void *arg)
{
	Delivery   *d = (Delivery *) arg;
	int64		ts = (int64) time(NULL);
	char	   *p;
	int			signed_count = 0;

	snprintf(d->timestamp, sizeof(d->timestamp), "webhook-timestamp: " INT64_FORMAT, ts);
	strcpy(d->signature, "webhook-signature: ");
	p = d->signature + strlen(d->signature);
	for (int j = 0; j < d->nsecrets; j++)
	{
		uint8_t		key[WEBHOOK_KEY_MAX];
		int			key_len = webhook_secret_key(d->secrets[j], key);
		bool		ok = key_len >= 0 &&
			webhook_sign(key, key_len, d->message_id, ts, req->body, req->body_len,
						 p + (signed_count ? 1 : 0));

		OPENSSL_cleanse(key, sizeof(key));
		if (!ok)
			continue;
		if (signed_count++)
			*p = ' ';
		p += strlen(p);
	}
	snprintf(d->x_signature, sizeof(d->x_signature), "X-WIB-Signature: %s",
			 d->signature + strlen("webhook-signature: "));
}

/* Fills the request of one delivery; it is signed when sent (sign_delivery). */
static void
prepare_request(Delivery *d, HttpRequest *req)
{
	d->timestamp[0] = '\0';
	d->signature[0] = '\0';
	d->x_signature[0] = '\0';
	d->headers[0] = psprintf("webhook-id: %s", d->message_id);
	d->headers[1] = d->timestamp;
	d->headers[2] = d->signature;
	d->headers[3] = d->x_signature;
	d->headers[4] = "Content-Type: application/json";
	d->headers[5] = "Accept: */*";

	/* A tenant's URL: guarded.  Only the head of the answer is kept, without failing. */
	http_request_init(req, "POST", d->url);
	req->headers = d->headers;
	req->nheaders = DELIVERY_HEADERS;
	req->body = d->body;
	req->body_len = strlen(d->body);
	req->max_response = RESPONSE_BODY_KEPT;
	req->truncate_ok = true;
	req->on_start = sign_delivery;
	req->on_start_arg = d;
}

/* The channel's record: every outcome in one call of wib.webhook_record. */
static void
webhook_record(void *items, HttpRequest *reqs, int n)
{
	Delivery   *d = (Delivery *) items;
	Datum	   *orgs = palloc(sizeof(Datum) * n);
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum	   *attempts = palloc(sizeof(Datum) * n);
	Datum	   *statuses = palloc(sizeof(Datum) * n);
	Datum	   *errors = palloc(sizeof(Datum) * n);
	bool	   *error_nulls = palloc(sizeof(bool) * n);
	Datum	   *durations = palloc(sizeof(Datum) * n);
	Datum	   *bodies = palloc(sizeof(Datum) * n);
	Datum	   *retry_after = palloc(sizeof(Datum) * n);
	bool	   *retry_nulls = palloc(sizeof(bool) * n);
	int			dims[1] = {n};
	int			lbs[1] = {1};
	Oid			types[8] = {UUIDARRAYOID, UUIDARRAYOID, INT4ARRAYOID, INT4ARRAYOID,
	TEXTARRAYOID, INT4ARRAYOID, TEXTARRAYOID, INT4ARRAYOID};
	Datum		values[8];

	for (int i = 0; i < n; i++)
	{
		const HttpResult *res = &reqs[i].result;

		orgs[i] = UUIDPGetDatum(&d[i].organization_id);
		ids[i] = UUIDPGetDatum(&d[i].id);
		attempts[i] = Int32GetDatum(d[i].attempt);
		statuses[i] = Int32GetDatum((int32) res->status);
		error_nulls[i] = res->error[0] == '\0';
		errors[i] = error_nulls[i] ? (Datum) 0 : CStringGetTextDatum(res->error);
		durations[i] = Int32GetDatum(res->duration_ms);
		bodies[i] = channel_response_text(&reqs[i]);
		retry_nulls[i] = res->retry_after_seconds < 0;
		retry_after[i] = Int32GetDatum(Max(res->retry_after_seconds, 0));
	}
	values[0] = PointerGetDatum(construct_array(orgs, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
	values[1] = PointerGetDatum(construct_array(ids, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
	values[2] = PointerGetDatum(construct_array(attempts, n, INT4OID, 4, true, TYPALIGN_INT));
	values[3] = PointerGetDatum(construct_array(statuses, n, INT4OID, 4, true, TYPALIGN_INT));
	values[4] = PointerGetDatum(construct_md_array(errors, error_nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
	values[5] = PointerGetDatum(construct_array(durations, n, INT4OID, 4, true, TYPALIGN_INT));
	values[6] = PointerGetDatum(construct_array(bodies, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[7] = PointerGetDatum(construct_md_array(retry_after, retry_nulls, 1, dims, lbs, INT4OID, 4, true, TYPALIGN_INT));

	if (SPI_execute_with_args("SELECT wib.webhook_record($1, $2, $3, $4, $5, $6, $7, $8)",
							  8, types, values, NULL, false, 0) != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("wib deliverer could not record delivery results")));
}

/* The channel's release: deliveries leased by a deliverer that died are due at once. */
static void
webhook_release(void)
{
	SPI_execute("SELECT wib.webhook_release_leases()", false, 0);
}

static int
webhook_channel_batch_size(void)
{
	return webhook_batch_size;
}

const DeliveryChannel webhook_channel = {
	.name = "webhooks",
	.batch_size = webhook_channel_batch_size,
	.claim = webhook_claim,
	.record = webhook_record,
	.release = webhook_release,
};

PG_FUNCTION_INFO_V1(wib_webhook_retry_delay);

/*
 * wib.webhook_retry_delay(policy, attempt): the wait before retry number
 * attempt (1-based): exponential takes the attempt's step of the schedule
 * (the last one repeats), linear the first step times the attempt, none NULL.
 */
Datum
wib_webhook_retry_delay(PG_FUNCTION_ARGS)
{
	char	   *policy = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int32		attempt = Max(PG_GETARG_INT32(1), 1);
	double		seconds;

	if (retry_schedule == NULL || retry_schedule->count == 0)
		PG_RETURN_NULL();
	if (strcmp(policy, "exponential") == 0)
		seconds = retry_schedule->seconds[Min(attempt, retry_schedule->count) - 1];
	else if (strcmp(policy, "linear") == 0)
		seconds = retry_schedule->seconds[0] * attempt;
	else
		PG_RETURN_NULL();
	PG_RETURN_DATUM(DirectFunctionCall7(make_interval,
										Int32GetDatum(0), Int32GetDatum(0), Int32GetDatum(0),
										Int32GetDatum(0), Int32GetDatum(0), Int32GetDatum(0),
										Float8GetDatum(seconds)));
}
