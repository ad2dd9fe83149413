/*
 * rate_limit.c
 *		wib.rate_limit(): a fixed-window counter per key, shared by all backends.
 *
 * Windows are aligned to the epoch (window = now / per), so "at most max_hits
 * per window" holds exactly across backends: the count and the decision are
 * made under one partition lock.  Keys are identified by a 64-bit hash of the
 * key and the window length; slots live in an open-addressed table split into
 * partitions so that unrelated keys rarely contend.  A slot whose window has
 * passed is reused in place, so slots are never emptied and probe chains stay
 * intact.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "core/errors.h"
#include "core/rate_limit.h"
#include "core/shmem.h"

#define RATE_LIMIT_PARTITIONS 128
#define RATE_LIMIT_KEY_MAX 512
#define RATE_LIMIT_TRANCHE "wib_rate_limit"

typedef struct RateSlot
{
	uint64		key_hash;		/* 0 marks a never-used slot */
	int64		per_us;
	int64		window;			/* now / per_us when the count started */
	int32		hits;
} RateSlot;

typedef struct RateLimitShared
{
	int			slots_per_partition;
	LWLockPadded *locks;
	RateSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} RateLimitShared;

static int	rate_limit_slots = 65536;
static RateLimitShared *shared = NULL;

static int
slots_per_partition(void)
{
	return Max(rate_limit_slots / RATE_LIMIT_PARTITIONS, 8);
}

static Size
rate_limit_shmem_size(void)
{
	return add_size(offsetof(RateLimitShared, slots),
					mul_size(sizeof(RateSlot),
							 mul_size(slots_per_partition(), RATE_LIMIT_PARTITIONS)));
}

/* Defines wib.rate_limit_slots; called from _PG_init. */
void
rate_limit_define_settings(void)
{
	DefineCustomIntVariable("wib.rate_limit_slots",
							"Number of keys wib.rate_limit() can track at once.",
							"Keys whose window has ended free their slot for reuse.",
							&rate_limit_slots,
							65536, 1024, 16 * 1024 * 1024,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
}

void
rate_limit_shmem_request(void)
{
	RequestAddinShmemSpace(rate_limit_shmem_size());
	RequestNamedLWLockTranche(RATE_LIMIT_TRANCHE, RATE_LIMIT_PARTITIONS);
}

void
rate_limit_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("wib rate limiter", rate_limit_shmem_size(), &found);
	if (!found)
	{
		memset(shared, 0, rate_limit_shmem_size());
		shared->slots_per_partition = slots_per_partition();
	}
	shared->locks = GetNamedLWLockTranche(RATE_LIMIT_TRANCHE);
	LWLockRelease(AddinShmemInitLock);
}

bool
rate_limit_hit(const char *key, int keylen, int32 max_hits, int64 per_us,
			   int64 *retry_after_us)
{
	uint64		hash;
	int			partition;
	int			nslots;
	RateSlot   *base;
	RateSlot   *found = NULL;
	RateSlot   *reusable = NULL;
	TimestampTz now = GetCurrentTimestamp();
	int64		window = now / per_us;
	bool		admitted;

	shmem_require("wib.rate_limit()");

	hash = hash_bytes_extended((const unsigned char *) key, keylen, (uint64) per_us);
	if (hash == 0)
		hash = 1;
	partition = (int) (hash % RATE_LIMIT_PARTITIONS);
	nslots = shared->slots_per_partition;
	base = &shared->slots[partition * nslots];

	LWLockAcquire(&shared->locks[partition].lock, LW_EXCLUSIVE);
	for (int i = 0; i < nslots; i++)
	{
		RateSlot   *slot = &base[(int) ((hash / RATE_LIMIT_PARTITIONS + i) % nslots)];

		if (slot->key_hash == 0)
		{
			if (reusable == NULL)
				reusable = slot;
			break;
		}
		if (slot->key_hash == hash && slot->per_us == per_us)
		{
			found = slot;
			break;
		}
		if (reusable == NULL && now / slot->per_us > slot->window)
			reusable = slot;
	}

	if (found == NULL)
	{
		if (reusable == NULL)
		{
			LWLockRelease(&shared->locks[partition].lock);
			ereport(ERROR,
					(errcode(ERRCODE_WIB_RESOURCE_EXHAUSTED),
					 errmsg("rate limiter has no free slot for a new key"),
					 errdetail("All %d slots of this key's partition hold a live window.", nslots),
					 errhint("Raise wib.rate_limit_slots and restart the server.")));
		}
		found = reusable;
		found->key_hash = hash;
		found->per_us = per_us;
		found->window = window;
		found->hits = 0;
	}
	else if (window > found->window)
	{
		/* A clock stepping back keeps counting in the newer window: never admits more. */
		found->window = window;
		found->hits = 0;
	}

	admitted = found->hits < max_hits;
	if (admitted)
		found->hits++;
	LWLockRelease(&shared->locks[partition].lock);

	if (retry_after_us)
		*retry_after_us = admitted ? 0 : (window + 1) * per_us - now;
	return admitted;
}

/* Validates the SQL arguments shared by wib.rate_limit() and wib.rate_limit_check(). */
static void
read_rate_limit_args(FunctionCallInfo fcinfo, text **key, int32 *max_hits, int64 *per_us)
{
	Interval   *per;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_hits must not be null")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("per must not be null")));

	*key = PG_GETARG_TEXT_PP(0);
	*max_hits = PG_GETARG_INT32(1);
	per = PG_GETARG_INTERVAL_P(2);

	if (VARSIZE_ANY_EXHDR(*key) == 0 || VARSIZE_ANY_EXHDR(*key) > RATE_LIMIT_KEY_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key must be between 1 and %d bytes long", RATE_LIMIT_KEY_MAX),
				 errdetail("Got %d bytes.", (int) VARSIZE_ANY_EXHDR(*key))));
	if (*max_hits < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_hits must be at least 1"),
				 errdetail("Got %d.", *max_hits)));
	if (per->month != 0 || per->day < 0 || per->day > 366)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("per must be a positive interval of at most 366 days without months"),
				 errdetail("Months have no fixed length; write days or hours instead.")));
	*per_us = per->time + per->day * USECS_PER_DAY;
	if (*per_us < 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("per must be at least 1 millisecond")));
}

PG_FUNCTION_INFO_V1(wib_rate_limit);

/* wib.rate_limit(key, max_hits, per): counts a hit; true when admitted. */
Datum
wib_rate_limit(PG_FUNCTION_ARGS)
{
	text	   *key;
	int32		max_hits;
	int64		per_us;

	read_rate_limit_args(fcinfo, &key, &max_hits, &per_us);
	PG_RETURN_BOOL(rate_limit_hit(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key),
								  max_hits, per_us, NULL));
}

PG_FUNCTION_INFO_V1(wib_rate_limit_check);

/* wib.rate_limit_check(key, max_hits, per): counts a hit; raises WB003 when refused. */
Datum
wib_rate_limit_check(PG_FUNCTION_ARGS)
{
	text	   *key;
	int32		max_hits;
	int64		per_us;
	int64		retry_after_us;

	read_rate_limit_args(fcinfo, &key, &max_hits, &per_us);
	if (!rate_limit_hit(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key),
						max_hits, per_us, &retry_after_us))
		ereport(ERROR,
				(errcode(ERRCODE_WIB_RATE_LIMITED),
				 errmsg("rate limit exceeded for \"%s\"", text_to_cstring(key)),
				 errdetail("At most %d requests are allowed per window; retry after %.1f seconds.",
						   max_hits, (double) retry_after_us / USECS_PER_SEC)));
	PG_RETURN_VOID();
}
