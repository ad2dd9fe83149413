/*
 * status.c
 *		One shared-memory slot per background worker: who runs, what it does,
 *		and the latch that wakes it.  Read by the wib.worker_status view.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "core/shmem.h"
#include "workers/status.h"

#define WORKER_STATE_LEN 64

typedef struct WorkerSlot
{
	pid_t		pid;			/* 0 when not running */
	Latch	   *latch;
	char		state[WORKER_STATE_LEN];
	TimestampTz started_at;
	TimestampTz last_activity;
	int64		items_done;
	int64		errors;
} WorkerSlot;

typedef struct WorkerStatusShared
{
	slock_t		mutex;
	WorkerSlot	slots[WORKER_KIND_COUNT];
} WorkerStatusShared;

static WorkerStatusShared *shared = NULL;

static const char *const worker_names[WORKER_KIND_COUNT] = {
	[WORKER_SCHEDULER] = "scheduler",
	[WORKER_DELIVERER] = "deliverer",
	[WORKER_CRM_SYNC] = "crm_sync",
};

const char *
worker_kind_name(WorkerKind kind)
{
	return worker_names[kind];
}

bool
worker_kind_from_name(const char *name, WorkerKind *kind)
{
	for (int i = 0; i < WORKER_KIND_COUNT; i++)
	{
		if (strcmp(worker_names[i], name) == 0)
		{
			*kind = (WorkerKind) i;
			return true;
		}
	}
	return false;
}

void
worker_status_shmem_request(void)
{
	RequestAddinShmemSpace(sizeof(WorkerStatusShared));
}

void
worker_status_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("wib worker status", sizeof(WorkerStatusShared), &found);
	if (!found)
	{
		memset(shared, 0, sizeof(WorkerStatusShared));
		SpinLockInit(&shared->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Clears the slot when the worker exits, so the view never shows a dead pid. */
static void
worker_status_exit(int code, Datum arg)
{
	WorkerSlot *slot = &shared->slots[DatumGetInt32(arg)];

	SpinLockAcquire(&shared->mutex);
	slot->pid = 0;
	slot->latch = NULL;
	strlcpy(slot->state, "stopped", WORKER_STATE_LEN);
	SpinLockRelease(&shared->mutex);
}

void
worker_status_started(WorkerKind kind)
{
	WorkerSlot *slot = &shared->slots[kind];
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&shared->mutex);
	slot->pid = MyProcPid;
	slot->latch = MyLatch;
	strlcpy(slot->state, "starting", WORKER_STATE_LEN);
	slot->started_at = now;
	slot->last_activity = now;
	slot->items_done = 0;
	slot->errors = 0;
	SpinLockRelease(&shared->mutex);
	before_shmem_exit(worker_status_exit, Int32GetDatum(kind));
}

void
worker_status_set_state(WorkerKind kind, const char *state)
{
	WorkerSlot *slot = &shared->slots[kind];

	SpinLockAcquire(&shared->mutex);
	strlcpy(slot->state, state, WORKER_STATE_LEN);
	SpinLockRelease(&shared->mutex);
}

void
worker_status_add(WorkerKind kind, int64 items_done, int64 errors)
{
	WorkerSlot *slot = &shared->slots[kind];
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&shared->mutex);
	slot->items_done += items_done;
	slot->errors += errors;
	slot->last_activity = now;
	SpinLockRelease(&shared->mutex);
}

bool
worker_status_wake(WorkerKind kind)
{
	Latch	   *latch;

	if (shared == NULL)
		return false;
	SpinLockAcquire(&shared->mutex);
	latch = shared->slots[kind].latch;
	SpinLockRelease(&shared->mutex);
	if (latch == NULL)
		return false;
	SetLatch(latch);
	return true;
}

PG_FUNCTION_INFO_V1(wib_worker_status);

/* Returns one row per worker kind; behind the wib.worker_status view. */
Datum
wib_worker_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	WorkerSlot	copy[WORKER_KIND_COUNT];

	shmem_require("wib.worker_status");
	InitMaterializedSRF(fcinfo, 0);

	SpinLockAcquire(&shared->mutex);
	memcpy(copy, shared->slots, sizeof(copy));
	SpinLockRelease(&shared->mutex);

	for (int i = 0; i < WORKER_KIND_COUNT; i++)
	{
		Datum		values[7];
		bool		nulls[7] = {false};
		bool		running = copy[i].pid != 0;

		values[0] = CStringGetTextDatum(worker_names[i]);
		values[1] = Int32GetDatum(copy[i].pid);
		nulls[1] = !running;
		values[2] = CStringGetTextDatum(copy[i].state[0] ? copy[i].state : "not started");
		values[3] = TimestampTzGetDatum(copy[i].started_at);
		nulls[3] = copy[i].started_at == 0;
		values[4] = TimestampTzGetDatum(copy[i].last_activity);
		nulls[4] = copy[i].last_activity == 0;
		values[5] = Int64GetDatum(copy[i].items_done);
		values[6] = Int64GetDatum(copy[i].errors);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
