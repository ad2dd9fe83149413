/*
 * worker.h
 *		The loop every per-database wib worker runs, and commit-time wake-ups.
 */
#ifndef WIB_WORKER_H
#define WIB_WORKER_H

#include "workers/registry.h"

/* What the launcher passes a worker in bgw_extra (bgw_main_arg is the kind). */
typedef struct WorkerExtra
{
	Oid			dboid;			/* the database to serve */
	int32		slot;			/* its database slot */
} WorkerExtra;

extern int	worker_poll_interval_ms;

extern void worker_define_settings(void);
extern void worker_define_startup_settings(void);

PGDLLEXPORT void wib_worker_main(Datum main_arg) pg_attribute_noreturn();

/* wake.c: marks this database's worker(s), or the launcher, to be woken at COMMIT. */
extern void worker_wake_at_commit(WorkerKind kind);
extern void worker_wake_all_at_commit(void);
extern void launcher_notify_at_commit(void);

#endif							/* WIB_WORKER_H */
