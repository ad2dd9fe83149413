/*
 * storage_channel.c
 *		The deliverer's "storage" channel (src/workers/channel.c): deletes of
 *		expired export objects and aborts of multipart uploads, queued in
 *		wib.export_storage_queue and retried until the store confirms them.
 *
 * Queueing them rather than sending them where they arise keeps network
 * I/O out of the transactions that expire or fail exports, and makes each
 * one survive crashes and outages: an item leaves the queue only when the
 * store answered 2xx, or 404 (the object or upload is gone already).
 * Requests are signed at claim time; S3 accepts a signature for 15 minutes,
 * far more than a pass takes.
 */
#include "postgres.h"

#include <openssl/crypto.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/uuid.h"

#include "export/s3_client.h"
#include "export/storage_channel.h"
#include "workers/channel.h"

static int	storage_batch_size = 100;

/* One claimed queue item and its request. */
typedef struct StorageItem
{
	pg_uuid_t	organization_id;
	pg_uuid_t	id;
	S3Call		call;
	char	   *error;			/* why the request could not even be prepared */
} StorageItem;

/* Defines wib.export_storage_batch_size (called from exports_define_settings). */
void
storage_channel_define_settings(void)
{
	DefineCustomIntVariable("wib.export_storage_batch_size",
							"How many object deletes and upload aborts one deliverer pass sends.",
							NULL,
							&storage_batch_size,
							100, 1, 10000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
}

/* Prepares the request of one item; on failure the item carries the reason and its request fails at once. */
static void
prepare_item(StorageItem *it, Jsonb *target, const char *op, char *key, char *upload_id, HttpRequest *req)
{
	S3Target	t;
	char		reason[Max(SIGV4_REASON_LEN, S3_REQUEST_REASON_LEN)];

	if (strcmp(op, "abort_upload") == 0)
	{
		s3_call_init(&it->call, "AbortMultipartUpload", "DELETE", key);
		s3_call_query(&it->call, "uploadId", upload_id);
	}
	else
		s3_call_init(&it->call, "DeleteObject", "DELETE", key);
	it->call.gone_ok = true;

	if (!s3_target_parse(target, &t, reason))
		it->error = psprintf("%s: %s", it->call.op, reason);
	else
	{
		if (!s3_call_prepare(&t, &it->call, reason))
			it->error = psprintf("%s: could not sign the request: %s", it->call.op, reason);
		s3_target_wipe(&t);
	}
	if (it->error != NULL)
	{
		/* No URL: the engine fails the request without sending anything. */
		http_request_init(req, "DELETE", NULL);
		return;
	}
	/* Small requests: the engine's own timeout, which the channel's lease is sized for. */
	it->call.req.timeout_ms = 0;
	*req = it->call.req;
}

/*
 * True when the installed extension has the channel's SQL functions: a
 * database still at 0.1.0 (the library updated, ALTER EXTENSION not yet run)
 * has none, and its webhooks must still be delivered.
 */
static bool
storage_channel_installed(void)
{
	Oid			args[2] = {INT4OID, INTERVALOID};

	return OidIsValid(LookupFuncName(list_make2(makeString("wib"), makeString("export_storage_claim")),
									 2, args, true));
}

/* The channel's claim: leases due queue items and prepares their signed requests. */
static int
storage_claim(int max_items, int lease_seconds, MemoryContext mcxt, void **items, HttpRequest *requests)
{
	Oid			types[2] = {INT4OID, INT4OID};
	Datum		values[2] = {Int32GetDatum(max_items), Int32GetDatum(lease_seconds)};
	StorageItem *it;
	int			n;

	*items = NULL;
	if (!storage_channel_installed())
		return 0;
	if (SPI_execute_with_args("SELECT * FROM wib.export_storage_claim($1, pg_catalog.make_interval(secs => $2))",
							  2, types, values, NULL, false, 0) != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("wib deliverer could not claim object storage work")));
	n = (int) SPI_processed;
	it = (StorageItem *) MemoryContextAllocZero(mcxt, sizeof(StorageItem) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		target;
		MemoryContext spi = MemoryContextSwitchTo(mcxt);
		char	   *op = SPI_getvalue(tup, desc, 3);

		memcpy(&it[i].organization_id, DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull)), sizeof(pg_uuid_t));
		memcpy(&it[i].id, DatumGetUUIDP(SPI_getbinval(tup, desc, 2, &isnull)), sizeof(pg_uuid_t));
		target = SPI_getbinval(tup, desc, 4, &isnull);
		prepare_item(&it[i], isnull ? NULL : DatumGetJsonbP(target), op,
					 SPI_getvalue(tup, desc, 5), SPI_getvalue(tup, desc, 6), &requests[i]);
		MemoryContextSwitchTo(spi);
	}
	*items = it;
	return n;
}

/* The channel's record: done items leave the queue, the others wait for their retry. */
static void
storage_record(void *items, HttpRequest *reqs, int n)
{
	StorageItem *it = (StorageItem *) items;
	Datum	   *orgs = palloc(sizeof(Datum) * n);
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum	   *done = palloc(sizeof(Datum) * n);
	Datum	   *errors = palloc(sizeof(Datum) * n);
	bool	   *error_nulls = palloc(sizeof(bool) * n);
	int			dims[1] = {n};
	int			lbs[1] = {1};
	Oid			types[4] = {UUIDARRAYOID, UUIDARRAYOID, BOOLARRAYOID, TEXTARRAYOID};
	Datum		values[4];

	for (int i = 0; i < n; i++)
	{
		S3Call	   *c = &it[i].call;
		bool		ok = false;
		char	   *error = it[i].error;

		if (error == NULL)
		{
			c->req.result = reqs[i].result;
			s3_call_finish(c);
			ok = c->outcome == S3_OUTCOME_OK || c->outcome == S3_OUTCOME_GONE;
			if (!ok && c->status == 0)
				error = psprintf("%s: %s", c->op, c->message);
			else if (!ok)
				error = psprintf("%s: %ld%s%s%s%s", c->op, c->status, c->code[0] ? " " : "", c->code,
								 c->message[0] ? ": " : "", c->message);
		}
		orgs[i] = UUIDPGetDatum(&it[i].organization_id);
		ids[i] = UUIDPGetDatum(&it[i].id);
		done[i] = BoolGetDatum(ok);
		error_nulls[i] = (error == NULL);
		errors[i] = error ? CStringGetTextDatum(error) : (Datum) 0;
	}
	values[0] = PointerGetDatum(construct_array(orgs, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
	values[1] = PointerGetDatum(construct_array(ids, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
	values[2] = PointerGetDatum(construct_array(done, n, BOOLOID, 1, true, TYPALIGN_CHAR));
	values[3] = PointerGetDatum(construct_md_array(errors, error_nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
	if (SPI_execute_with_args("SELECT wib.export_storage_record($1, $2, $3, $4)",
							  4, types, values, NULL, false, 0) != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("wib deliverer could not record object storage results")));
}

/*
 * The channel's release, when the deliverer starts: items a dead deliverer
 * had leased are due at once, and uploads a crashed job runner left behind
 * (recorded, but their job held by nobody) are queued for abort.
 */
static void
storage_release(void)
{
	if (storage_channel_installed())
		SPI_execute("SELECT wib.export_storage_release()", false, 0);
}

static int
storage_channel_batch_size(void)
{
	return storage_batch_size;
}

const DeliveryChannel storage_channel = {
	.name = "storage",
	.batch_size = storage_channel_batch_size,
	.claim = storage_claim,
	.record = storage_record,
	.release = storage_release,
};
