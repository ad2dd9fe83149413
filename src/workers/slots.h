/*
 * slots.h
 *		The shared memory of the launcher and the per-database workers: database
 *		slots, one status slot per worker, probe slots, the launcher's inbox of
 *		databases to look at, and the databases held by DDL that needs them empty.
 */
#ifndef WIB_WORKER_SLOTS_H
#define WIB_WORKER_SLOTS_H

#include "datatype/timestamp.h"
#include "storage/latch.h"

#include "workers/registry.h"

#define WORKER_STATE_LEN 64
#define WIB_VERSION_LEN 32

/* How many databases may be probed at once (each probe is a short-lived bgworker). */
#define PROBE_SLOTS 4

/* What a worker or a probe found in its database. */
typedef enum ExtensionState
{
	EXTENSION_UNKNOWN = 0,		/* not looked yet, or the look failed */
	EXTENSION_ABSENT,			/* no CREATE EXTENSION wib there */
	EXTENSION_INSTALLED,		/* installed, at the library's version */
	EXTENSION_OTHER_VERSION		/* installed at another version: ALTER EXTENSION wib UPDATE */
} ExtensionState;

/* The status of one process (the launcher or a worker), shown by wib.worker_status. */
typedef struct WorkerSlot
{
	pid_t		pid;			/* 0 when not running */
	Latch	   *latch;
	char		state[WORKER_STATE_LEN];
	TimestampTz started_at;
	TimestampTz last_activity;
	int64		items_done;
	int64		errors;
} WorkerSlot;

/* A copy of the shared state for wib.worker_status. */
typedef struct SlotsSnapshot
{
	WorkerSlot	launcher;
	int			n_databases;	/* database slots in use */
	Oid		   *databases;		/* [n_databases] */
	WorkerSlot *workers;		/* [n_databases * worker_kind_count()] */
} SlotsSnapshot;

extern int	slots_max_databases;	/* wib.max_databases */

extern void slots_shmem_request(void);
extern void slots_shmem_startup(void);
extern bool slots_ready(void);

/* The status of this process, when it is the launcher or a worker (else no-ops). */
extern void slots_set_own_state(const char *state);
extern void slots_add_own(int64 items_done, int64 errors);
extern void slots_snapshot(SlotsSnapshot *snap);

/* The launcher. */
extern bool slots_claim_launcher(void);
extern void slots_wake_launcher(void);
extern void slots_notify_launcher(Oid dboid);
extern int	slots_take_notifications(Oid *dboids, int max, bool *overflow);
extern int	slots_database_alloc(Oid dboid);
extern Oid	slots_database_oid(int slot, bool *stopping);
extern void slots_database_stop(int slot);
extern void slots_database_free(int slot);
extern ExtensionState slots_database_found(int slot, char *version);
extern pid_t slots_worker_pid(int slot, WorkerKind kind);
extern void slots_worker_registered(int slot, WorkerKind kind);
extern void slots_probes_reset(void);
extern bool slots_probe_alloc(Oid dboid, int *probe, uint32 *generation);
extern ExtensionState slots_probe_take(int probe, uint32 generation, char *version);

/* Per-database workers and probes. */
extern bool slots_claim_worker(int slot, Oid dboid, WorkerKind kind);
extern bool slots_worker_should_stop(int slot, Oid dboid);
extern void slots_database_report(int slot, Oid dboid, ExtensionState found, const char *version);
extern bool slots_claim_probe(int probe, uint32 generation, Oid dboid);
extern void slots_probe_report(int probe, uint32 generation, ExtensionState found, const char *version);

/* Any backend. */
extern bool slots_wake_worker(Oid dboid, WorkerKind kind);
extern void slots_wake_database(Oid dboid);
extern bool slots_database_held(Oid dboid);
extern void slots_hold_database(Oid dboid);
extern void slots_release_hold(void);
extern int	slots_database_pids(Oid dboid, pid_t *pids, int max);

#endif							/* WIB_WORKER_SLOTS_H */
