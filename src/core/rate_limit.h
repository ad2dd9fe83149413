/*
 * rate_limit.h
 *		Fixed-window rate limiter in shared memory.
 */
#ifndef WIB_RATE_LIMIT_H
#define WIB_RATE_LIMIT_H

#include "datatype/timestamp.h"

extern void rate_limit_define_settings(void);	/* only while preloading */
extern void rate_limit_shmem_request(void);
extern void rate_limit_shmem_startup(void);

/*
 * Counts one hit for key; true when admitted.  On refusal *retry_after_us
 * (when not NULL) receives the time until the window ends.
 */
extern bool rate_limit_hit(const char *key, int keylen, int32 max_hits,
						   int64 per_us, int64 *retry_after_us);

#endif							/* WIB_RATE_LIMIT_H */
