/*
 * registry.h
 *		The kinds of per-database background worker wib runs, declared in one
 *		table (registry.c).
 */
#ifndef WIB_WORKER_REGISTRY_H
#define WIB_WORKER_REGISTRY_H

#include "postgres.h"

/*
 * One pass of a worker's work.  It runs its own transactions and returns the
 * number of items it finished; *more says work is still due (loop at once).
 */
typedef int64 (*WorkerPass) (bool *more);

/*
 * A kind of worker.  The launcher starts one of each kind in every database
 * it serves; they all run the loop of worker.c (entry point wib_worker_main,
 * given the kind's index), which calls the kind's pass.
 */
typedef struct WorkerKindDef
{
	const char *name;			/* wib.wake(name), wib.worker_status.name,
								 * backend_type "wib <name>" */
	WorkerPass	pass;			/* one pass of its work */
	void		(*define_settings) (void);	/* its own settings, or NULL */
} WorkerKindDef;

/* Most kinds there can be: wake-ups pending at COMMIT are a bit mask. */
#define WORKER_KINDS_MAX 32

/* Index of a kind in the table: its position in wib.worker_status, and shared memory. */
typedef int WorkerKind;

extern int	worker_kind_count(void);
extern const WorkerKindDef *worker_kind(WorkerKind kind);
extern bool worker_kind_from_name(const char *name, WorkerKind *kind);

#endif							/* WIB_WORKER_REGISTRY_H */
