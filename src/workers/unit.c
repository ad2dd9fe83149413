/*
 * unit.c
 *		Begins and ends a unit of a worker's work.
 *
 * In a worker (own_xact) a unit is StartTransactionCommand, a snapshot, SPI
 * and pg_stat_activity, and its mirror image, then the statistics flushed
 * (at most once a second, pgstat's own limit); called from SQL it is only a
 * nested SPI connection inside the caller's transaction.  Either way the
 * caller's memory context is current again afterwards: a commit or abort
 * leaves TopMemoryContext current, where every later allocation would leak.
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "workers/unit.h"

void
worker_unit_begin(WorkerUnit *unit, bool own_xact, const char *activity)
{
	unit->caller = CurrentMemoryContext;
	unit->own_xact = own_xact;
	if (own_xact)
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, activity);
	}
	SPI_connect();
}

void
worker_unit_end(WorkerUnit *unit)
{
	SPI_finish();
	if (unit->own_xact)
	{
		PopActiveSnapshot();
		CommitTransactionCommand();
		pgstat_report_activity(STATE_IDLE, NULL);
		/* Table statistics reach autovacuum while the worker runs, not only when it exits. */
		pgstat_report_stat(false);
	}
	MemoryContextSwitchTo(unit->caller);
}

/* After an error inside a unit a worker runs: rolls it back, caller's context current. */
void
worker_unit_abort(WorkerUnit *unit)
{
	AbortCurrentTransaction();
	MemoryContextSwitchTo(unit->caller);
	pgstat_report_activity(STATE_IDLE, NULL);
	pgstat_report_stat(false);
}
