/*
 * registry.c
 *		The table of worker kinds: adding a kind of per-database worker is one
 *		entry here (its name, its pass, its settings).
 *
 * The launcher, shared memory, wib.worker_status and wib.wake all size and
 * name themselves from this table; nothing else lists the kinds.
 */
#include "postgres.h"

#include "crm/crm_settings.h"
#include "crm/sync.h"
#include "workers/deliverer.h"
#include "workers/registry.h"
#include "workers/scheduler.h"

static const WorkerKindDef worker_kinds[] = {
	{"scheduler", scheduler_pass, scheduler_define_settings},
	{"deliverer", deliverer_pass, NULL},
	{"crm_sync", crm_sync_pass, crm_define_settings},	/* src/crm/sync.c */
};

StaticAssertDecl(lengthof(worker_kinds) <= WORKER_KINDS_MAX,
				 "wake-ups at COMMIT keep one bit per worker kind");

/* How many kinds there are. */
int
worker_kind_count(void)
{
	return lengthof(worker_kinds);
}

/* The kind at an index (a bgworker's main argument: checked, it comes from outside). */
const WorkerKindDef *
worker_kind(WorkerKind kind)
{
	if (kind < 0 || kind >= (int) lengthof(worker_kinds))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg_internal("wib worker kind %d does not exist", kind)));
	return &worker_kinds[kind];
}

/* Finds a kind by its name; false when there is none. */
bool
worker_kind_from_name(const char *name, WorkerKind *kind)
{
	for (int i = 0; i < (int) lengthof(worker_kinds); i++)
	{
		if (strcmp(worker_kinds[i].name, name) == 0)
		{
			*kind = i;
			return true;
		}
	}
	return false;
}
