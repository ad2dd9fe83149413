/*
 * rate_limit.h
 *		Fixed-window rate limiter in shared memory, with a key space per
 *		organization and a share of the slots per organization.
 */
#ifndef WIB_RATE_LIMIT_H
#define WIB_RATE_LIMIT_H

#include "datatype/timestamp.h"
#include "utils/uuid.h"

/*
 * Who a key belongs to.  Keys an application passes live in the namespace of
 * the organization in context; wib's own keys (per number, per export
 * requester, per QR client) live apart, where no application call reaches.
 */
typedef enum RateNamespace
{
	RATE_NS_APPLICATION = 'a',
	RATE_NS_INTERNAL = 'i'
} RateNamespace;

extern void rate_limit_define_settings(void);	/* only while preloading */
extern void rate_limit_define_reloadable_settings(void);
extern void rate_limit_shmem_request(void);
extern void rate_limit_shmem_startup(void);

/*
 * Counts one hit for key in namespace ns of org (NULL: no organization, for
 * internal keys only); true when admitted.  On refusal *retry_after_us (when
 * not NULL) receives the time until the window ends.  Raises WB008 when the
 * organization already holds its share of live keys, or no slot is free.
 */
extern bool rate_limit_hit(RateNamespace ns, const pg_uuid_t *org,
						   const char *key, int keylen, int32 max_hits,
						   int64 per_us, int64 *retry_after_us);

#endif							/* WIB_RATE_LIMIT_H */
