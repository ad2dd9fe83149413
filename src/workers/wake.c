/*
 * wake.c
 *		Wakes this database's workers, or the launcher, when the transaction
 *		that gave them something to do commits.
 *
 * Waking earlier would let a worker look before the rows are visible; waking
 * on abort would be noise.  So callers mark the worker (or the launcher) and
 * a transaction callback sets its latch at COMMIT.  A worker woken is the one
 * of the current database: each database has its own.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "workers/registry.h"
#include "workers/slots.h"
#include "workers/worker.h"

static uint32 wake_pending = 0;	/* one bit per worker kind */
static bool notify_pending = false;
static bool callback_registered = false;

/* Sets the latches marked during the transaction once it has committed. */
static void
wake_xact_callback(XactEvent event, void *arg)
{
	if (wake_pending == 0 && !notify_pending)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			for (int kind = 0; kind < worker_kind_count(); kind++)
				if (wake_pending & (1U << kind))
					(void) slots_wake_worker(MyDatabaseId, kind);
			if (notify_pending)
				slots_notify_launcher(MyDatabaseId);
			/* FALLTHROUGH */
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:	/* the worker's poll finds the work after COMMIT PREPARED */
			wake_pending = 0;
			notify_pending = false;
			break;
		default:
			break;
	}
}

/* Registers the transaction callback once per backend. */
static void
wake_register_callback(void)
{
	if (!callback_registered)
	{
		RegisterXactCallback(wake_xact_callback, NULL);
		callback_registered = true;
	}
}

/* Marks this database's worker of a kind to be woken when the current transaction commits. */
void
worker_wake_at_commit(WorkerKind kind)
{
	wake_register_callback();
	wake_pending |= 1U << kind;
}

/* Marks every worker of this database to be woken at COMMIT. */
void
worker_wake_all_at_commit(void)
{
	for (int kind = 0; kind < worker_kind_count(); kind++)
		worker_wake_at_commit(kind);
}

/*
 * Marks this database for the launcher to look at when the current
 * transaction commits: it probes the database and serves it if the extension
 * is there, at the library's version.
 */
void
launcher_notify_at_commit(void)
{
	if (!slots_ready())
		return;
	wake_register_callback();
	notify_pending = true;
}

PG_FUNCTION_INFO_V1(wib_wake);

/* wib.wake(worker): wakes the named worker of this database when the current transaction commits. */
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
	{
		StringInfoData names;

		initStringInfo(&names);
		for (int k = 0; k < worker_kind_count(); k++)
			appendStringInfo(&names, "%s%s", k > 0 ? ", " : "", worker_kind(k)->name);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("worker \"%s\" does not exist", name),
				 errhint("The workers are: %s.", names.data)));
	}
	worker_wake_at_commit(kind);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(wib_launcher_notify);

/*
 * wib.launcher_notify(): the extension script calls it, so the launcher
 * starts this database's workers once CREATE (or ALTER) EXTENSION wib
 * commits.  Without preloading there is no launcher and it does nothing.
 */
Datum
wib_launcher_notify(PG_FUNCTION_ARGS)
{
	launcher_notify_at_commit();
	PG_RETURN_VOID();
}
