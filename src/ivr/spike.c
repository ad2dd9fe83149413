/*
 * spike.c
 *		Call spikes per dialled number, found while the calls arrive.
 *
 * Toll fraud shows as a sudden burst of calls on one number.  The fixed
 * per-minute cap (wib.ivr_calls_per_minute) stops the worst of it; this
 * detector reports a burst far above what the number usually gets, however
 * busy it usually is.  Each number has a slot in shared memory: the calls of
 * the current interval (wib.ivr_spike_interval) and a baseline, the
 * exponentially weighted mean of its past intervals (weight 1/N of the newest,
 * N = wib.ivr_spike_baseline; empty intervals count as zero).  A call that
 * makes the interval's count reach both wib.ivr_spike_min_calls and
 * wib.ivr_spike_factor times the baseline (at least 1) is a spike, reported
 * once until an interval ends below the threshold again.  A number is judged
 * from its second interval of traffic (the first one seeds the baseline), so
 * a restart, which forgets the slots, costs one interval of blindness rather
 * than false alarms.
 *
 * The cost on the hot path is one hash, one partition lock and a few
 * arithmetic operations.  The slots are a fixed table (SPIKE_SLOTS); when a
 * partition is full, the number idle the longest gives up its slot.
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "core/shmem.h"
#include "ivr/spike.h"

#define SPIKE_SLOTS			8192
#define SPIKE_PARTITIONS	16
#define SPIKE_PROBE			32
#define SPIKE_TRANCHE		"wib_ivr_spike"

typedef struct SpikeSlot
{
	uint64		key;			/* hash of the number; 0: never used */
	int64		interval;		/* index of the interval being counted */
	int64		interval_us;	/* the interval length it is counted in */
	double		baseline;		/* calls per interval, weighted mean */
	int32		count;			/* calls in the current interval */
	int32		seen;			/* intervals folded into the baseline */
	bool		in_spike;		/* reported, and not yet back below the threshold */
} SpikeSlot;

typedef struct SpikeShared
{
	LWLockPadded *locks;
	SpikeSlot	slots[SPIKE_SLOTS];
} SpikeShared;

static double spike_factor = 5.0;
static int	spike_min_calls = 20;
static int	spike_interval_s = 60;
static int	spike_baseline_n = 30;
static SpikeShared *shared = NULL;

/* Defines the wib.ivr_spike_* settings; called from ivr_define_settings. */
void
ivr_spike_define_settings(void)
{
	DefineCustomRealVariable("wib.ivr_spike_factor",
							 "How many times its baseline a number's calls in one interval must reach to be a spike (ivr.call_spike); 0 turns detection off.",
							 NULL,
							 &spike_factor,
							 5.0, 0.0, 1000.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("wib.ivr_spike_min_calls",
							"Fewest calls in one interval that can be a spike.",
							"Keeps quiet numbers (a baseline near zero) from alerting on a handful of calls.",
							&spike_min_calls,
							20, 1, 1000000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.ivr_spike_interval",
							"Length of the intervals calls are counted in for spike detection.",
							NULL,
							&spike_interval_s,
							60, 1, 3600,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.ivr_spike_baseline",
							"How many past intervals a number's baseline averages (exponential weighting, 1/N for the newest).",
							NULL,
							&spike_baseline_n,
							30, 2, 100000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
}

void
ivr_spike_shmem_request(void)
{
	RequestAddinShmemSpace(sizeof(SpikeShared));
	RequestNamedLWLockTranche(SPIKE_TRANCHE, SPIKE_PARTITIONS);
}

void
ivr_spike_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("wib ivr spike detector", sizeof(SpikeShared), &found);
	if (!found)
		memset(shared, 0, sizeof(SpikeShared));
	shared->locks = GetNamedLWLockTranche(SPIKE_TRANCHE);
	LWLockRelease(AddinShmemInitLock);
}

/* The slot of key in its partition: its own, a free one, or the one idle longest. */
static SpikeSlot *
spike_slot(SpikeSlot *base, int nslots, uint64 key, int64 interval_us)
{
	SpikeSlot  *oldest = NULL;

	for (int i = 0; i < SPIKE_PROBE; i++)
	{
		SpikeSlot  *slot = &base[(int) ((key / SPIKE_PARTITIONS + i) % nslots)];

		if (slot->key == key)
			return slot;
		if (slot->key == 0)
		{
			oldest = slot;
			break;
		}
		if (oldest == NULL ||
			slot->interval * slot->interval_us < oldest->interval * oldest->interval_us)
			oldest = slot;
	}
	memset(oldest, 0, sizeof(*oldest));
	oldest->key = key;
	oldest->interval_us = interval_us;
	return oldest;
}

/* The count a spike needs against baseline. */
static double
spike_threshold(double baseline)
{
	return Max(spike_factor * Max(baseline, 1.0), (double) spike_min_calls);
}

bool
ivr_spike_count(const char *number, TimestampTz now, IvrSpike *spike)
{
	uint64		key;
	int			partition;
	int			nslots = SPIKE_SLOTS / SPIKE_PARTITIONS;
	int64		interval_us = (int64) spike_interval_s * USECS_PER_SEC;
	int64		current = now / interval_us;
	double		alpha = 1.0 / spike_baseline_n;
	SpikeSlot  *slot;
	bool		found = false;

	if (spike_factor <= 0 || shared == NULL || !shmem_is_ready())
		return false;
	key = hash_bytes_extended((const unsigned char *) number, strlen(number), 0x5b1cu);
	if (key == 0)
		key = 1;
	partition = (int) (key % SPIKE_PARTITIONS);

	LWLockAcquire(&shared->locks[partition].lock, LW_EXCLUSIVE);
	slot = spike_slot(&shared->slots[partition * nslots], nslots, key, interval_us);
	if (slot->interval_us != interval_us)
	{
		/* The interval length changed: what was counted no longer compares. */
		memset(slot, 0, sizeof(*slot));
		slot->key = key;
		slot->interval_us = interval_us;
	}
	if (slot->count == 0 && slot->seen == 0)
		slot->interval = current;
	else if (current > slot->interval)
	{
		int64		gap = current - slot->interval;

		/* Fold the finished interval into the baseline, then the empty ones. */
		if (slot->count < spike_threshold(slot->baseline) || gap > 1)
			slot->in_spike = false;
		if (slot->seen == 0)
			slot->baseline = slot->count;
		else
			slot->baseline += alpha * (slot->count - slot->baseline);
		if (gap > 1)
			slot->baseline *= pow(1.0 - alpha, (double) Min(gap - 1, 1000000));
		slot->seen = (int32) Min((int64) slot->seen + gap, PG_INT32_MAX);
		slot->count = 0;
		slot->interval = current;
	}
	/* A clock stepping back keeps counting in the newer interval. */
	slot->count++;
	if (!slot->in_spike && slot->seen > 0 && slot->count >= spike_threshold(slot->baseline))
	{
		slot->in_spike = true;
		found = true;
		spike->calls = slot->count;
		spike->baseline = slot->baseline;
		spike->interval_start = slot->interval * interval_us;
	}
	LWLockRelease(&shared->locks[partition].lock);
	return found;
}
