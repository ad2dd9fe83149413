/*
 * slots_holds.c
 *		Holds: a backend running DDL that needs a database without connections
 *		(dbhooks.c) holds it, so that no worker or probe starts there and the
 *		launcher restarts none, until the hold is released at the end of the
 *		transaction or of the backend.  One hold per backend, indexed by its
 *		backend id.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/backendid.h"
#include "storage/ipc.h"

#include "workers/slots.h"
#include "workers/slots_internal.h"

static bool own_hold = false;
static bool hold_callback_registered = false;

/* True when some backend holds the database; the caller has the lock. */
bool
slots_held_locked(Oid dboid)
{
	if (slots_shared->n_holds == 0)
		return false;
	for (int i = 0; i < MaxBackends; i++)
		if (slots_holds[i] == dboid)
			return true;
	return false;
}

/* True when some backend holds the database. */
bool
slots_database_held(Oid dboid)
{
	bool		held;

	SpinLockAcquire(&slots_shared->mutex);
	held = slots_held_locked(dboid);
	SpinLockRelease(&slots_shared->mutex);
	return held;
}

/* A backend leaving in the middle of DROP DATABASE and kin lets its hold go. */
static void
hold_exit(int code, Datum arg)
{
	slots_release_hold();
}

/*
 * Holds a database for this backend: no worker or probe starts there until
 * slots_release_hold.  One hold per backend; a new one replaces the last.
 */
void
slots_hold_database(Oid dboid)
{
	int			i = MyBackendId - 1;

	if (slots_shared == NULL || i < 0 || i >= MaxBackends)
		return;
	if (!hold_callback_registered)
	{
		before_shmem_exit(hold_exit, (Datum) 0);
		hold_callback_registered = true;
	}
	SpinLockAcquire(&slots_shared->mutex);
	if (!OidIsValid(slots_holds[i]))
		slots_shared->n_holds++;
	slots_holds[i] = dboid;
	SpinLockRelease(&slots_shared->mutex);
	own_hold = true;
}

/* Releases this backend's hold, if any, and lets the launcher serve the database again. */
void
slots_release_hold(void)
{
	int			i = MyBackendId - 1;

	if (!own_hold)
		return;
	SpinLockAcquire(&slots_shared->mutex);
	if (OidIsValid(slots_holds[i]))
		slots_shared->n_holds--;
	slots_holds[i] = InvalidOid;
	SpinLockRelease(&slots_shared->mutex);
	own_hold = false;
	slots_wake_launcher();
}

/* The pids of wib's processes connected (or connecting) to a database: workers and probes. */
int
slots_database_pids(Oid dboid, pid_t *pids, int max)
{
	int			kinds = worker_kind_count();
	int			n = 0;
	int			slot;

	if (slots_shared == NULL || !OidIsValid(dboid))
		return 0;
	SpinLockAcquire(&slots_shared->mutex);
	slot = slots_find_database_locked(dboid);
	if (slot >= 0)
		for (int k = 0; k < kinds && n < max; k++)
			if (slots_worker_slot(slot, k)->pid != 0)
				pids[n++] = slots_worker_slot(slot, k)->pid;
	for (int i = 0; i < PROBE_SLOTS && n < max; i++)
		if (slots_shared->probes[i].dboid == dboid && slots_shared->probes[i].pid != 0)
			pids[n++] = slots_shared->probes[i].pid;
	SpinLockRelease(&slots_shared->mutex);
	return n;
}
