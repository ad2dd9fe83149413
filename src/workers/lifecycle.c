/*
 * lifecycle.c
 *		How the launcher moves one database along:
 *
 *	 new -> probing -> absent | other version | no slot -> served -> stopping
 *
 * A database is probed (a short-lived bgworker reads its pg_extension) when
 * first seen and after each CREATE or ALTER EXTENSION wib there; one without
 * wib then costs nothing until the next such notice.  A served database has
 * a database slot (wib.max_databases of them) and one dynamic worker per
 * kind.  Workers are registered with BGW_NEVER_RESTART: the launcher alone
 * restarts them, at once when they exit, but at most once per
 * WORKER_RESTART_MS per worker, so a worker failing at start does not spin.
 * Workers that find the extension dropped exit cleanly and say why; the
 * launcher then frees the slot.  A database held by DROP DATABASE and kin
 * (dbhooks.c) gets no new worker or probe until the hold ends.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "workers/launcher.h"
#include "workers/lifecycle.h"
#include "workers/probe.h"
#include "workers/worker.h"

#define WORKER_RESTART_MS 5000	/* at most one start per worker per this long */

static bool no_bgworker_logged = false;

/* Says once, until a start succeeds again, that max_worker_processes is exhausted. */
static void
lifecycle_no_bgworker(const char *what, const char *dbname)
{
	slots_add_own(0, 1);
	if (no_bgworker_logged)
		return;
	no_bgworker_logged = true;
	ereport(LOG,
			(errmsg("wib launcher could not start the %s for database \"%s\": no background worker slot is free",
					what, dbname),
			 errhint("Raise max_worker_processes (now %d): wib needs 1 + %d per served database, "
					 "plus pg_cron and parallel workers; the launcher retries meanwhile.",
					 max_worker_processes, worker_kind_count())));
}

/* Registers a dynamic bgworker that notifies the launcher when it starts and exits. */
static bool
lifecycle_register(const char *function, const char *type, const char *dbname,
				   Datum arg, const void *extra, Size extra_len,
				   BackgroundWorkerHandle **handle)
{
	BackgroundWorker worker;
	MemoryContext old;
	bool		ok;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "wib", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, function, BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "%s for database \"%s\"", type, dbname);
	strlcpy(worker.bgw_type, type, BGW_MAXLEN);
	worker.bgw_main_arg = arg;
	memcpy(worker.bgw_extra, extra, extra_len);
	worker.bgw_notify_pid = MyProcPid;

	old = MemoryContextSwitchTo(TopMemoryContext);
	ok = RegisterDynamicBackgroundWorker(&worker, handle);
	MemoryContextSwitchTo(old);
	if (ok)
	{
		no_bgworker_logged = false;
		slots_add_own(1, 0);
	}
	return ok;
}

/* Starts a probe of the database; stays DB_NEW when no probe slot or bgworker is free. */
static void
lifecycle_start_probe(LauncherDatabase *db, TimestampTz now)
{
	ProbeExtra	extra;
	int			probe;
	char		version[WIB_VERSION_LEN];

	extra.dboid = db->dboid;
	if (!slots_probe_alloc(db->dboid, &probe, &extra.generation))
		return;					/* a probe exiting wakes us */
	if (!lifecycle_register("wib_probe_main", "wib probe", db->name, Int32GetDatum(probe),
							&extra, sizeof(extra), &db->probe_handle))
	{
		(void) slots_probe_take(probe, extra.generation, version);
		lifecycle_no_bgworker("probe", db->name);
		db->probe_after = TimestampTzPlusMilliseconds(now, launcher_poll_interval_ms);
		return;
	}
	db->probe = probe;
	db->probe_generation = extra.generation;
	db->notified = false;
	db->phase = DB_PROBING;
}

/* Reads a finished probe's answer and moves the database on. */
static void
lifecycle_check_probe(LauncherDatabase *db, TimestampTz now)
{
	char		version[WIB_VERSION_LEN];
	ExtensionState found;
	pid_t		pid;

	switch (GetBackgroundWorkerPid(db->probe_handle, &pid))
	{
		case BGWH_POSTMASTER_DIED:
			proc_exit(1);
		case BGWH_STOPPED:
			break;
		default:
			return;				/* its exit wakes us */
	}
	pfree(db->probe_handle);
	db->probe_handle = NULL;
	found = slots_probe_take(db->probe, db->probe_generation, version);
	db->probe = -1;
	db->probe_failures = found == EXTENSION_UNKNOWN ? db->probe_failures + 1 : 0;

	switch (found)
	{
		case EXTENSION_INSTALLED:
			db->phase = DB_NO_SLOT;
			break;
		case EXTENSION_ABSENT:
			db->phase = DB_ABSENT;
			break;
		case EXTENSION_OTHER_VERSION:
			db->phase = DB_OTHER_VERSION;
			ereport(LOG,
					(errmsg("wib does not serve database \"%s\": the extension there is version %s, the library is %s",
							db->name, version, WIB_VERSION),
					 errhint("Run ALTER EXTENSION wib UPDATE in that database.")));
			break;
		case EXTENSION_UNKNOWN:
			/* It could not connect (dropped meanwhile?) or was stopped: later, less often each time. */
			db->phase = DB_NEW;
			db->probe_after = TimestampTzPlusMilliseconds(now, (int64) launcher_poll_interval_ms
														  << Min(db->probe_failures - 1, 6));
			break;
	}
}

/* Takes a database slot, or says once why the database is not served. */
static void
lifecycle_take_slot(LauncherDatabase *db)
{
	db->slot = slots_database_alloc(db->dboid);
	if (db->slot >= 0)
	{
		db->phase = DB_SERVED;
		memset(db->handles, 0, sizeof(db->handles));
		memset(db->started, 0, sizeof(db->started));
		if (db->logged)
			ereport(LOG, (errmsg("wib now serves database \"%s\"", db->name)));
		db->logged = false;
		return;
	}
	if (db->logged)
		return;
	db->logged = true;
	ereport(LOG,
			(errmsg("wib does not serve database \"%s\": all %d database slots are in use",
					db->name, slots_max_databases),
			 errdetail("wib.max_databases limits how many databases run wib's workers."),
			 errhint("Raise wib.max_databases and restart the server (and max_worker_processes: 1 + %d per database); "
					 "the database is served as soon as a slot frees up.",
					 worker_kind_count())));
}

/* True while the database's worker of a kind is starting or running. */
static bool
lifecycle_worker_running(LauncherDatabase *db, WorkerKind kind)
{
	if (db->handles[kind] != NULL)
	{
		pid_t		pid;

		switch (GetBackgroundWorkerPid(db->handles[kind], &pid))
		{
			case BGWH_POSTMASTER_DIED:
				proc_exit(1);
			case BGWH_STOPPED:
				pfree(db->handles[kind]);
				db->handles[kind] = NULL;
				break;
			default:
				return true;
		}
	}
	/* Adopted from a previous launcher, or started twice and the other one won. */
	return slots_worker_pid(db->slot, kind) != 0;
}

/* Keeps one worker of each kind running in a served database. */
static void
lifecycle_serve(LauncherDatabase *db, TimestampTz now, bool held, long *timeout)
{
	char		version[WIB_VERSION_LEN];
	ExtensionState found = slots_database_found(db->slot, version);

	if (!db->seen || found != EXTENSION_UNKNOWN)
	{
		/* Gone from pg_database, no longer servable, or the extension was dropped. */
		slots_database_stop(db->slot);
		db->stopped_for = found;
		db->phase = DB_STOPPING;
		return;
	}
	db->notified = false;
	if (held)
		return;					/* releasing the hold wakes us */

	for (int kind = 0; kind < worker_kind_count(); kind++)
	{
		WorkerExtra extra;
		TimestampTz next;
		char		type[BGW_MAXLEN];

		if (lifecycle_worker_running(db, kind))
			continue;
		next = TimestampTzPlusMilliseconds(db->started[kind], WORKER_RESTART_MS);
		if (now < next)
		{
			*timeout = Min(*timeout, (long) ((next - now) / 1000) + 1);
			continue;
		}
		db->started[kind] = now;
		extra.dboid = db->dboid;
		extra.slot = db->slot;
		snprintf(type, sizeof(type), "wib %s", worker_kind(kind)->name);
		if (lifecycle_register("wib_worker_main", type, db->name, Int32GetDatum(kind),
							   &extra, sizeof(extra), &db->handles[kind]))
			slots_worker_registered(db->slot, kind);
		else
		{
			lifecycle_no_bgworker(worker_kind(kind)->name, db->name);
			*timeout = Min(*timeout, WORKER_RESTART_MS);
		}
	}
}

/* Frees the slot of a stopping database once none of its workers runs. */
static void
lifecycle_finish_stop(LauncherDatabase *db)
{
	for (int kind = 0; kind < worker_kind_count(); kind++)
		if (lifecycle_worker_running(db, kind))
			return;				/* its exit wakes us */
	slots_database_free(db->slot);
	db->slot = -1;
	if (db->stopped_for == EXTENSION_ABSENT)
		db->phase = DB_ABSENT;
	else if (db->stopped_for == EXTENSION_OTHER_VERSION)
		db->phase = DB_OTHER_VERSION;
	else
		db->phase = DB_NEW;
}

/*
 * Moves one database along its phases as far as it goes this turn; false
 * when the launcher must forget it (gone from pg_database, nothing of it
 * runs).  *timeout shrinks to the next start due.
 */
bool
lifecycle_step(LauncherDatabase *db, TimestampTz now, long *timeout)
{
	for (;;)
	{
		DatabasePhase before = db->phase;
		bool		held = slots_database_held(db->dboid);

		switch (db->phase)
		{
			case DB_NEW:
				if (!db->seen)
					break;
				if (held)
					return true;
				if (now < db->probe_after)
				{
					*timeout = Min(*timeout, (long) ((db->probe_after - now) / 1000) + 1);
					return true;
				}
				lifecycle_start_probe(db, now);
				break;
			case DB_PROBING:
				lifecycle_check_probe(db, now);
				break;
			case DB_ABSENT:
			case DB_OTHER_VERSION:
				if (db->seen && db->notified)
					db->phase = DB_NEW;
				break;
			case DB_NO_SLOT:
				if (db->seen)
					lifecycle_take_slot(db);
				break;
			case DB_SERVED:
				lifecycle_serve(db, now, held, timeout);
				break;
			case DB_STOPPING:
				lifecycle_finish_stop(db);
				if (db->phase != DB_STOPPING && db->notified)
					db->phase = DB_NEW;
				break;
		}
		/* A database gone from pg_database is forgotten once nothing of it runs. */
		if (!db->seen && (db->phase == DB_NEW || db->phase == DB_ABSENT ||
						  db->phase == DB_OTHER_VERSION || db->phase == DB_NO_SLOT))
			return false;
		if (db->phase == before)
			return true;
	}
}
