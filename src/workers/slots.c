/*
 * slots.c
 *		The shared memory of the launcher and the per-database workers.
 *
 * A database slot is taken for each database the launcher serves (at most
 * wib.max_databases); each has one status slot per worker kind, where the
 * worker publishes its pid, latch and counters.  Probe slots carry what a
 * short-lived probe found in a database the launcher has not seen served.
 * The launcher's inbox lists databases where CREATE or ALTER EXTENSION wib
 * committed.  Holds are set by DDL (DROP DATABASE and kin) that needs a
 * database without connections: a held database gets no worker or probe.
 *
 * One spinlock guards it all; every critical section copies a few fields.
 * Latches are set after the lock is released.  This file keeps the layout,
 * the launcher's slot and inbox, the database slots and the workers' status;
 * slots_probes.c the probe slots, slots_holds.c the holds.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "workers/slots.h"
#include "workers/slots_internal.h"

int			slots_max_databases = 8;

SlotsShared *slots_shared = NULL;
DatabaseSlot *slots_databases = NULL;
WorkerSlot *slots_workers = NULL;
Oid		   *slots_holds = NULL;

static WorkerSlot *own_slot = NULL;

/* The launcher's part, the database slots, the workers' slots, one hold per backend. */
static Size
slots_size(void)
{
	Size		size = MAXALIGN(sizeof(SlotsShared));

	size = add_size(size, MAXALIGN(mul_size(slots_max_databases, sizeof(DatabaseSlot))));
	size = add_size(size, MAXALIGN(mul_size(mul_size(slots_max_databases, worker_kind_count()),
											sizeof(WorkerSlot))));
	size = add_size(size, mul_size(MaxBackends, sizeof(Oid)));
	return size;
}

/* Asks for the space; wib.max_databases and MaxBackends are known by then. */
void
slots_shmem_request(void)
{
	RequestAddinShmemSpace(slots_size());
}

/* Creates (postmaster) or attaches to the shared state. */
void
slots_shmem_startup(void)
{
	bool		found;
	char	   *base;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	slots_shared = ShmemInitStruct("wib workers", slots_size(), &found);
	if (!found)
	{
		memset(slots_shared, 0, slots_size());
		SpinLockInit(&slots_shared->mutex);
	}
	LWLockRelease(AddinShmemInitLock);

	base = (char *) slots_shared + MAXALIGN(sizeof(SlotsShared));
	slots_databases = (DatabaseSlot *) base;
	base += MAXALIGN(slots_max_databases * sizeof(DatabaseSlot));
	slots_workers = (WorkerSlot *) base;
	base += MAXALIGN(slots_max_databases * worker_kind_count() * sizeof(WorkerSlot));
	slots_holds = (Oid *) base;
}

/* True once this process has the shared state (wib is preloaded). */
bool
slots_ready(void)
{
	return slots_shared != NULL;
}




/* Starts a fresh status in a slot for this process; the caller has the lock. */
static void
start_status_locked(WorkerSlot *slot, TimestampTz now)
{
	slot->pid = MyProcPid;
	slot->latch = MyLatch;
	strlcpy(slot->state, "starting", WORKER_STATE_LEN);
	slot->started_at = now;
	slot->last_activity = now;
	slot->items_done = 0;
	slot->errors = 0;
}

/*
 * Clears this process's status slot when it exits, so the view never shows a
 * dead pid; a worker also wakes the launcher, which decides what comes next.
 */
static void
own_slot_exit(int code, Datum arg)
{
	bool		wake_launcher = DatumGetBool(arg);

	SpinLockAcquire(&slots_shared->mutex);
	own_slot->pid = 0;
	own_slot->latch = NULL;
	strlcpy(own_slot->state, "stopped", WORKER_STATE_LEN);
	SpinLockRelease(&slots_shared->mutex);
	own_slot = NULL;
	if (wake_launcher)
		slots_wake_launcher();
}

/* Sets the state this process shows in wib.worker_status. */
void
slots_set_own_state(const char *state)
{
	if (own_slot == NULL)
		return;
	SpinLockAcquire(&slots_shared->mutex);
	strlcpy(own_slot->state, state, WORKER_STATE_LEN);
	SpinLockRelease(&slots_shared->mutex);
}

/* Counts work done (and errors) by this process; marks it active now. */
void
slots_add_own(int64 items_done, int64 errors)
{
	TimestampTz now = GetCurrentTimestamp();

	if (own_slot == NULL)
		return;
	SpinLockAcquire(&slots_shared->mutex);
	own_slot->items_done += items_done;
	own_slot->errors += errors;
	own_slot->last_activity = now;
	SpinLockRelease(&slots_shared->mutex);
}

/* Copies the launcher's status and that of every served database's workers. */
void
slots_snapshot(SlotsSnapshot *snap)
{
	int			kinds = worker_kind_count();

	snap->databases = palloc(sizeof(Oid) * slots_max_databases);
	snap->workers = palloc(sizeof(WorkerSlot) * slots_max_databases * kinds);
	snap->n_databases = 0;
	SpinLockAcquire(&slots_shared->mutex);
	snap->launcher = slots_shared->launcher;
	for (int i = 0; i < slots_max_databases; i++)
	{
		if (!OidIsValid(slots_databases[i].dboid))
			continue;
		snap->databases[snap->n_databases] = slots_databases[i].dboid;
		memcpy(&snap->workers[snap->n_databases * kinds], slots_worker_slot(i, 0),
			   sizeof(WorkerSlot) * kinds);
		snap->n_databases++;
	}
	SpinLockRelease(&slots_shared->mutex);
}

/* ---- the launcher ---- */

/* Publishes the launcher's pid and latch; false when another launcher runs. */
bool
slots_claim_launcher(void)
{
	TimestampTz now = GetCurrentTimestamp();
	bool		claimed = false;

	SpinLockAcquire(&slots_shared->mutex);
	if (slots_shared->launcher.pid == 0)
	{
		start_status_locked(&slots_shared->launcher, now);
		claimed = true;
	}
	SpinLockRelease(&slots_shared->mutex);
	if (claimed)
	{
		own_slot = &slots_shared->launcher;
		before_shmem_exit(own_slot_exit, BoolGetDatum(false));
	}
	return claimed;
}

/* Sets the launcher's latch: something for it to look at. */
void
slots_wake_launcher(void)
{
	Latch	   *latch;

	if (slots_shared == NULL)
		return;
	SpinLockAcquire(&slots_shared->mutex);
	latch = slots_shared->launcher.latch;
	SpinLockRelease(&slots_shared->mutex);
	if (latch != NULL)
		SetLatch(latch);
}

/* Asks the launcher to look at a database again (the extension was created or updated there). */
void
slots_notify_launcher(Oid dboid)
{
	Latch	   *latch;
	bool		queued = false;

	if (slots_shared == NULL)
		return;
	SpinLockAcquire(&slots_shared->mutex);
	for (int i = 0; i < slots_shared->n_notified; i++)
		if (slots_shared->notified[i] == dboid)
			queued = true;
	if (!queued && slots_shared->n_notified < NOTIFY_QUEUE)
		slots_shared->notified[slots_shared->n_notified++] = dboid;
	else if (!queued)
		slots_shared->notify_overflow = true;
	latch = slots_shared->launcher.latch;
	SpinLockRelease(&slots_shared->mutex);
	if (latch != NULL)
		SetLatch(latch);
}

/* Empties the launcher's inbox into dboids; *overflow: some were lost, look at every database. */
int
slots_take_notifications(Oid *dboids, int max, bool *overflow)
{
	int			n;

	SpinLockAcquire(&slots_shared->mutex);
	n = Min(slots_shared->n_notified, max);
	memcpy(dboids, slots_shared->notified, sizeof(Oid) * n);
	*overflow = slots_shared->notify_overflow || slots_shared->n_notified > max;
	slots_shared->n_notified = 0;
	slots_shared->notify_overflow = false;
	SpinLockRelease(&slots_shared->mutex);
	return n;
}

/* Takes a database slot for dboid; -1 when all are in use. */
int
slots_database_alloc(Oid dboid)
{
	int			kinds = worker_kind_count();
	int			slot;

	SpinLockAcquire(&slots_shared->mutex);
	slot = slots_find_database_locked(dboid);
	if (slot < 0)
	{
		slot = slots_find_database_locked(InvalidOid);
		if (slot >= 0)
		{
			slots_databases[slot].dboid = dboid;
			slots_databases[slot].stop = false;
			slots_databases[slot].found = EXTENSION_UNKNOWN;
			slots_databases[slot].version[0] = '\0';
			memset(slots_worker_slot(slot, 0), 0, sizeof(WorkerSlot) * kinds);
		}
	}
	SpinLockRelease(&slots_shared->mutex);
	return slot;
}

/*
 * The database a slot serves (InvalidOid: free) and whether its workers were
 * asked to stop: a launcher adopts them after a restart.
 */
Oid
slots_database_oid(int slot, bool *stopping)
{
	Oid			dboid;

	SpinLockAcquire(&slots_shared->mutex);
	dboid = slots_databases[slot].dboid;
	*stopping = slots_databases[slot].stop;
	SpinLockRelease(&slots_shared->mutex);
	return dboid;
}

/* Asks the workers of a slot to exit at their next turn, and wakes them. */
void
slots_database_stop(int slot)
{
	int			kinds = worker_kind_count();
	Latch	   *latches[WORKER_KINDS_MAX];

	SpinLockAcquire(&slots_shared->mutex);
	slots_databases[slot].stop = true;
	for (int k = 0; k < kinds; k++)
		latches[k] = slots_worker_slot(slot, k)->latch;
	SpinLockRelease(&slots_shared->mutex);
	for (int k = 0; k < kinds; k++)
		if (latches[k] != NULL)
			SetLatch(latches[k]);
}

/* Gives a slot back once none of its workers runs. */
void
slots_database_free(int slot)
{
	int			kinds = worker_kind_count();

	SpinLockAcquire(&slots_shared->mutex);
	slots_databases[slot].dboid = InvalidOid;
	slots_databases[slot].stop = false;
	slots_databases[slot].found = EXTENSION_UNKNOWN;
	memset(slots_worker_slot(slot, 0), 0, sizeof(WorkerSlot) * kinds);
	SpinLockRelease(&slots_shared->mutex);
}

/* What a worker of the slot found when it stopped itself (UNKNOWN: nothing, keep serving). */
ExtensionState
slots_database_found(int slot, char *version)
{
	ExtensionState found;

	SpinLockAcquire(&slots_shared->mutex);
	found = slots_databases[slot].found;
	strlcpy(version, slots_databases[slot].version, WIB_VERSION_LEN);
	SpinLockRelease(&slots_shared->mutex);
	return found;
}

/* The pid of a slot's worker of a kind, 0 when it does not run. */
pid_t
slots_worker_pid(int slot, WorkerKind kind)
{
	pid_t		pid;

	SpinLockAcquire(&slots_shared->mutex);
	pid = slots_worker_slot(slot, kind)->pid;
	SpinLockRelease(&slots_shared->mutex);
	return pid;
}

/* Shows "starting" for a worker the launcher has just registered. */
void
slots_worker_registered(int slot, WorkerKind kind)
{
	WorkerSlot *w;

	SpinLockAcquire(&slots_shared->mutex);
	w = slots_worker_slot(slot, kind);
	if (w->pid == 0)
		strlcpy(w->state, "starting", WORKER_STATE_LEN);
	SpinLockRelease(&slots_shared->mutex);
}




/* ---- per-database workers and probes ---- */

/*
 * Publishes this worker in its slot.  False, and the worker exits without
 * connecting, when the slot serves no longer this database, the database is
 * held or stopping, or another worker of the kind already runs there (one the
 * launcher's predecessor started): never two of a kind in one database.
 */
bool
slots_claim_worker(int slot, Oid dboid, WorkerKind kind)
{
	TimestampTz now = GetCurrentTimestamp();
	WorkerSlot *w;
	bool		claimed = false;

	if (slot < 0 || slot >= slots_max_databases)
		return false;
	SpinLockAcquire(&slots_shared->mutex);
	w = slots_worker_slot(slot, kind);
	if (slots_databases[slot].dboid == dboid && !slots_databases[slot].stop && !slots_held_locked(dboid) &&
		(w->pid == 0 || w->pid == MyProcPid))
	{
		start_status_locked(w, now);
		claimed = true;
	}
	SpinLockRelease(&slots_shared->mutex);
	if (claimed)
	{
		own_slot = w;
		before_shmem_exit(own_slot_exit, BoolGetDatum(true));
	}
	return claimed;
}

/* True when the worker must exit: its database is stopping, held or no longer its slot's. */
bool
slots_worker_should_stop(int slot, Oid dboid)
{
	bool		stop;

	SpinLockAcquire(&slots_shared->mutex);
	stop = slots_databases[slot].dboid != dboid || slots_databases[slot].stop || slots_held_locked(dboid);
	SpinLockRelease(&slots_shared->mutex);
	return stop;
}

/* A worker found the extension gone or at another version: the launcher stops serving. */
void
slots_database_report(int slot, Oid dboid, ExtensionState found, const char *version)
{
	SpinLockAcquire(&slots_shared->mutex);
	if (slots_databases[slot].dboid == dboid)
	{
		slots_databases[slot].found = found;
		strlcpy(slots_databases[slot].version, version, WIB_VERSION_LEN);
	}
	SpinLockRelease(&slots_shared->mutex);
}




/* ---- any backend ---- */

/* Wakes the worker of a kind serving a database; false when it does not run. */
bool
slots_wake_worker(Oid dboid, WorkerKind kind)
{
	Latch	   *latch = NULL;
	int			slot;

	if (slots_shared == NULL || !OidIsValid(dboid))
		return false;
	SpinLockAcquire(&slots_shared->mutex);
	slot = slots_find_database_locked(dboid);
	if (slot >= 0)
		latch = slots_worker_slot(slot, kind)->latch;
	SpinLockRelease(&slots_shared->mutex);
	if (latch == NULL)
		return false;
	SetLatch(latch);
	return true;
}

/* Wakes every worker serving a database (to look at a hold or a dropped extension at once). */
void
slots_wake_database(Oid dboid)
{
	int			kinds = worker_kind_count();
	Latch	   *latches[WORKER_KINDS_MAX] = {0};
	int			slot;

	if (slots_shared == NULL || !OidIsValid(dboid))
		return;
	SpinLockAcquire(&slots_shared->mutex);
	slot = slots_find_database_locked(dboid);
	if (slot >= 0)
		for (int k = 0; k < kinds; k++)
			latches[k] = slots_worker_slot(slot, k)->latch;
	SpinLockRelease(&slots_shared->mutex);
	for (int k = 0; k < kinds; k++)
		if (latches[k] != NULL)
			SetLatch(latches[k]);
}





