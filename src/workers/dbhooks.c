/*
 * dbhooks.c
 *		A ProcessUtility hook for the DDL that fails while a database has
 *		other connections ("database is being accessed by other users"):
 *		DROP DATABASE, ALTER DATABASE ... RENAME TO and SET TABLESPACE, and
 *		CREATE DATABASE ... TEMPLATE of a served database.
 *
 * Before the command runs, the hook holds the database (no worker or probe
 * starts there; the launcher restarts none), wakes its workers so idle ones
 * exit at once, sends SIGTERM to those still busy after a second, and waits,
 * at most DBHOOKS_WAIT_MS, until none is left.  The hold ends with the
 * transaction: after a DROP DATABASE there is nothing left to serve; after a
 * failed one, or a rename, the launcher starts the workers again.  Only the
 * database's owner (or a superuser), from another database, can stop them
 * this way: the command would refuse anyone else anyway.
 *
 * The hook also wakes this database's workers at COMMIT of DROP EXTENSION
 * wib, so they exit at once rather than at their next poll, and the launcher
 * at COMMIT of CREATE DATABASE, so a copy of a template holding wib is
 * served at once.
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/timestamp.h"

#include "workers/dbhooks.h"
#include "workers/slots.h"
#include "workers/worker.h"

#define DBHOOKS_WAIT_MS 10000	/* longest wait for the workers to exit */
#define DBHOOKS_GRACE_MS 1000	/* before busy workers get SIGTERM */

static ProcessUtility_hook_type prev_process_utility = NULL;
static bool callback_registered = false;
static bool wake_launcher_pending = false;

/* Ends this backend's hold with the transaction; wakes the launcher after CREATE DATABASE. */
static void
dbhooks_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (wake_launcher_pending)
				slots_wake_launcher();
			/* FALLTHROUGH */
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			slots_release_hold();
			wake_launcher_pending = false;
			break;
		default:
			break;
	}
}

/* Registers the transaction callback once per backend. */
static void
dbhooks_register_callback(void)
{
	if (!callback_registered)
	{
		RegisterXactCallback(dbhooks_xact_callback, NULL);
		callback_registered = true;
	}
}

/* The option of a CREATE or ALTER DATABASE statement with this name, or NULL. */
static DefElem *
dbhooks_option(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (strcmp(def->defname, name) == 0)
			return def;
	}
	return NULL;
}

/* The database a statement needs without other connections, or NULL. */
static const char *
dbhooks_database_to_empty(Node *stmt)
{
	DefElem    *def;

	switch (nodeTag(stmt))
	{
		case T_DropdbStmt:
			return ((DropdbStmt *) stmt)->dbname;
		case T_RenameStmt:
			if (((RenameStmt *) stmt)->renameType == OBJECT_DATABASE)
				return ((RenameStmt *) stmt)->subname;
			return NULL;
		case T_AlterDatabaseStmt:
			def = dbhooks_option(((AlterDatabaseStmt *) stmt)->options, "tablespace");
			return def != NULL && def->arg != NULL ? ((AlterDatabaseStmt *) stmt)->dbname : NULL;
		case T_CreatedbStmt:
			def = dbhooks_option(((CreatedbStmt *) stmt)->options, "template");
			return def != NULL && def->arg != NULL ? defGetString(def) : NULL;
		default:
			return NULL;
	}
}

/* True for DROP EXTENSION naming wib. */
static bool
dbhooks_drops_wib(Node *stmt)
{
	DropStmt   *drop;
	ListCell   *lc;

	if (!IsA(stmt, DropStmt))
		return false;
	drop = (DropStmt *) stmt;
	if (drop->removeType != OBJECT_EXTENSION)
		return false;
	foreach(lc, drop->objects)
	{
		Node	   *object = lfirst(lc);

		if (IsA(object, String) && strcmp(strVal(object), "wib") == 0)
			return true;
	}
	return false;
}

/*
 * Holds the database and waits until wib has no process connected to it.
 * Past DBHOOKS_WAIT_MS it warns and lets the command run (and say why it
 * fails, if it does).
 */
static void
dbhooks_empty_database(Oid dboid, const char *dbname)
{
	TimestampTz start = GetCurrentTimestamp();
	pid_t		pids[WORKER_KINDS_MAX + PROBE_SLOTS];

	dbhooks_register_callback();
	slots_hold_database(dboid);
	slots_wake_database(dboid);
	for (;;)
	{
		int			n = slots_database_pids(dboid, pids, lengthof(pids));
		long		waited = (long) ((GetCurrentTimestamp() - start) / 1000);

		if (n == 0)
			return;
		if (waited >= DBHOOKS_WAIT_MS)
		{
			ereport(WARNING,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("wib's workers of database \"%s\" did not exit within %d seconds",
							dbname, DBHOOKS_WAIT_MS / 1000)));
			return;
		}
		if (waited >= DBHOOKS_GRACE_MS)
			for (int i = 0; i < n; i++)
				(void) kill(pids[i], SIGTERM);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 20,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* Empties the database the statement needs, notes what to wake at COMMIT, runs the statement. */
static void
dbhooks_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
						ProcessUtilityContext context, ParamListInfo params,
						QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;

	if (slots_ready())
	{
		const char *dbname = dbhooks_database_to_empty(stmt);

		if (dbname != NULL)
		{
			Oid			dboid = get_database_oid(dbname, true);

			if (OidIsValid(dboid) && dboid != MyDatabaseId &&
				pg_database_ownercheck(dboid, GetUserId()))
				dbhooks_empty_database(dboid, dbname);
		}
		if (IsA(stmt, CreatedbStmt))
		{
			dbhooks_register_callback();
			wake_launcher_pending = true;
		}
		if (dbhooks_drops_wib(stmt))
			worker_wake_all_at_commit();
	}

	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

/* Installs the hook; called from _PG_init while preloading. */
void
dbhooks_install(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = dbhooks_process_utility;
}
