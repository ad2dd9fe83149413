/*
 * cluster.c
 *		Whether a table of wib is a Citus table (the C side of
 *		wib.is_distributed), for code that reads relations directly.
 *
 * On a Citus node a distributed or reference table is a shell: its rows are
 * in shards, which only the executor (that Citus hooks) reaches.  Code that
 * scans a relation itself, to skip the planner on a hot path, asks here
 * first.  The answer is a row of pg_dist_partition (none without Citus) and
 * is kept per backend until an invalidation names the relation: Citus
 * invalidates a table's relcache entry whenever its row of pg_dist_partition
 * changes, so a table distributed by another session is seen once that
 * session commits.  Callers ask after locking the relation, which processes
 * the invalidations that arrived.  On a single node a question costs a scan
 * of a few entries; the catalog is read once per relation and backend.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_namespace.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"

#include "core/cluster.h"

/* Relations asked about; a handful (the IVR's tables), so a plain array. */
#define CLUSTER_KNOWN_MAX 16

typedef struct ClusterKnown
{
	Oid			relid;
	bool		distributed;
} ClusterKnown;

static ClusterKnown known[CLUSTER_KNOWN_MAX];
static int	nknown = 0;
static bool callback_registered = false;

/* Relcache invalidation callback: forgets relid (InvalidOid: everything). */
static void
cluster_invalidate(Datum arg, Oid relid)
{
	if (!OidIsValid(relid))
	{
		nknown = 0;
		return;
	}
	for (int i = 0; i < nknown; i++)
		if (known[i].relid == relid)
		{
			known[i] = known[--nknown];
			return;
		}
}

/* Reads pg_dist_partition: does it have a row for relid? */
static bool
cluster_lookup(Oid relid)
{
	Oid			dist = get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE);
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	AttrNumber	attnum;
	bool		found;

	if (!OidIsValid(dist))
		return false;
	attnum = get_attnum(dist, "logicalrelid");
	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg_internal("pg_dist_partition has no column logicalrelid")));
	rel = table_open(dist, AccessShareLock);
	ScanKeyInit(&key, attnum, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

bool
cluster_is_distributed(Oid relid)
{
	bool		distributed;

	for (int i = 0; i < nknown; i++)
		if (known[i].relid == relid)
			return known[i].distributed;
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(cluster_invalidate, (Datum) 0);
		callback_registered = true;
	}
	distributed = cluster_lookup(relid);
	if (nknown == CLUSTER_KNOWN_MAX)
		nknown = 0;
	known[nknown].relid = relid;
	known[nknown].distributed = distributed;
	nknown++;
	return distributed;
}
