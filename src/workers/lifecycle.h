/*
 * lifecycle.h
 *		What the launcher knows of one database, and how it moves it along.
 */
#ifndef WIB_WORKER_LIFECYCLE_H
#define WIB_WORKER_LIFECYCLE_H

#include "postmaster/bgworker.h"

#include "workers/registry.h"
#include "workers/slots.h"

typedef enum DatabasePhase
{
	DB_NEW,						/* not probed yet, or the probe failed: probe it */
	DB_PROBING,
	DB_ABSENT,					/* no wib there: wait for CREATE EXTENSION */
	DB_OTHER_VERSION,			/* wib at another version: wait for ALTER EXTENSION */
	DB_NO_SLOT,					/* wib there, waiting for a free database slot */
	DB_SERVED,					/* its workers run */
	DB_STOPPING					/* its workers were asked to exit */
} DatabasePhase;

/* The launcher's entry for a database (a hash table keyed by its oid, in launcher.c). */
typedef struct LauncherDatabase
{
	Oid			dboid;			/* hash key */
	char		name[NAMEDATALEN];
	DatabasePhase phase;
	bool		seen;			/* servable in the last scan of pg_database */
	bool		notified;		/* CREATE/ALTER EXTENSION committed since the last probe */
	bool		logged;			/* why it is not served was logged */
	TimestampTz probe_after;	/* after a failed probe */
	int			probe_failures;	/* in a row: the wait before the next doubles */
	int			probe;
	uint32		probe_generation;
	BackgroundWorkerHandle *probe_handle;
	ExtensionState stopped_for;	/* DB_STOPPING: what the workers found */
	int			slot;			/* database slot: DB_SERVED and DB_STOPPING */
	BackgroundWorkerHandle *handles[WORKER_KINDS_MAX];	/* NULL: adopted or not started */
	TimestampTz started[WORKER_KINDS_MAX];
} LauncherDatabase;

extern bool lifecycle_step(LauncherDatabase *db, TimestampTz now, long *timeout);

#endif							/* WIB_WORKER_LIFECYCLE_H */
