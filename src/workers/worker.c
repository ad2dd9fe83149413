/*
 * worker.c
 *		The loop shared by every per-database wib worker, and the workers'
 *		settings.
 *
 * The launcher starts one worker of each kind of the worker table in each
 * database it serves (a dynamic bgworker; bgw_extra names the database and
 * its slot).  A worker runs its kind's pass whenever its latch is set (a
 * COMMIT woke it) or its poll interval passes.  Before each pass it checks
 * that the extension is still there at the library's version; when it is not
 * (DROP EXTENSION wib), or the launcher or a DROP DATABASE asks it to stop,
 * it exits cleanly.  An error in a pass is logged, counted in
 * wib.worker_status and followed by the next pass: one bad item must not stop
 * the worker.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/dbcommands.h"
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

#include "workers/launcher.h"
#include "workers/probe.h"
#include "workers/slots.h"
#include "workers/worker.h"

int			worker_poll_interval_ms = 1000;

/* Settings fixed at server start; defined only while preloading. */
void
worker_define_startup_settings(void)
{
	launcher_define_startup_settings();
}

/* Reloadable settings of the launcher, the workers and each kind of worker. */
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
	launcher_define_settings();
	for (int kind = 0; kind < worker_kind_count(); kind++)
		if (worker_kind(kind)->define_settings)
			worker_kind(kind)->define_settings();
}

/* The name of the connected database, read once (it may be renamed: logs only). */
static char *
connected_database_name(void)
{
	MemoryContext caller = CurrentMemoryContext;
	char	   *name;

	StartTransactionCommand();
	name = get_database_name(MyDatabaseId);
	name = MemoryContextStrdup(TopMemoryContext, name ? name : "?");
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);
	return name;
}

/*
 * Reports an error copied off the error stack as it would have been reported
 * (its level, code, message, detail, hint and context).
 */
static void
report_copied_error(ErrorData *edata)
{
	if (!errstart(edata->elevel, edata->domain))
		return;
	errcode(edata->sqlerrcode);
	errmsg_internal("%s", edata->message ? edata->message : "(no message)");
	if (edata->detail)
		errdetail_internal("%s", edata->detail);
	if (edata->hint)
		errhint("%s", edata->hint);
	if (edata->context)
		errcontext_msg("%s", edata->context);
	EmitErrorReport();
	FlushErrorState();
}

/*
 * What PostgreSQL's own main loop does after an error, minus the client.  A
 * pass that failed because DROP EXTENSION wib committed under it ("relation
 * wib.... does not exist") is not reported: the worker is about to stop, and
 * returns true to look again at once.  The error is copied off the stack
 * before the transaction is aborted: abort callbacks of other modules (Citus's
 * distributed transactions) may use the error stack themselves.
 */
static bool
recover_from_error(MemoryContext loop_context)
{
	char		version[WIB_VERSION_LEN];
	bool		dropped;
	ErrorData  *edata;

	HOLD_INTERRUPTS();
	disable_all_timeouts(false);
	QueryCancelPending = false;
	MemoryContextSwitchTo(loop_context);
	edata = CopyErrorData();
	FlushErrorState();
	AbortOutOfAnyTransaction();
	MemoryContextSwitchTo(loop_context);
	dropped = probe_extension_state(version) != EXTENSION_INSTALLED;
	if (!dropped)
		report_copied_error(edata);
	FreeErrorData(edata);
	RESUME_INTERRUPTS();
	if (!dropped)
		slots_add_own(0, 1);
	return dropped;
}

/*
 * Exits when the worker must not go on: asked to stop, or the extension is
 * gone or at another version (reported for the launcher, which then stops
 * serving the database until CREATE or ALTER EXTENSION wib tells it again).
 */
static void
exit_if_unwanted(const WorkerKindDef *def, const WorkerExtra *extra, const char *dbname)
{
	char		version[WIB_VERSION_LEN];
	ExtensionState found;

	if (slots_worker_should_stop(extra->slot, extra->dboid))
		proc_exit(0);
	found = probe_extension_state(version);
	if (found == EXTENSION_INSTALLED)
		return;
	slots_database_report(extra->slot, extra->dboid, found, version);
	if (found == EXTENSION_OTHER_VERSION)
		ereport(LOG,
				(errmsg("wib %s stops in database \"%s\": the extension there is version %s, the library is %s",
						def->name, dbname, version, WIB_VERSION),
				 errhint("Run ALTER EXTENSION wib UPDATE in that database.")));
	else
		ereport(LOG,
				(errmsg("wib %s stops in database \"%s\": the extension was dropped",
						def->name, dbname)));
	proc_exit(0);
}

/* Entry point of every per-database worker; bgw_main_arg is its kind. */
void
wib_worker_main(Datum main_arg)
{
	const WorkerKindDef *def;
	WorkerExtra extra;
	MemoryContext loop_context;
	char	   *dbname;
	volatile bool more = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	def = worker_kind(DatumGetInt32(main_arg));
	memcpy(&extra, MyBgworkerEntry->bgw_extra, sizeof(extra));
	/* Never two of a kind in one database, nor one in a database being dropped. */
	if (!slots_claim_worker(extra.slot, extra.dboid, DatumGetInt32(main_arg)))
		proc_exit(0);

	BackgroundWorkerInitializeConnectionByOid(extra.dboid, InvalidOid, 0);
	pgstat_report_appname(psprintf("wib %s", def->name));
	/* Nothing a database's users create may shadow what the worker's SQL calls. */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	dbname = connected_database_name();

	loop_context = AllocSetContextCreate(TopMemoryContext, "wib worker loop",
										 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(loop_context);

	for (;;)
	{
		if (!more)
		{
			/* Statistics pgstat held back (at most one flush a second) go out before long. */
			long		stats_due_ms = pgstat_report_stat(false);
			long		timeout = worker_poll_interval_ms;

			if (stats_due_ms > 0)
				timeout = Min(timeout, stats_due_ms);
			slots_set_own_state("idle");
			pgstat_report_activity(STATE_IDLE, NULL);
			(void) WaitLatch(MyLatch,
							 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 timeout,
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

		exit_if_unwanted(def, &extra, dbname);

		slots_set_own_state("working");
		PG_TRY();
		{
			bool		more_due = false;
			int64		done = def->pass(&more_due);

			slots_add_own(done, 0);
			more = more_due;
		}
		PG_CATCH();
		{
			more = recover_from_error(loop_context);
		}
		PG_END_TRY();
		MemoryContextReset(loop_context);
	}
}
