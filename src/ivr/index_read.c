/*
 * index_read.c
 *		Single-row reads of the IVR's routing tables through their unique
 *		indexes, for the inbound hot path (src/ivr/inbound.c).
 *
 * Like menu_read.c, a planned query would cost several times the read
 * itself.  The read keeps what the executor would enforce for the definer
 * that runs it: SELECT privilege on the table for the current role; rows are
 * found by their full key (the number for a route; the organization and id
 * for a number), so no other tenant's row can be reached.  The statement's
 * snapshot is used, as a query of the same statement would.
 *
 * The tables, indexes and column numbers are looked up by name once and kept
 * until an invalidation names one of them (or all relations): a call does no
 * catalog lookup beyond the privilege check.
 *
 * On a Citus cluster the tables are shells whose rows are in shards: once the
 * table is open (its lock taken, so that a distribution committed meanwhile
 * has been seen), a Citus table is read by a statement Citus routes instead
 * (src/ivr/routed_read.c).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "core/cluster.h"
#include "ivr/index_read.h"
#include "ivr/routed_read.h"

/* One table, its unique index, and the columns read from it. */
typedef struct IndexReadTarget
{
	const char *table;
	const char *index;
	const char *columns[2];
	/* The same read on a Citus table (same keys, same columns). */
	bool		(*routed) (const Datum *keys, Datum *values, bool *nulls);
	Oid			relid;			/* InvalidOid: to be looked up (again) */
	Oid			indexid;
	AttrNumber	attnums[2];
} IndexReadTarget;

static IndexReadTarget routes = {"inbound_number_routes", "inbound_number_routes_pkey",
{"organization_id", "number_id"}, routed_read_route};
static IndexReadTarget numbers = {"inbound_numbers", "inbound_numbers_pkey", {"status", "menu_id"},
routed_read_number};

static bool callback_registered = false;

/* Forgets a target when its table or index changes (relid InvalidOid: everything did). */
static void
index_read_forget(IndexReadTarget *t, Oid relid)
{
	if (!OidIsValid(relid) || relid == t->relid || relid == t->indexid)
		t->relid = InvalidOid;
}

/* Relcache invalidation callback: the next read looks its target up again. */
static void
index_read_invalidate(Datum arg, Oid relid)
{
	index_read_forget(&routes, relid);
	index_read_forget(&numbers, relid);
}

/* Resolves t's relation, index and columns (nothing to do while they are known). */
static void
index_read_resolve(IndexReadTarget *t)
{
	Oid			nsp;
	Oid			relid;

	if (OidIsValid(t->relid))
		return;
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(index_read_invalidate, (Datum) 0);
		callback_registered = true;
	}
	nsp = get_namespace_oid("wib", false);
	relid = get_relname_relid(t->table, nsp);
	t->indexid = get_relname_relid(t->index, nsp);
	if (!OidIsValid(relid) || !OidIsValid(t->indexid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg_internal("wib.%s or its index %s is missing", t->table, t->index)));
	for (int i = 0; i < lengthof(t->columns); i++)
	{
		t->attnums[i] = get_attnum(relid, t->columns[i]);
		if (t->attnums[i] == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg_internal("column \"%s\" of wib.%s does not exist", t->columns[i], t->table)));
	}
	t->relid = relid;
}

/*
 * Reads the row of t whose index key equals the nkeys datums (compared with
 * the equality procedures eqprocs, in the index's collations); copies its two
 * columns into values/nulls.  False when there is no such row.
 */
static bool
index_read_one(IndexReadTarget *t, int nkeys, const Datum *keyvals, const RegProcedure *eqprocs,
			   Datum *values, bool *nulls)
{
	Relation	heap;
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ScanKeyData keys[INDEX_MAX_KEYS];
	AclResult	acl;
	bool		found;

	index_read_resolve(t);
	acl = pg_class_aclcheck(t->relid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, get_rel_name(t->relid));

	heap = table_open(t->relid, AccessShareLock);
	if (cluster_is_distributed(RelationGetRelid(heap)))
	{
		table_close(heap, AccessShareLock);
		return t->routed(keyvals, values, nulls);
	}
	index = index_open(t->indexid, AccessShareLock);
	for (int i = 0; i < nkeys; i++)
		ScanKeyEntryInitialize(&keys[i], 0, i + 1, BTEqualStrategyNumber, InvalidOid,
							   index->rd_indcollation[i], eqprocs[i], keyvals[i]);
	slot = table_slot_create(heap, NULL);
	scan = index_beginscan(heap, index, GetActiveSnapshot(), nkeys, 0);
	index_rescan(scan, keys, nkeys, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	if (found)
	{
		TupleDesc	desc = RelationGetDescr(heap);

		for (int i = 0; i < lengthof(t->columns); i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, t->attnums[i] - 1);
			Datum		d = slot_getattr(slot, t->attnums[i], &nulls[i]);

			values[i] = nulls[i] ? (Datum) 0 : datumCopy(d, att->attbyval, att->attlen);
		}
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
	return found;
}

bool
index_read_route(const char *phone, Datum *values, bool *nulls)
{
	Datum		key[1] = {CStringGetTextDatum(phone)};
	RegProcedure eq[1] = {F_TEXTEQ};

	return index_read_one(&routes, 1, key, eq, values, nulls);
}

bool
index_read_number(const pg_uuid_t *org, const pg_uuid_t *id, Datum *values, bool *nulls)
{
	Datum		key[2] = {UUIDPGetDatum(org), UUIDPGetDatum(id)};
	RegProcedure eq[2] = {F_UUID_EQ, F_UUID_EQ};

	return index_read_one(&numbers, 2, key, eq, values, nulls);
}
