/*
 * prepare_guard.c
 *		wib.refuse_prepare(reason): the current transaction must not be
 *		prepared for two-phase commit.
 *
 * Citus commits a transaction that wrote on more than one node by preparing
 * each node's part.  A part that itself wrote to other nodes (a trigger on a
 * shard writing a reference table, by nested distributed execution) is
 * prepared without those writes, and Citus 13.0 then crashes the worker's
 * backend at its connection's next command.  Code that makes such writes
 * marks its transaction here; preparing it then fails with the reason given,
 * which aborts the whole distributed transaction before any node committed.
 * A transaction that Citus commits in one phase (it wrote on one worker) is
 * not affected.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

static char *refusal = NULL;	/* in TopTransactionContext */
static bool callback_registered = false;

/* Refuses PREPARE TRANSACTION of a marked transaction; forgets the mark at its end. */
static void
prepare_guard_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			if (refusal != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("this transaction cannot be prepared"),
						 errdetail_internal("%s", refusal)));
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			refusal = NULL;
			break;
		default:
			break;
	}
}

PG_FUNCTION_INFO_V1(wib_refuse_prepare);

/* wib.refuse_prepare(reason text): marks the current transaction (reason: a full sentence). */
Datum
wib_refuse_prepare(PG_FUNCTION_ARGS)
{
	char	   *reason = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (!callback_registered)
	{
		RegisterXactCallback(prepare_guard_xact_callback, NULL);
		callback_registered = true;
	}
	if (refusal == NULL)
		refusal = MemoryContextStrdup(TopTransactionContext, reason);
	PG_RETURN_VOID();
}
