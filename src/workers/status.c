/*
 * status.c
 *		The rows of wib.worker_status: the launcher (no database), then each
 *		served database's workers, by database name and in the order of the
 *		worker table.
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "core/shmem.h"
#include "workers/registry.h"
#include "workers/slots.h"

typedef struct StatusDatabase
{
	int			index;			/* in the snapshot */
	char	   *name;			/* NULL when dropped since the copy */
} StatusDatabase;

/* Orders databases by name; one dropped since the copy (no name) last. */
static int
status_database_cmp(const void *a, const void *b)
{
	const StatusDatabase *x = a;
	const StatusDatabase *y = b;

	if (x->name == NULL || y->name == NULL)
		return (x->name == NULL) - (y->name == NULL);
	return strcmp(x->name, y->name);
}

/* Adds one row: a process's name, database (NULL for the launcher) and status. */
static void
status_put_row(ReturnSetInfo *rsinfo, const char *name, const char *database, const WorkerSlot *w)
{
	Datum		values[8];
	bool		nulls[8] = {false};

	values[0] = CStringGetTextDatum(name);
	values[1] = database ? CStringGetTextDatum(database) : (Datum) 0;
	nulls[1] = database == NULL;
	values[2] = Int32GetDatum(w->pid);
	nulls[2] = w->pid == 0;
	values[3] = CStringGetTextDatum(w->state[0] ? w->state : "not started");
	values[4] = TimestampTzGetDatum(w->started_at);
	nulls[4] = w->started_at == 0;
	values[5] = TimestampTzGetDatum(w->last_activity);
	nulls[5] = w->last_activity == 0;
	values[6] = Int64GetDatum(w->items_done);
	values[7] = Int64GetDatum(w->errors);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

PG_FUNCTION_INFO_V1(wib_worker_status);

/* Behind the wib.worker_status view. */
Datum
wib_worker_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			kinds = worker_kind_count();
	SlotsSnapshot snap;
	StatusDatabase *dbs;

	shmem_require("wib.worker_status");
	InitMaterializedSRF(fcinfo, 0);

	slots_snapshot(&snap);
	status_put_row(rsinfo, "launcher", NULL, &snap.launcher);

	dbs = palloc(sizeof(StatusDatabase) * Max(snap.n_databases, 1));
	for (int i = 0; i < snap.n_databases; i++)
	{
		dbs[i].index = i;
		dbs[i].name = get_database_name(snap.databases[i]);
	}
	qsort(dbs, snap.n_databases, sizeof(StatusDatabase), status_database_cmp);
	for (int i = 0; i < snap.n_databases; i++)
	{
		if (dbs[i].name == NULL)
			continue;
		for (int k = 0; k < kinds; k++)
			status_put_row(rsinfo, worker_kind(k)->name, dbs[i].name,
						   &snap.workers[dbs[i].index * kinds + k]);
	}
	return (Datum) 0;
}
