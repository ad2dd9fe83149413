/*
 * deadline.c
 *		wib.analytics_deadline(ms): cancels the current statement if it is
 *		still running ms milliseconds from now.
 *
 * A "SET statement_timeout" clause on a function changes the setting but not
 * the timer, which was armed when the calling statement began; so the
 * dashboard functions also arm the statement-timeout timer themselves.  An
 * earlier deadline already armed (the session's own statement_timeout) is
 * kept.  PostgreSQL disarms the timer when the statement ends, so the
 * deadline never leaks into the next statement.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "analytics/deadline.h"

PG_FUNCTION_INFO_V1(wib_analytics_deadline);
PG_FUNCTION_INFO_V1(wib_analytics_deadline_default);

/* Arms the statement timer for now + ms, unless an earlier deadline is armed. */
static void
arm_deadline(int ms)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	if (get_timeout_active(STATEMENT_TIMEOUT) &&
		get_timeout_finish_time(STATEMENT_TIMEOUT) <= deadline)
		return;
	enable_timeout_at(STATEMENT_TIMEOUT, deadline);
}

/* wib.analytics_deadline(timeout_ms): arms the statement timer for now + timeout_ms. */
Datum
wib_analytics_deadline(PG_FUNCTION_ARGS)
{
	int			ms = PG_GETARG_INT32(0);

	if (ms < 1 || ms > ANALYTICS_DEADLINE_MAX_MS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid timeout_ms"),
				 errdetail("timeout_ms must be between 1 and %d; got %d.", ANALYTICS_DEADLINE_MAX_MS, ms)));
	arm_deadline(ms);
	PG_RETURN_VOID();
}

/* wib.analytics_deadline(): the same for wib.analytics_timeout. */
Datum
wib_analytics_deadline_default(PG_FUNCTION_ARGS)
{
	arm_deadline(analytics_timeout_ms);
	PG_RETURN_VOID();
}
