/*
 * spike.h
 *		Per-number call spike detection on the inbound hot path: calls per
 *		interval against the number's recent baseline, in shared memory.
 */
#ifndef WIB_IVR_SPIKE_H
#define WIB_IVR_SPIKE_H

#include "datatype/timestamp.h"

/* What a spike looks like when one is found. */
typedef struct IvrSpike
{
	int32		calls;			/* calls counted in the current interval */
	double		baseline;		/* calls per interval the number usually gets */
	int64		interval_start; /* start of the interval, Unix microseconds */
} IvrSpike;

extern void ivr_spike_define_settings(void);
extern void ivr_spike_shmem_request(void);
extern void ivr_spike_shmem_startup(void);

/*
 * Counts one inbound call to the dialled number; true (and *spike filled)
 * when this call makes the interval's count cross wib.ivr_spike_factor times
 * the baseline (once per spike).  False when detection is off or wib is not
 * preloaded.
 */
extern bool ivr_spike_count(const char *number, TimestampTz now, IvrSpike *spike);

#endif							/* WIB_IVR_SPIKE_H */
