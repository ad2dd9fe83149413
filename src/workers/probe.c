/*
 * probe.c
 *		The probe: a bgworker that connects to one database, reads whether
 *		CREATE EXTENSION wib has run there and at which version, tells the
 *		launcher and exits.
 *
 * The launcher, connected to no database, cannot read a database's
 * pg_extension itself.  It probes a database when it first sees it and after
 * each CREATE or ALTER EXTENSION wib there; a database without wib costs one
 * probe, never a resident worker.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "workers/probe.h"

/*
 * Reads pg_extension of the connected database in a transaction of its own.
 * Committing leaves TopMemoryContext current, so the caller's context is
 * restored.  version gets the installed version (empty when absent).
 */
ExtensionState
probe_extension_state(char *version)
{
	MemoryContext caller = CurrentMemoryContext;
	ExtensionState found = EXTENSION_ABSENT;
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;

	version[0] = '\0';
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("wib"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		datum = heap_getattr(tuple, Anum_pg_extension_extversion,
										 RelationGetDescr(rel), &isnull);

		if (!isnull)
			text_to_cstring_buffer(DatumGetTextPP(datum), version, WIB_VERSION_LEN);
		found = strcmp(version, WIB_VERSION) == 0 ? EXTENSION_INSTALLED : EXTENSION_OTHER_VERSION;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);
	return found;
}

/* Entry point of the probe; bgw_main_arg is its probe slot. */
void
wib_probe_main(Datum main_arg)
{
	int			probe = DatumGetInt32(main_arg);
	ProbeExtra	extra;
	char		version[WIB_VERSION_LEN];
	ExtensionState found;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	memcpy(&extra, MyBgworkerEntry->bgw_extra, sizeof(extra));
	if (!slots_claim_probe(probe, extra.generation, extra.dboid))
		proc_exit(0);
	BackgroundWorkerInitializeConnectionByOid(extra.dboid, InvalidOid, 0);
	pgstat_report_appname("wib probe");
	found = probe_extension_state(version);
	slots_probe_report(probe, extra.generation, found, version);
	proc_exit(0);
}
