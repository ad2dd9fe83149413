/*
 * pace.c
 *		Rolling-window pacing of requests (see pace.h).
 */
#include <string.h>

#include "crm/pace.h"

void
pace_reset(PaceWindow *w)
{
	memset(w, 0, sizeof(*w));
}

/* The time of the k-th most recent send (k = 1 is the latest); k <= count. */
static int64_t
nth_latest(const PaceWindow *w, int k)
{
	int			i = (w->head - k + PACE_CAPACITY * 2) % PACE_CAPACITY;

	return w->times[i];
}

int64_t
pace_earliest(const PaceWindow *w, int limit, int64_t window_us, int64_t now)
{
	int64_t		free_at;

	if (limit < 1)
		limit = 1;
	if (limit > PACE_CAPACITY)
		limit = PACE_CAPACITY;
	if (w->count < limit)
		return now;
	/* The send limit sends back must be out of the window: its time plus the window. */
	free_at = nth_latest(w, limit) + window_us;
	return free_at > now ? free_at : now;
}

void
pace_record(PaceWindow *w, int64_t t)
{
	w->times[w->head] = t;
	w->head = (w->head + 1) % PACE_CAPACITY;
	if (w->count < PACE_CAPACITY)
		w->count++;
}

int
pace_in_window(const PaceWindow *w, int64_t window_us, int64_t now)
{
	int			n = 0;

	for (int k = 1; k <= w->count; k++)
	{
		if (nth_latest(w, k) <= now - window_us)
			break;
		n++;
	}
	return n;
}

int64_t
pace_backoff(int attempt, int64_t base_us, int64_t max_us, int64_t retry_after_us)
{
	int64_t		wait = base_us;

	if (max_us < 0)
		max_us = 0;
	if (retry_after_us >= 0)
		return retry_after_us < max_us ? retry_after_us : max_us;
	if (base_us <= 0)
		return 0;
	for (int i = 1; i < attempt && wait < max_us; i++)
		wait *= 2;
	return wait < max_us ? wait : max_us;
}
