/*
 * pace.h
 *		Rolling-window pacing of requests to a rate-limited service: at most
 *		`limit` sends in any window of `window` microseconds.
 *
 * A service such as HubSpot counts requests on arrival in a rolling window
 * (110 per 10 s, 5 searches per second).  A PaceWindow remembers the times of
 * the last PACE_CAPACITY sends; the next send may go when the limit-th most
 * recent one has left the window.  Callers keep a margin below the service's
 * own limit (fewer sends, a slightly longer window), because the network
 * delays some requests more than others and the service counts arrivals.
 *
 * Backend-free: plain integers (microseconds on any monotonic or wall
 * clock), no allocation, never fails.  The shared-memory limiter
 * (src/crm/limiter.c) keeps one window per account and search class.
 */
#ifndef WIB_CRM_PACE_H
#define WIB_CRM_PACE_H

#include <stdint.h>

#define PACE_CAPACITY	128		/* the largest limit a window can enforce */

typedef struct PaceWindow
{
	int64_t		times[PACE_CAPACITY];	/* a ring of send times, oldest overwritten */
	int			head;			/* where the next send time goes */
	int			count;			/* sends remembered, at most PACE_CAPACITY */
} PaceWindow;

/* Forgets every send. */
extern void pace_reset(PaceWindow *w);

/*
 * The earliest time, never before now, at which one more send keeps at most
 * limit sends in every window of window_us (limit is clamped to
 * 1..PACE_CAPACITY).
 */
extern int64_t pace_earliest(const PaceWindow *w, int limit, int64_t window_us, int64_t now);

/* Remembers a send at time t (t never before the previous send). */
extern void pace_record(PaceWindow *w, int64_t t);

/* Sends remembered within (now - window_us, now]. */
extern int	pace_in_window(const PaceWindow *w, int64_t window_us, int64_t now);

/*
 * The wait before retry number attempt (1-based) after a refusal:
 * base_us doubled per attempt up to max_us, or retry_after_us when the
 * service said (never more than max_us, never less than 0).
 */
extern int64_t pace_backoff(int attempt, int64_t base_us, int64_t max_us, int64_t retry_after_us);

#endif							/* WIB_CRM_PACE_H */
