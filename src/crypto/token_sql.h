/*
 * token_sql.h
 *		Signed tokens under the server's key ring, for wib's own C code
 *		(token_sql.c): the SQL functions and the features' token checks
 *		share one verification.
 */
#ifndef WIB_TOKEN_SQL_H
#define WIB_TOKEN_SQL_H

#include "datatype/timestamp.h"

#include "crypto/token.h"

/*
 * A token for purpose carrying len bytes of payload, valid until expires_at,
 * signed under the key ring's current key; raises 22023 for an empty or
 * over-long purpose, an over-long payload or an expiry that is infinite or
 * before 1970.
 */
extern text *token_sql_sign(const char *purpose, const char *payload, size_t len,
							TimestampTz expires_at);

/*
 * Checks len bytes of token for purpose at the current time under the key
 * ring (raises only when no ring can be loaded).  On TOKEN_OK the payload (at
 * most cap bytes) is in payload and its length in *payload_len; on anything
 * else payload is wiped.  Callers map the status to their own errors.
 */
extern TokenStatus token_sql_check(const char *purpose, const char *token, size_t len,
								   uint8 *payload, size_t cap, size_t *payload_len);

#endif							/* WIB_TOKEN_SQL_H */
