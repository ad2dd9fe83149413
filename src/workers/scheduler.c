/*
 * scheduler.c
 *		The scheduler worker: runs each due job of wib.scheduled_jobs in a
 *		transaction of its own.
 *
 * A job is claimed (its next run moved ahead) and committed before it runs,
 * so a job that crashes the worker is not retried in a tight loop; it runs
 * again at its next slot.  A job runs with the rights of its run_as role (the
 * role that scheduled it), never with the worker's own superuser rights.
 * wib.scheduler picks who runs the jobs: this worker ('internal'), pg_cron
 * ('pg_cron', see wib.cron_schedule()) or nobody ('off').
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "fmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "workers/scheduler.h"
#include "workers/unit.h"

typedef enum SchedulerMode
{
	SCHEDULER_INTERNAL,
	SCHEDULER_PG_CRON,
	SCHEDULER_OFF
} SchedulerMode;

static const struct config_enum_entry scheduler_modes[] = {
	{"internal", SCHEDULER_INTERNAL, false},
	{"pg_cron", SCHEDULER_PG_CRON, false},
	{"off", SCHEDULER_OFF, false},
	{NULL, 0, false}
};

static int	scheduler_mode = SCHEDULER_INTERNAL;

/* wib.scheduler; defined through the worker table. */
void
scheduler_define_settings(void)
{
	DefineCustomEnumVariable("wib.scheduler",
							 "Who runs wib's periodic jobs: the internal scheduler worker, pg_cron, or nobody.",
							 "With pg_cron, call wib.cron_schedule() to install the jobs there.",
							 &scheduler_mode,
							 SCHEDULER_INTERNAL,
							 scheduler_modes,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);
}

static const char *const claim_sql =
"UPDATE wib.scheduled_jobs j"
"   SET last_started_at = pg_catalog.now(),"
"       next_run_at = wib.job_next_run(j.run_every, j.run_at, pg_catalog.now())"
" WHERE j.name = (SELECT name FROM wib.scheduled_jobs"
"                  WHERE enabled AND next_run_at <= pg_catalog.now()"
"                  ORDER BY next_run_at, name"
"                  LIMIT 1 FOR UPDATE SKIP LOCKED)"
" RETURNING j.name, j.command, j.run_as";

static const char *const record_sql =
"UPDATE wib.scheduled_jobs"
"   SET last_finished_at = pg_catalog.now(), last_status = $2, last_error = $3,"
"       run_count = run_count + 1,"
"       error_count = error_count + (CASE WHEN $2 = 'failed' THEN 1 ELSE 0 END)"
" WHERE name = $1";

/* Claims the next due job; false when none is due.  Strings are palloc'd in the caller's context. */
static bool
claim_due_job(char **name, char **command, char **run_as)
{
	MemoryContext caller = CurrentMemoryContext;
	bool		claimed = false;
	WorkerUnit	unit;

	worker_unit_begin(&unit, true, "wib scheduler: claiming due job");
	if (SPI_execute(claim_sql, false, 1) != SPI_OK_UPDATE_RETURNING)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("wib scheduler could not claim a job")));
	if (SPI_processed == 1)
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		*name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		*command = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		*run_as = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
		MemoryContextSwitchTo(spi);
		claimed = true;
	}
	worker_unit_end(&unit);
	return claimed;
}

/*
 * Runs one job's command as its run_as role; on error returns false with the
 * message in *error.  The role switch is local to the job's transaction: its
 * end, commit or abort, gives the worker its own identity back.
 */
static bool
run_job(const char *name, const char *command, const char *run_as, char **error)
{
	volatile bool ok = true;
	WorkerUnit	unit;

	worker_unit_begin(&unit, true, command);
	PG_TRY();
	{
		Oid			saved_user;
		int			saved_context;

		GetUserIdAndSecContext(&saved_user, &saved_context);
		SetUserIdAndSecContext(get_role_oid(run_as, false),
							   saved_context | SECURITY_LOCAL_USERID_CHANGE);
		/* A job sees names as a session of its role would, not the worker's pinned path. */
		(void) set_config_option("search_path", "\"$user\", public", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);
		SPI_execute(command, false, 0);
		SetUserIdAndSecContext(saved_user, saved_context);
		worker_unit_end(&unit);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(unit.caller);
		edata = CopyErrorData();
		FlushErrorState();
		worker_unit_abort(&unit);
		ereport(LOG,
				(errmsg("wib scheduler job \"%s\" failed: %s", name, edata->message)));
		*error = edata->message;
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

static void
record_result(const char *name, bool ok, const char *error)
{
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ok ? 'n' : ' '};
	WorkerUnit	unit;

	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(ok ? "succeeded" : "failed");
	values[2] = ok ? (Datum) 0 : CStringGetTextDatum(error);
	worker_unit_begin(&unit, true, "wib scheduler: recording job result");
	SPI_execute_with_args(record_sql, 3, types, values, nulls, false, 0);
	worker_unit_end(&unit);
}

/* One scheduler pass: runs the most overdue job, if any. */
int64
scheduler_pass(bool *more)
{
	char	   *name;
	char	   *command;
	char	   *run_as;
	char	   *error = NULL;
	bool		ok;

	if (scheduler_mode != SCHEDULER_INTERNAL)
		return 0;
	if (!claim_due_job(&name, &command, &run_as))
		return 0;

	ok = run_job(name, command, run_as, &error);
	record_result(name, ok, error);
	*more = true;
	return 1;
}
