/*
 * launcher.c
 *		The launcher: finds the databases where wib is installed and runs one
 *		worker of each kind of the worker table in each of them.
 *
 * The launcher connects to no database.  Each turn (its poll interval, or
 * whenever something wakes it: a COMMIT of CREATE or ALTER EXTENSION wib, a
 * worker starting or exiting, a DROP DATABASE releasing its hold) it scans
 * pg_database, a shared catalog, takes the notices of CREATE and ALTER
 * EXTENSION, and moves each database along its phases (lifecycle.c).
 *
 * If the launcher itself exits with an error, the postmaster starts it again
 * and it adopts the workers still running from the database slots; a worker
 * it starts where one already runs exits at once (slots_claim_worker), so
 * there are never two of a kind in a database.  A crash of any backend
 * resets shared memory and every worker with it: the new launcher starts
 * from nothing.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "workers/launcher.h"
#include "workers/lifecycle.h"
#include "workers/slots.h"

#define LAUNCHER_RESTART_SECONDS 5	/* the postmaster restarts a failed launcher */

int			launcher_poll_interval_ms = 10000;

static HTAB *databases = NULL;
static MemoryContext launcher_context = NULL;

/* Settings fixed at server start. */
void
launcher_define_startup_settings(void)
{
	DefineCustomIntVariable("wib.max_databases",
							"Most databases whose wib workers run at once.",
							"Each served database runs one worker of each kind; max_worker_processes must cover them.",
							&slots_max_databases,
							8, 1, 1024,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
}

/* Reloadable settings of the launcher. */
void
launcher_define_settings(void)
{
	DefineCustomIntVariable("wib.launcher_poll_interval",
							"How often the launcher looks for created, dropped or changed databases.",
							"CREATE EXTENSION wib, a worker exiting and DROP DATABASE wake it at once.",
							&launcher_poll_interval_ms,
							10000, 100, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/* Registers the launcher with the postmaster; called from _PG_init while preloading. */
void
launcher_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = LAUNCHER_RESTART_SECONDS;
	strlcpy(worker.bgw_library_name, "wib", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "wib_launcher_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "wib launcher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "wib launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/* A database's entry, created in phase DB_NEW when missing. */
static LauncherDatabase *
launcher_enter(Oid dboid)
{
	LauncherDatabase *db;
	bool		found;

	db = hash_search(databases, &dboid, HASH_ENTER, &found);
	if (!found)
	{
		memset(db, 0, sizeof(*db));
		db->dboid = dboid;
		db->phase = DB_NEW;
		db->slot = -1;
		db->probe = -1;
	}
	return db;
}

/* Drops a database's entry (gone from pg_database, nothing of it running). */
static void
launcher_forget(LauncherDatabase *db)
{
	(void) hash_search(databases, &db->dboid, HASH_REMOVE, NULL);
}

/* Adopts the databases a previous launcher served, with their running workers. */
static void
launcher_adopt(void)
{
	for (int slot = 0; slot < slots_max_databases; slot++)
	{
		bool		stopping;
		Oid			dboid = slots_database_oid(slot, &stopping);
		LauncherDatabase *db;

		if (!OidIsValid(dboid))
			continue;
		db = launcher_enter(dboid);
		db->slot = slot;
		db->seen = true;
		db->phase = stopping ? DB_STOPPING : DB_SERVED;
	}
}

/* Marks every database that can run workers (connections allowed, not a template) as seen. */
static void
launcher_scan(void)
{
	HASH_SEQ_STATUS seq;
	LauncherDatabase *db;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tuple;

	hash_seq_init(&seq, databases);
	while ((db = hash_seq_search(&seq)) != NULL)
		db->seen = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tuple = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database form = (Form_pg_database) GETSTRUCT(tuple);

		if (!form->datallowconn || form->datistemplate || database_is_invalid_form(form))
			continue;
		db = launcher_enter(form->oid);
		strlcpy(db->name, NameStr(form->datname), NAMEDATALEN);
		db->seen = true;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	MemoryContextSwitchTo(launcher_context);
}

/* Notes the databases where CREATE or ALTER EXTENSION wib committed. */
static void
launcher_take_notifications(void)
{
	Oid			dboids[64];
	bool		overflow;
	int			n = slots_take_notifications(dboids, lengthof(dboids), &overflow);
	LauncherDatabase *db;

	for (int i = 0; i < n; i++)
	{
		db = hash_search(databases, &dboids[i], HASH_FIND, NULL);
		if (db != NULL)
			db->notified = true;
	}
	if (overflow)
	{
		HASH_SEQ_STATUS seq;

		hash_seq_init(&seq, databases);
		while ((db = hash_seq_search(&seq)) != NULL)
			db->notified = true;
	}
}

/* Publishes what the launcher does in wib.worker_status. */
static void
launcher_publish_state(void)
{
	HASH_SEQ_STATUS seq;
	LauncherDatabase *db;
	int			served = 0;
	int			waiting = 0;
	char		state[WORKER_STATE_LEN];

	hash_seq_init(&seq, databases);
	while ((db = hash_seq_search(&seq)) != NULL)
	{
		served += db->phase == DB_SERVED;
		waiting += db->phase == DB_NO_SLOT;
	}
	if (waiting > 0)
		snprintf(state, sizeof(state), "serving %d databases, %d waiting for a slot", served, waiting);
	else
		snprintf(state, sizeof(state), "serving %d database%s", served, served == 1 ? "" : "s");
	slots_set_own_state(state);
}

/* Entry point of the launcher. */
void
wib_launcher_main(Datum main_arg)
{
	HASHCTL		ctl;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	if (!slots_claim_launcher())
		ereport(FATAL,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("another wib launcher is running")));
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("wib launcher");

	launcher_context = AllocSetContextCreate(TopMemoryContext, "wib launcher",
											 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(launcher_context);
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(LauncherDatabase);
	ctl.hcxt = launcher_context;
	databases = hash_create("wib launcher databases", 64, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	launcher_adopt();
	slots_probes_reset();

	for (;;)
	{
		HASH_SEQ_STATUS seq;
		LauncherDatabase *db;
		TimestampTz now;
		long		timeout = launcher_poll_interval_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		pgstat_report_activity(STATE_RUNNING, "wib launcher: scanning databases");
		launcher_scan();
		launcher_take_notifications();
		now = GetCurrentTimestamp();
		hash_seq_init(&seq, databases);
		while ((db = hash_seq_search(&seq)) != NULL)
			if (!lifecycle_step(db, now, &timeout))
				launcher_forget(db);
		launcher_publish_state();
		slots_add_own(0, 0);
		pgstat_report_activity(STATE_IDLE, NULL);

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(timeout, 1),
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
