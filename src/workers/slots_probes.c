/*
 * slots_probes.c
 *		The probe slots: the launcher takes one per probe it starts; the probe
 *		publishes its pid there (a DROP DATABASE waits for it) and what it
 *		found.  A generation number makes a stale probe's report harmless.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"

#include "workers/slots.h"
#include "workers/slots_internal.h"

static int	own_probe = -1;
static uint32 own_probe_generation = 0;

/* Forgets every probe: a new launcher cannot wait for its predecessor's. */
void
slots_probes_reset(void)
{
	SpinLockAcquire(&slots_shared->mutex);
	for (int i = 0; i < PROBE_SLOTS; i++)
	{
		slots_shared->probes[i].generation++;
		slots_shared->probes[i].dboid = InvalidOid;
		slots_shared->probes[i].pid = 0;
		slots_shared->probes[i].found = EXTENSION_UNKNOWN;
	}
	SpinLockRelease(&slots_shared->mutex);
}

/* Takes a probe slot for dboid; false when all are busy. */
bool
slots_probe_alloc(Oid dboid, int *probe, uint32 *generation)
{
	bool		ok = false;

	SpinLockAcquire(&slots_shared->mutex);
	for (int i = 0; i < PROBE_SLOTS && !ok; i++)
	{
		ProbeSlot  *p = &slots_shared->probes[i];

		if (OidIsValid(p->dboid))
			continue;
		p->dboid = dboid;
		p->generation++;
		p->pid = 0;
		p->found = EXTENSION_UNKNOWN;
		p->version[0] = '\0';
		*probe = i;
		*generation = p->generation;
		ok = true;
	}
	SpinLockRelease(&slots_shared->mutex);
	return ok;
}

/* What a finished probe found (UNKNOWN: it found nothing); frees its slot. */
ExtensionState
slots_probe_take(int probe, uint32 generation, char *version)
{
	ProbeSlot  *p = &slots_shared->probes[probe];
	ExtensionState found = EXTENSION_UNKNOWN;

	SpinLockAcquire(&slots_shared->mutex);
	if (p->generation == generation)
	{
		found = p->found;
		strlcpy(version, p->version, WIB_VERSION_LEN);
		p->dboid = InvalidOid;
		p->pid = 0;
	}
	SpinLockRelease(&slots_shared->mutex);
	return found;
}

/* Clears a probe's pid when it exits (a waiting DROP DATABASE counts on it). */
static void
own_probe_exit(int code, Datum arg)
{
	ProbeSlot  *p = &slots_shared->probes[own_probe];

	SpinLockAcquire(&slots_shared->mutex);
	if (p->generation == own_probe_generation)
		p->pid = 0;
	SpinLockRelease(&slots_shared->mutex);
}

/* Publishes this probe's pid; false (exit at once) when the probe is stale or the database held. */
bool
slots_claim_probe(int probe, uint32 generation, Oid dboid)
{
	ProbeSlot  *p;
	bool		claimed = false;

	if (probe < 0 || probe >= PROBE_SLOTS)
		return false;
	p = &slots_shared->probes[probe];
	SpinLockAcquire(&slots_shared->mutex);
	if (p->generation == generation && p->dboid == dboid && !slots_held_locked(dboid))
	{
		p->pid = MyProcPid;
		claimed = true;
	}
	SpinLockRelease(&slots_shared->mutex);
	if (claimed)
	{
		own_probe = probe;
		own_probe_generation = generation;
		before_shmem_exit(own_probe_exit, (Datum) 0);
	}
	return claimed;
}

/* Records what the probe found, unless the launcher has moved on (stale generation). */
void
slots_probe_report(int probe, uint32 generation, ExtensionState found, const char *version)
{
	ProbeSlot  *p = &slots_shared->probes[probe];

	SpinLockAcquire(&slots_shared->mutex);
	if (p->generation == generation)
	{
		p->found = found;
		strlcpy(p->version, version, WIB_VERSION_LEN);
	}
	SpinLockRelease(&slots_shared->mutex);
}
