/*
 * settings.c
 *		Settings that only the extension's SQL reads (through current_setting).
 *
 * Defining them in C gives them a type, a range and a unit, so a typo in
 * postgresql.conf is refused at reload instead of surfacing as a SQL error
 * in a background job.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "core/settings.h"

static int	idempotency_ttl_seconds = 86400;

void
settings_define_sql_only(void)
{
	DefineCustomIntVariable("wib.idempotency_ttl",
							"How long an idempotency key replays its first answer.",
							"Older keys are removed by wib.purge_expired().",
							&idempotency_ttl_seconds,
							86400, 60, 30 * 86400,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);
}
