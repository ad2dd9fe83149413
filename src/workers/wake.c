/*
 * wake.c
 *		Wakes background workers when the transaction that gave them work commits.
 *
 * Waking earlier would let a worker look before the rows are visible; waking
 * on abort would be noise.  So callers mark the worker and a transaction
 * callback sets its latch at COMMIT.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "utils/builtins.h"

#include "workers/worker.h"

static bool wake_pending[WORKER_KIND_COUNT];
static bool any_wake_pending = false;
static bool callback_registered = false;

static void
wake_xact_callback(XactEvent event, void *arg)
{
	if (!any_wake_pending)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			for (int kind = 0; kind < WORKER_KIND_COUNT; kind++)
				if (wake_pending[kind])
					(void) worker_status_wake((WorkerKind) kind);
			/* FALLTHROUGH */
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:	/* the worker's poll finds the work after COMMIT PREPARED */
			memset(wake_pending, 0, sizeof(wake_pending));
			any_wake_pending = false;
			break;
		default:
			break;
	}
}

void
worker_wake_at_commit(WorkerKind kind)
{
	if (!callback_registered)
	{
		RegisterXactCallback(wake_xact_callback, NULL);
		callback_registered = true;
	}
	wake_pending[kind] = true;
	any_wake_pending = true;
}

PG_FUNCTION_INFO_V1(wib_wake);

/* wib.wake(worker): wakes the named worker when the current transaction commits. */
Datum
wib_wake(PG_FUNCTION_ARGS)
{
	char	   *name;
	WorkerKind	kind;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("worker must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!worker_kind_from_name(name, &kind))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("worker \"%s\" does not exist", name),
				 errhint("SELECT name FROM wib.worker_status lists the workers.")));
	worker_wake_at_commit(kind);
	PG_RETURN_VOID();
}
