/*
 * unit.h
 *		One unit of a worker's work: a transaction of its own when a worker runs
 *		it, or a nested SPI connection when a SQL function (pg_cron, tests) does.
 */
#ifndef WIB_WORKER_UNIT_H
#define WIB_WORKER_UNIT_H

typedef struct WorkerUnit
{
	MemoryContext caller;		/* restored by worker_unit_end */
	bool		own_xact;
} WorkerUnit;

extern void worker_unit_begin(WorkerUnit *unit, bool own_xact, const char *activity);
extern void worker_unit_end(WorkerUnit *unit);
extern void worker_unit_abort(WorkerUnit *unit);

#endif							/* WIB_WORKER_UNIT_H */
