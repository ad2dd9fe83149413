/*
 * status.h
 *		Shared-memory status of wib's background workers (wib.worker_status).
 */
#ifndef WIB_WORKER_STATUS_H
#define WIB_WORKER_STATUS_H

#include "datatype/timestamp.h"
#include "storage/latch.h"

/* Every background worker wib can run; the order is the order of wib.worker_status. */
typedef enum WorkerKind
{
	WORKER_SCHEDULER = 0,
	WORKER_DELIVERER,
	WORKER_CRM_SYNC,
	WORKER_KIND_COUNT
} WorkerKind;

extern const char *worker_kind_name(WorkerKind kind);
extern bool worker_kind_from_name(const char *name, WorkerKind *kind);

extern void worker_status_shmem_request(void);
extern void worker_status_shmem_startup(void);

/* Called by the worker itself. */
extern void worker_status_started(WorkerKind kind);
extern void worker_status_set_state(WorkerKind kind, const char *state);
extern void worker_status_add(WorkerKind kind, int64 items_done, int64 errors);

/* Wakes the worker now, if it runs; false when it does not. */
extern bool worker_status_wake(WorkerKind kind);

#endif							/* WIB_WORKER_STATUS_H */
