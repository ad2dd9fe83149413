/*
 * worker.c
 *		Registration and main loop shared by all of wib's background workers.
 *
 * Each worker connects to wib.database_name, waits quietly until the
 * extension is installed there, then runs its pass whenever its latch is set
 * (a commit woke it) or its poll interval passes.  An error in a pass is
 * logged, counted in wib.worker_status and followed by the next pass: one bad
 * item must not stop the worker.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timeout.h"

#include "workers/scheduler.h"
#include "workers/worker.h"

#define WORKER_RESTART_SECONDS 5

char	   *worker_database_name = NULL;
int			worker_poll_interval_ms = 1000;

/* The entry point of each worker kind, looked up by name in wib.so. */
static const char *const worker_entry_points[WORKER_KIND_COUNT] = {
	[WORKER_SCHEDULER] = "wib_scheduler_main",
	[WORKER_DELIVERER] = "wib_deliverer_main",
	[WORKER_CRM_SYNC] = "wib_crm_sync_main",	/* src/crm/sync.c */
};

/* Settings fixed at server start; defined only while preloading. */
void
worker_define_startup_settings(void)
{
	DefineCustomStringVariable("wib.database_name",
							   "Database whose wib extension the background workers serve.",
							   NULL,
							   &worker_database_name,
							   "postgres",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);
}

/* Reloadable settings of the workers. */
void
worker_define_settings(void)
{
	DefineCustomIntVariable("wib.worker_poll_interval",
							"How long a background worker sleeps when nothing woke it.",
							NULL,
							&worker_poll_interval_ms,
							1000, 10, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	scheduler_define_settings();
}

/* Registers every worker with the postmaster; called from _PG_init while preloading. */
void
workers_register(void)
{
	for (int kind = 0; kind < WORKER_KIND_COUNT; kind++)
	{
		BackgroundWorker worker;

		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
		worker.bgw_restart_time = WORKER_RESTART_SECONDS;
		strlcpy(worker.bgw_library_name, "wib", BGW_MAXLEN);
		strlcpy(worker.bgw_function_name, worker_entry_points[kind], BGW_MAXLEN);
		snprintf(worker.bgw_name, BGW_MAXLEN, "wib %s", worker_kind_name(kind));
		snprintf(worker.bgw_type, BGW_MAXLEN, "wib %s", worker_kind_name(kind));
		worker.bgw_main_arg = Int32GetDatum(kind);
		RegisterBackgroundWorker(&worker);
	}
}

/*
 * True when the wib extension is installed in the connected database.
 * Committing leaves CurrentMemoryContext at TopMemoryContext, so the caller's
 * context is restored: passes allocate in the loop context, reset each turn.
 */
static bool
extension_installed(void)
{
	MemoryContext caller = CurrentMemoryContext;
	bool		installed;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	installed = OidIsValid(get_extension_oid("wib", true));
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);
	return installed;
}

/* What PostgreSQL's own main loop does after an error, minus the client. */
static void
recover_from_error(WorkerKind kind, MemoryContext loop_context)
{
	HOLD_INTERRUPTS();
	disable_all_timeouts(false);
	QueryCancelPending = false;
	EmitErrorReport();
	AbortOutOfAnyTransaction();
	MemoryContextSwitchTo(loop_context);
	FlushErrorState();
	RESUME_INTERRUPTS();
	worker_status_add(kind, 0, 1);
}

void
worker_run(WorkerKind kind, WorkerPass pass)
{
	const char *name = worker_kind_name(kind);
	MemoryContext loop_context;
	bool		waiting_logged = false;
	volatile bool more = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	worker_status_started(kind);
	BackgroundWorkerInitializeConnection(worker_database_name, NULL, 0);
	pgstat_report_appname(psprintf("wib %s", name));
	/* Nothing a database's users create may shadow what the worker's SQL calls. */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);

	loop_context = AllocSetContextCreate(TopMemoryContext, "wib worker loop",
										 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(loop_context);

	for (;;)
	{
		if (!more)
		{
			if (!waiting_logged)
				worker_status_set_state(kind, "idle");
			pgstat_report_activity(STATE_IDLE, NULL);
			(void) WaitLatch(MyLatch,
							 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 worker_poll_interval_ms,
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
		more = false;
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		if (!extension_installed())
		{
			if (!waiting_logged)
				ereport(LOG,
						(errmsg("wib %s is waiting for CREATE EXTENSION wib in database \"%s\"",
								name, worker_database_name)));
			waiting_logged = true;
			worker_status_set_state(kind, "waiting for extension");
			continue;
		}
		waiting_logged = false;

		worker_status_set_state(kind, "working");
		PG_TRY();
		{
			bool		more_due = false;
			int64		done = pass(&more_due);

			worker_status_add(kind, done, 0);
			more = more_due;
		}
		PG_CATCH();
		{
			recover_from_error(kind, loop_context);
			more = false;
		}
		PG_END_TRY();
		MemoryContextReset(loop_context);
	}
}
