/*
 * rate_limit.c
 *		wib.rate_limit(): a fixed-window counter per key, shared by all backends.
 *
 * Windows are aligned to the epoch (window = now / per), so "at most max_hits
 * per window" holds exactly across backends: the count and the decision are
 * made under one partition lock.  Keys are identified by a 64-bit hash of
 * their namespace, organization, key and window length; slots live in an
 * open-addressed table split into partitions so that unrelated keys rarely
 * contend.  A lookup probes at most RATE_LIMIT_PROBE slots, and a slot whose
 * window has passed is reused in place, so slots never become empty again and
 * probe chains stay intact.
 *
 * The table is shared by every tenant, so one tenant must not be able to fill
 * it: each slot records the organization that owns it, and an organization
 * holds at most wib.rate_limit_keys_per_org slots.  When it reaches its share,
 * its slots whose windows have passed are released (one sweep of the table)
 * before a new key of its is refused; other organizations never notice.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "core/errors.h"
#include "core/rate_limit.h"
#include "core/shmem.h"
#include "core/tenancy.h"

#define RATE_LIMIT_PARTITIONS	128
#define RATE_LIMIT_PROBE		64		/* slots one lookup looks at, at most */
#define RATE_LIMIT_KEY_MAX		512
#define RATE_LIMIT_TRANCHE		"wib_rate_limit"

typedef struct RateSlot
{
	uint64		key_hash;		/* 0 marks a never-used slot */
	int64		per_us;
	int64		window;			/* now / per_us when the count started */
	int32		hits;
	bool		owned;			/* counted in owner's share */
	pg_uuid_t	owner;
} RateSlot;

/* How many slots one organization holds. */
typedef struct OrgShare
{
	pg_uuid_t	org;			/* hash key */
	int32		slots;
} OrgShare;

typedef struct RateLimitShared
{
	int			slots_per_partition;
	LWLockPadded *locks;		/* RATE_LIMIT_PARTITIONS partition locks, then the share lock */
	RateSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} RateLimitShared;

static int	rate_limit_slots = 65536;
static int	rate_limit_keys_per_org = 4096;
static RateLimitShared *shared = NULL;
static HTAB *shares = NULL;

static int
slots_per_partition(void)
{
	return Max(rate_limit_slots / RATE_LIMIT_PARTITIONS, 8);
}

static int
total_slots(void)
{
	return slots_per_partition() * RATE_LIMIT_PARTITIONS;
}

static Size
rate_limit_shmem_size(void)
{
	return add_size(offsetof(RateLimitShared, slots),
					mul_size(sizeof(RateSlot), total_slots()));
}

static LWLock *
share_lock(void)
{
	return &shared->locks[RATE_LIMIT_PARTITIONS].lock;
}

/* Defines wib.rate_limit_slots; called from _PG_init while preloading. */
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

/* Defines wib.rate_limit_keys_per_org; called from _PG_init. */
void
rate_limit_define_reloadable_settings(void)
{
	DefineCustomIntVariable("wib.rate_limit_keys_per_org",
							"Most keys with a live window one organization may hold in the rate limiter.",
							"One organization cannot fill the limiter that every organization shares.",
							&rate_limit_keys_per_org,
							4096, 16, 16 * 1024 * 1024,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
}

void
rate_limit_shmem_request(void)
{
	RequestAddinShmemSpace(rate_limit_shmem_size());
	RequestAddinShmemSpace(hash_estimate_size(total_slots(), sizeof(OrgShare)));
	RequestNamedLWLockTranche(RATE_LIMIT_TRANCHE, RATE_LIMIT_PARTITIONS + 1);
}

void
rate_limit_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("wib rate limiter", rate_limit_shmem_size(), &found);
	if (!found)
	{
		memset(shared, 0, rate_limit_shmem_size());
		shared->slots_per_partition = slots_per_partition();
	}
	shared->locks = GetNamedLWLockTranche(RATE_LIMIT_TRANCHE);
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(pg_uuid_t);
	info.entrysize = sizeof(OrgShare);
	shares = ShmemInitHash("wib rate limiter shares", total_slots(), total_slots(),
						   &info, HASH_ELEM | HASH_BLOBS);
	LWLockRelease(AddinShmemInitLock);
}

/* Adds delta to org's share; returns the new count.  Caller holds the share lock. */
static int32
share_add(const pg_uuid_t *org, int32 delta)
{
	OrgShare   *s;
	bool		found;

	s = hash_search(shares, org, delta > 0 ? HASH_ENTER_NULL : HASH_FIND, &found);
	if (s == NULL)
		return delta > 0 ? -1 : 0;
	if (!found)
		s->slots = 0;
	s->slots += delta;
	if (s->slots <= 0)
	{
		hash_search(shares, org, HASH_REMOVE, NULL);
		return 0;
	}
	return s->slots;
}

static int32
share_of(const pg_uuid_t *org)
{
	OrgShare   *s = hash_search(shares, org, HASH_FIND, NULL);

	return s ? s->slots : 0;
}

/* Gives up a slot's ownership.  Caller holds its partition lock. */
static void
slot_disown(RateSlot *slot)
{
	if (!slot->owned)
		return;
	LWLockAcquire(share_lock(), LW_EXCLUSIVE);
	share_add(&slot->owner, -1);
	LWLockRelease(share_lock());
	slot->owned = false;
}

/*
 * Releases every slot of org whose window has passed, one partition at a
 * time (never holding two partition locks, so sweeps cannot deadlock).
 */
static void
sweep_expired(const pg_uuid_t *org, TimestampTz now)
{
	int			nslots = shared->slots_per_partition;

	for (int p = 0; p < RATE_LIMIT_PARTITIONS; p++)
	{
		RateSlot   *base = &shared->slots[p * nslots];

		LWLockAcquire(&shared->locks[p].lock, LW_EXCLUSIVE);
		for (int i = 0; i < nslots; i++)
		{
			RateSlot   *slot = &base[i];

			if (slot->owned && now / slot->per_us > slot->window &&
				memcmp(&slot->owner, org, sizeof(pg_uuid_t)) == 0)
				slot_disown(slot);
		}
		LWLockRelease(&shared->locks[p].lock);
		CHECK_FOR_INTERRUPTS();
	}
}

/* The slot key: namespace, organization, key bytes, seeded with the window length. */
static uint64
slot_hash(RateNamespace ns, const pg_uuid_t *org, const char *key, int keylen, int64 per_us)
{
	uint64		h = hash_bytes_extended((const unsigned char *) key, keylen, (uint64) per_us);
	uint64		o = org ? hash_bytes_extended(org->data, UUID_LEN, (uint64) ns) : (uint64) ns;

	h = hash_combine64(h, o);
	return h == 0 ? 1 : h;
}

/* Outcome of one locked attempt. */
typedef enum HitResult
{
	HIT_DONE,
	HIT_OVER_SHARE,
	HIT_NO_SLOT
} HitResult;

static HitResult
hit_locked(RateSlot *base, int nslots, uint64 hash, const pg_uuid_t *org, int64 per_us,
		   TimestampTz now, int32 max_hits, bool *admitted)
{
	int64		window = now / per_us;
	RateSlot   *found = NULL;
	RateSlot   *reusable = NULL;
	int			probe = Min(nslots, RATE_LIMIT_PROBE);

	for (int i = 0; i < probe; i++)
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
			return HIT_NO_SLOT;
		if (org != NULL)
		{
			int32		taken;

			LWLockAcquire(share_lock(), LW_EXCLUSIVE);
			/* Reusing one of its own expired slots costs an organization nothing. */
			if (reusable->owned && memcmp(&reusable->owner, org, sizeof(pg_uuid_t)) == 0)
				taken = share_of(org);
			else if (share_of(org) >= rate_limit_keys_per_org)
				taken = -2;
			else
				taken = share_add(org, 1);
			LWLockRelease(share_lock());
			if (taken == -2)
				return HIT_OVER_SHARE;
			if (taken < 0)
				return HIT_NO_SLOT;
			if (!(reusable->owned && memcmp(&reusable->owner, org, sizeof(pg_uuid_t)) == 0))
			{
				slot_disown(reusable);
				reusable->owned = true;
				reusable->owner = *org;
			}
		}
		else
			slot_disown(reusable);
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

	*admitted = found->hits < max_hits;
	if (*admitted)
		found->hits++;
	return HIT_DONE;
}

bool
rate_limit_hit(RateNamespace ns, const pg_uuid_t *org, const char *key, int keylen,
			   int32 max_hits, int64 per_us, int64 *retry_after_us)
{
	uint64		hash;
	int			partition;
	int			nslots;
	RateSlot   *base;
	TimestampTz now = GetCurrentTimestamp();
	bool		admitted = false;
	HitResult	result;
	const pg_uuid_t *share_org = org;

	shmem_require("wib.rate_limit()");

	hash = slot_hash(ns, org, key, keylen, per_us);
	partition = (int) (hash % RATE_LIMIT_PARTITIONS);
	nslots = shared->slots_per_partition;
	base = &shared->slots[partition * nslots];

	/* Only applications' keys count against an organization's share: wib's own are few and fixed. */
	if (ns != RATE_NS_APPLICATION)
		share_org = NULL;

	LWLockAcquire(&shared->locks[partition].lock, LW_EXCLUSIVE);
	result = hit_locked(base, nslots, hash, share_org, per_us, now, max_hits, &admitted);
	LWLockRelease(&shared->locks[partition].lock);

	if (result == HIT_OVER_SHARE)
	{
		sweep_expired(share_org, now);
		LWLockAcquire(&shared->locks[partition].lock, LW_EXCLUSIVE);
		result = hit_locked(base, nslots, hash, share_org, per_us, now, max_hits, &admitted);
		LWLockRelease(&shared->locks[partition].lock);
	}
	if (result == HIT_OVER_SHARE)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_RESOURCE_EXHAUSTED),
				 errmsg("rate limiter refused a new key: the organization already holds %d keys with a live window",
						rate_limit_keys_per_org),
				 errdetail("Each organization may hold at most wib.rate_limit_keys_per_org keys at once, so that no tenant fills the limiter all tenants share."),
				 errhint("Use fewer distinct keys or shorter windows, or raise wib.rate_limit_keys_per_org.")));
	if (result == HIT_NO_SLOT)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_RESOURCE_EXHAUSTED),
				 errmsg("rate limiter has no free slot for a new key"),
				 errdetail("The %d slots a key may take in its partition all hold a live window.",
						   Min(nslots, RATE_LIMIT_PROBE)),
				 errhint("Raise wib.rate_limit_slots and restart the server.")));

	if (retry_after_us)
		*retry_after_us = admitted ? 0 : (now / per_us + 1) * per_us - now;
	return admitted;
}

/* Validates the arguments shared by every SQL entry point: key at argument key_arg, then max_hits, per. */
static void
read_rate_limit_args(FunctionCallInfo fcinfo, int key_arg, text **key, int32 *max_hits, int64 *per_us)
{
	Interval   *per;

	if (PG_ARGISNULL(key_arg))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key must not be null")));
	if (PG_ARGISNULL(key_arg + 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_hits must not be null")));
	if (PG_ARGISNULL(key_arg + 2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("per must not be null")));

	*key = PG_GETARG_TEXT_PP(key_arg);
	*max_hits = PG_GETARG_INT32(key_arg + 1);
	per = PG_GETARG_INTERVAL_P(key_arg + 2);

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

/*
 * Counts a hit for the key at argument key_arg; raises WB003 when refused and
 * raise is set.  Application keys belong to the organization in context.
 */
static bool
count_hit(FunctionCallInfo fcinfo, RateNamespace ns, const pg_uuid_t *org, int key_arg, bool raise)
{
	text	   *key;
	int32		max_hits;
	int64		per_us;
	int64		retry_after_us;

	shmem_require("wib.rate_limit()");
	if (ns == RATE_NS_APPLICATION)
		org = tenancy_require_org();
	read_rate_limit_args(fcinfo, key_arg, &key, &max_hits, &per_us);
	if (rate_limit_hit(ns, org, VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key),
					   max_hits, per_us, &retry_after_us))
		return true;
	if (raise)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_RATE_LIMITED),
				 errmsg("rate limit exceeded for \"%s\"", text_to_cstring(key)),
				 errdetail("At most %d requests are allowed per window; retry after %.1f seconds.",
						   max_hits, (double) retry_after_us / USECS_PER_SEC)));
	return false;
}

PG_FUNCTION_INFO_V1(wib_rate_limit);

/* wib.rate_limit(key, max_hits, per): counts a hit in the organization's key space; true when admitted. */
Datum
wib_rate_limit(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(count_hit(fcinfo, RATE_NS_APPLICATION, NULL, 0, false));
}

PG_FUNCTION_INFO_V1(wib_rate_limit_check);

/* wib.rate_limit_check(key, max_hits, per): the same; raises WB003 when refused. */
Datum
wib_rate_limit_check(PG_FUNCTION_ARGS)
{
	(void) count_hit(fcinfo, RATE_NS_APPLICATION, NULL, 0, true);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(wib_rate_limit_internal);

/*
 * wib.rate_limit_internal(org, key, max_hits, per, raise): wib's own limits
 * (per dialled number, per export requester, per QR client), in a key space
 * no application call reaches; org may be NULL for limits of no tenant.
 */
Datum
wib_rate_limit_internal(PG_FUNCTION_ARGS)
{
	bool		raise = PG_ARGISNULL(4) ? true : PG_GETARG_BOOL(4);

	PG_RETURN_BOOL(count_hit(fcinfo, RATE_NS_INTERNAL,
							 PG_ARGISNULL(0) ? NULL : PG_GETARG_UUID_P(0), 1, raise));
}
