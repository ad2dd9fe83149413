/*
 * slots_internal.h
 *		The layout of the workers' shared memory, for the files that keep it:
 *		slots.c (launcher, databases, workers), slots_probes.c, slots_holds.c.
 *		Everything here is read and written under slots_shared->mutex.
 */
#ifndef WIB_WORKER_SLOTS_INTERNAL_H
#define WIB_WORKER_SLOTS_INTERNAL_H

#include "storage/spin.h"

#include "workers/slots.h"

#define NOTIFY_QUEUE 32

/* A database the launcher serves. */
typedef struct DatabaseSlot
{
	Oid			dboid;			/* InvalidOid when free */
	bool		stop;			/* the launcher asks its workers to exit */
	ExtensionState found;		/* what a worker found when it stopped itself */
	char		version[WIB_VERSION_LEN];
} DatabaseSlot;

/* A probe in flight. */
typedef struct ProbeSlot
{
	Oid			dboid;			/* InvalidOid when free */
	uint32		generation;		/* bumped at each use: a stale probe's report is ignored */
	pid_t		pid;
	ExtensionState found;
	char		version[WIB_VERSION_LEN];
} ProbeSlot;

typedef struct SlotsShared
{
	slock_t		mutex;
	WorkerSlot	launcher;
	int			n_notified;
	bool		notify_overflow;
	Oid			notified[NOTIFY_QUEUE];
	ProbeSlot	probes[PROBE_SLOTS];
	int			n_holds;
	/* followed by the database slots, worker slots and holds (see slots_size) */
} SlotsShared;

extern SlotsShared *slots_shared;
extern DatabaseSlot *slots_databases;	/* [slots_max_databases] */
extern WorkerSlot *slots_workers;	/* [slots_max_databases * kinds] */
extern Oid *slots_holds;		/* [MaxBackends], by backend id */

/* The status slot of a database slot's worker of a kind. */
static inline WorkerSlot *
slots_worker_slot(int slot, WorkerKind kind)
{
	return &slots_workers[slot * worker_kind_count() + kind];
}

/* The database slot serving dboid (InvalidOid: a free slot), or -1. */
static inline int
slots_find_database_locked(Oid dboid)
{
	for (int i = 0; i < slots_max_databases; i++)
		if (slots_databases[i].dboid == dboid)
			return i;
	return -1;
}

extern bool slots_held_locked(Oid dboid);

#endif							/* WIB_WORKER_SLOTS_INTERNAL_H */
