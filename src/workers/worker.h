/*
 * worker.h
 *		The loop every wib background worker runs, and their registration.
 */
#ifndef WIB_WORKER_H
#define WIB_WORKER_H

#include "workers/status.h"

/*
 * One pass of a worker's work.  It runs its own transactions and returns the
 * number of items it finished; *more says work is still due (loop at once).
 */
typedef int64 (*WorkerPass) (bool *more);

extern char *worker_database_name;
extern int	worker_poll_interval_ms;

extern void worker_define_settings(void);
extern void worker_define_startup_settings(void);
extern void workers_register(void);
extern void worker_run(WorkerKind kind, WorkerPass pass) pg_attribute_noreturn();

/* Marks a worker to be woken when the current transaction commits. */
extern void worker_wake_at_commit(WorkerKind kind);

#endif							/* WIB_WORKER_H */
