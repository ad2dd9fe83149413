/*
 * limiter.c
 *		One slot per CRM account in shared memory: the send times of its last
 *		requests and searches (src/crm/pace.c) and how long it is held back
 *		after refusals.  Every worker and session that talks to the account
 *		goes through the same slot, so the account's limits hold across them
 *		(HubSpot: 110 requests per 10 s and 5 searches per second, per portal;
 *		wib stays below with the margins of its settings).
 *
 * Slots are found by account name; an account unused for a minute gives its
 * slot to a new one, the least recently used first.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "core/shmem.h"
#include "crm/crm_settings.h"
#include "crm/limiter.h"
#include "crm/pace.h"

#define CRM_LIMITER_SLOTS		256
#define CRM_ACCOUNT_LEN			96
#define CRM_LIMITER_TRANCHE		"wib_crm_limiter"
#define CRM_SLOT_IDLE_US		(60 * USECS_PER_SEC)

typedef struct CrmAccountSlot
{
	char		account[CRM_ACCOUNT_LEN];	/* "" when free */
	PaceWindow	requests;
	PaceWindow	searches;
	TimestampTz blocked_until;
	int32		refusals;		/* 429s in a row */
	TimestampTz last_used;
} CrmAccountSlot;

typedef struct CrmLimiterShared
{
	LWLock	   *lock;
	CrmAccountSlot slots[CRM_LIMITER_SLOTS];
} CrmLimiterShared;

static CrmLimiterShared *shared = NULL;

void
crm_limiter_shmem_request(void)
{
	RequestAddinShmemSpace(sizeof(CrmLimiterShared));
	RequestNamedLWLockTranche(CRM_LIMITER_TRANCHE, 1);
}

void
crm_limiter_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("wib crm limiter", sizeof(CrmLimiterShared), &found);
	if (!found)
	{
		memset(shared, 0, sizeof(CrmLimiterShared));
		shared->lock = &(GetNamedLWLockTranche(CRM_LIMITER_TRANCHE))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* The slot of account, taken if need be, or NULL when every slot is busy; the lock is held exclusively. */
static CrmAccountSlot *
slot_for(const char *account, TimestampTz now)
{
	CrmAccountSlot *free_slot = NULL;
	CrmAccountSlot *oldest = NULL;

	for (int i = 0; i < CRM_LIMITER_SLOTS; i++)
	{
		CrmAccountSlot *s = &shared->slots[i];

		if (s->account[0] == '\0')
		{
			if (free_slot == NULL)
				free_slot = s;
			continue;
		}
		if (strncmp(s->account, account, CRM_ACCOUNT_LEN) == 0)
			return s;
		if (oldest == NULL || s->last_used < oldest->last_used)
			oldest = s;
	}
	if (free_slot == NULL)
	{
		/* Only an idle account gives its place up: its history can no longer matter. */
		if (oldest == NULL || oldest->last_used > now - CRM_SLOT_IDLE_US)
			return NULL;
		free_slot = oldest;
	}
	memset(free_slot, 0, sizeof(*free_slot));
	strlcpy(free_slot->account, account, CRM_ACCOUNT_LEN);
	return free_slot;
}

/* Takes the lock and the slot of account; raises (lock released) when every slot is busy. */
static CrmAccountSlot *
lock_slot(const char *account, TimestampTz now)
{
	CrmAccountSlot *s;

	shmem_require("CRM sync");
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	s = slot_for(account, now);
	if (s == NULL)
	{
		LWLockRelease(shared->lock);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("too many CRM accounts are being synced at once"),
				 errdetail("The limiter tracks %d accounts used within the last minute.", CRM_LIMITER_SLOTS)));
	}
	return s;
}

void
crm_sleep(int64 us)
{
	TimestampTz until = GetCurrentTimestamp() + us;

	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		long		ms;

		CHECK_FOR_INTERRUPTS();
		if (now >= until)
			return;
		ms = (long) Min((until - now + 999) / 1000, 1000);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

int64
crm_limiter_acquire(const char *account, const CrmLimits *limits, bool search)
{
	TimestampTz start = GetCurrentTimestamp();

	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		TimestampTz earliest;
		CrmAccountSlot *s = lock_slot(account, now);

		earliest = Max(now, s->blocked_until);
		earliest = Max(earliest, pace_earliest(&s->requests, limits->requests, limits->window_us, now));
		if (search)
			earliest = Max(earliest, pace_earliest(&s->searches, limits->searches, limits->search_window_us, now));
		if (earliest <= now)
		{
			pace_record(&s->requests, now);
			if (search)
				pace_record(&s->searches, now);
			s->last_used = now;
			LWLockRelease(shared->lock);
			return now - start;
		}
		s->last_used = now;
		LWLockRelease(shared->lock);
		crm_sleep(earliest - now);
	}
}

int64
crm_limiter_refused(const char *account, int retry_after_s)
{
	TimestampTz now = GetCurrentTimestamp();
	CrmAccountSlot *s;
	int64		wait;

	s = lock_slot(account, now);
	s->refusals++;
	wait = pace_backoff(s->refusals, (int64) crm_backoff_base_ms * 1000, (int64) crm_backoff_max_ms * 1000,
						retry_after_s >= 0 ? (int64) retry_after_s * USECS_PER_SEC : -1);
	s->blocked_until = Max(s->blocked_until, now + wait);
	s->last_used = now;
	LWLockRelease(shared->lock);
	return wait;
}

void
crm_limiter_accepted(const char *account)
{
	TimestampTz now = GetCurrentTimestamp();
	CrmAccountSlot *s;

	s = lock_slot(account, now);
	s->refusals = 0;
	s->last_used = now;
	LWLockRelease(shared->lock);
}

void
crm_limiter_hold(const char *account, int64 us)
{
	TimestampTz now = GetCurrentTimestamp();
	CrmAccountSlot *s;

	s = lock_slot(account, now);
	s->blocked_until = Max(s->blocked_until, now + us);
	s->last_used = now;
	LWLockRelease(shared->lock);
}
