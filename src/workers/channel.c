/*
 * channel.c
 *		The deliverer's pass over its channels, and wib.deliver_due().
 *
 * Adding a channel is one entry in the table below: its claim, record and
 * release functions do the rest.
 */
#include "postgres.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "export/storage_channel.h"
#include "http/http_settings.h"
#include "ivr/telnyx.h"
#include "push/push_deliver.h"
#include "webhooks/deliver.h"
#include "workers/channel.h"
#include "workers/unit.h"

static const DeliveryChannel *const channels[] = {
	&webhook_channel,
	&storage_channel,
	&telnyx_channel,
	&push_channel,
};

#define CHANNEL_COUNT lengthof(channels)

/*
 * How long a pass's claims stay leased: never shorter than the pass could
 * take if every request ran into the timeout, or another pass could send the
 * same items again while this one still works on them.
 */
static int
pass_lease_seconds(int total)
{
	int			waves = (total + http_max_concurrency - 1) / http_max_concurrency;

	return Max(webhook_lease_seconds, waves * ((http_timeout_ms + 999) / 1000) + 10);
}

int
delivery_pass(bool own_xact, int max_items, bool *more)
{
	MemoryContext mcxt = CurrentMemoryContext;
	int			wanted[CHANNEL_COUNT];
	int			claimed[CHANNEL_COUNT];
	void	   *items[CHANNEL_COUNT];
	HttpRequest *requests;
	int			capacity = 0;
	int			total = 0;
	int			lease;
	WorkerUnit	unit;
	TimestampTz t0 = GetCurrentTimestamp();
	TimestampTz t1;
	TimestampTz t2;

	*more = false;
	for (int c = 0; c < CHANNEL_COUNT; c++)
	{
		wanted[c] = max_items > 0 ? max_items : channels[c]->batch_size();
		capacity += wanted[c];
	}
	requests = (HttpRequest *) palloc0(sizeof(HttpRequest) * capacity);
	lease = pass_lease_seconds(capacity);

	worker_unit_begin(&unit, own_xact, "wib deliverer: claiming due work");
	for (int c = 0; c < CHANNEL_COUNT; c++)
	{
		claimed[c] = channels[c]->claim(wanted[c], lease, mcxt, &items[c], requests + total);
		total += claimed[c];
		if (claimed[c] == wanted[c])
			*more = true;
	}
	worker_unit_end(&unit);
	if (total == 0)
		return 0;

	if (own_xact)
		pgstat_report_activity(STATE_RUNNING, "wib deliverer: sending");
	t1 = GetCurrentTimestamp();
	http_engine_run(requests, total);
	t2 = GetCurrentTimestamp();

	worker_unit_begin(&unit, own_xact, "wib deliverer: recording results");
	total = 0;
	for (int c = 0; c < CHANNEL_COUNT; c++)
	{
		if (claimed[c] > 0)
			channels[c]->record(items[c], requests + total, claimed[c]);
		total += claimed[c];
	}
	worker_unit_end(&unit);
	ereport(DEBUG1,
			(errmsg_internal("wib deliverer: %d requests, claim %ld ms, send %ld ms, record %ld ms",
							 total, (long) ((t1 - t0) / 1000), (long) ((t2 - t1) / 1000),
							 (long) ((GetCurrentTimestamp() - t2) / 1000))));
	return total;
}

void
delivery_release_leases(void)
{
	WorkerUnit	unit;

	worker_unit_begin(&unit, true, "wib deliverer: releasing stale leases");
	for (int c = 0; c < CHANNEL_COUNT; c++)
		channels[c]->release();
	worker_unit_end(&unit);
}

PG_FUNCTION_INFO_V1(wib_deliver_due);

/* wib.deliver_due(max_items): one pass over every channel, in the caller's transaction. */
Datum
wib_deliver_due(PG_FUNCTION_ARGS)
{
	int32		max_items = PG_ARGISNULL(0) ? 1000 : PG_GETARG_INT32(0);
	MemoryContext pass_context;
	MemoryContext old;
	bool		more;
	int			n;

	if (max_items < 1 || max_items > 100000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid max_items"),
				 errdetail("max_items must be between 1 and 100000, not %d.", max_items)));
	pass_context = AllocSetContextCreate(CurrentMemoryContext, "wib deliver_due",
										 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(pass_context);
	n = delivery_pass(false, max_items, &more);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(pass_context);
	PG_RETURN_INT32(n);
}

/* A response body as text of the database encoding, cut at the first invalid byte. */
Datum
channel_response_text(const HttpRequest *req)
{
	const char *body = req->result.body ? req->result.body : "";
	int			valid = pg_encoding_verifymbstr(GetDatabaseEncoding(), body, (int) req->result.body_len);

	return PointerGetDatum(cstring_to_text_with_len(body, Max(valid, 0)));
}
