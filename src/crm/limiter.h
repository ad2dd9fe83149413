/*
 * limiter.h
 *		The shared rate limiter of CRM requests: per CRM account (a HubSpot
 *		portal), across every worker and session of the server.
 */
#ifndef WIB_CRM_LIMITER_H
#define WIB_CRM_LIMITER_H

#include "datatype/timestamp.h"

/* A CRM's limits, each with wib's margin already applied. */
typedef struct CrmLimits
{
	int			requests;		/* per window_us, all requests */
	int64		window_us;
	int			searches;		/* per search_window_us, search requests */
	int64		search_window_us;
} CrmLimits;

extern void crm_limiter_shmem_request(void);
extern void crm_limiter_shmem_startup(void);

/*
 * Waits (interruptibly) until one more request to account keeps within the
 * limits and any backoff, then counts it, in one step under the limiter's
 * lock: two sessions can never both take the last place.  Returns the
 * microseconds waited.
 */
extern int64 crm_limiter_acquire(const char *account, const CrmLimits *limits, bool search);

/*
 * The CRM refused a request (429): the account is held back for the next
 * wait of an exponential backoff, or retry_after_s when the CRM said (-1:
 * it did not).  Returns the wait in microseconds.
 */
extern int64 crm_limiter_refused(const char *account, int retry_after_s);

/* The CRM accepted a request: the backoff starts over. */
extern void crm_limiter_accepted(const char *account);

/* Holds the account back for us microseconds (the CRM said its budget is spent). */
extern void crm_limiter_hold(const char *account, int64 us);

/* Sleeps us microseconds, waking for interrupts and postmaster death. */
extern void crm_sleep(int64 us);

#endif							/* WIB_CRM_LIMITER_H */
