/*
 * menu_read.c
 *		One IVR menu and its options, read through the tables' primary and
 *		unique indexes rather than through SPI and the executor.
 *
 * Rendering a menu is the hot path of every inbound call, and a planned
 * query costs several times the document itself.  The read keeps what the
 * executor would enforce: SELECT privilege on both tables is checked for the
 * current role, and rows are restricted to the organization in context, which
 * is exactly the tenant policy of every IVR table (organization_id =
 * wib.current_org_id()).  Options are ordered by (sort_order, digit), digits
 * compared bytewise.
 *
 * On a Citus cluster the tables are shells whose rows are in shards: the menu
 * is then read by a statement Citus routes (src/ivr/routed_read.c).
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
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "core/cluster.h"
#include "ivr/menu_read.h"
#include "ivr/routed_read.h"

/*
 * The relations and column numbers, looked up by name once and kept until an
 * invalidation names one of them (or all relations).  The columns are looked
 * up only to read through the indexes: the trigger that asks whether the
 * tables are distributed may run against an older version's tables, during
 * an update.
 */
typedef struct MenuRelations
{
	Oid			menus;			/* InvalidOid: to be looked up (again) */
	Oid			menus_pkey;
	Oid			options;
	Oid			options_key;
	bool		columns_known;
	AttrNumber	greeting_type,
				greeting_text,
				greeting_audio_url,
				voice,
				language,
				timeout_seconds,
				disclosure_text,
				invalid_prompt;
	AttrNumber	digit,
				label,
				sort_order;
} MenuRelations;

static MenuRelations rels;
static bool callback_registered = false;

/* The number of column name of relid, or an error when it is missing. */
static AttrNumber
menu_attnum(Oid relid, const char *name)
{
	AttrNumber	n = get_attnum(relid, name);

	if (n == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg_internal("column \"%s\" of relation %u does not exist", name, relid)));
	return n;
}

/* Relcache invalidation callback: the next read looks the tables up again. */
static void
menu_relations_invalidate(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || relid == rels.menus || relid == rels.menus_pkey ||
		relid == rels.options || relid == rels.options_key)
	{
		rels.menus = InvalidOid;
		rels.columns_known = false;
	}
}

/* Fills the relations of rels; nothing to do while they are known. */
static void
menu_relations(void)
{
	Oid			nsp;
	Oid			menus;

	if (OidIsValid(rels.menus))
		return;
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(menu_relations_invalidate, (Datum) 0);
		callback_registered = true;
	}
	nsp = get_namespace_oid("wib", false);
	menus = get_relname_relid("ivr_menus", nsp);
	rels.menus_pkey = get_relname_relid("ivr_menus_pkey", nsp);
	rels.options = get_relname_relid("ivr_menu_options", nsp);
	rels.options_key = get_relname_relid("ivr_menu_options_digit_key", nsp);
	if (!OidIsValid(menus) || !OidIsValid(rels.menus_pkey) ||
		!OidIsValid(rels.options) || !OidIsValid(rels.options_key))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg_internal("the IVR tables of schema wib are missing")));
	rels.columns_known = false;
	rels.menus = menus;
}

/* Fills the column numbers of rels (its relations known); nothing to do while they are known. */
static void
menu_columns(void)
{
	if (rels.columns_known)
		return;
	rels.greeting_type = menu_attnum(rels.menus, "greeting_type");
	rels.greeting_text = menu_attnum(rels.menus, "greeting_text");
	rels.greeting_audio_url = menu_attnum(rels.menus, "greeting_audio_url");
	rels.voice = menu_attnum(rels.menus, "voice");
	rels.language = menu_attnum(rels.menus, "language");
	rels.timeout_seconds = menu_attnum(rels.menus, "timeout_seconds");
	rels.disclosure_text = menu_attnum(rels.menus, "disclosure_text");
	rels.invalid_prompt = menu_attnum(rels.menus, "invalid_prompt");
	rels.digit = menu_attnum(rels.options, "digit");
	rels.label = menu_attnum(rels.options, "label");
	rels.sort_order = menu_attnum(rels.options, "sort_order");
	rels.columns_known = true;
}

/*
 * True when the menu tables are Citus tables: their rows are in shards and
 * their changes commit on the workers.
 */
bool
menu_read_distributed(void)
{
	menu_relations();
	return cluster_is_distributed(rels.menus);
}

/* Raises the usual permission error unless the current role may read relid. */
static void
menu_check_select(Oid relid)
{
	AclResult	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);

	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, get_rel_name(relid));
}

/* Text column attno of the slot's tuple as a C string, or NULL. */
static char *
menu_text(TupleTableSlot *slot, AttrNumber attno)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, attno, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* Orders option indexes by sort order, then digit (bytewise). */
static int
menu_option_cmp(const void *a, const void *b, void *arg)
{
	const MenuData *m = arg;
	int			x = *(const int *) a;
	int			y = *(const int *) b;

	if (m->sort_orders[x] != m->sort_orders[y])
		return m->sort_orders[x] < m->sort_orders[y] ? -1 : 1;
	return strcmp(m->digits[x] ? m->digits[x] : "", m->digits[y] ? m->digits[y] : "");
}

/*
 * Reads menu of org from heap (ivr_menus, open) and its options through the
 * indexes, then closes heap; false when there is no such menu.
 */
static bool
menu_read_index(Relation heap, const pg_uuid_t *org, const pg_uuid_t *menu, bool fresh_snapshot,
				MenuData *out)
{
	Snapshot	snapshot;
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ScanKeyData keys[2];
	bool		found;

	snapshot = RegisterSnapshot(fresh_snapshot ? GetLatestSnapshot() : GetActiveSnapshot());

	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(org));
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(menu));

	index = index_open(rels.menus_pkey, AccessShareLock);
	slot = table_slot_create(heap, NULL);
	scan = index_beginscan(heap, index, snapshot, 2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	if (found)
	{
		bool		isnull;

		out->greeting_type = menu_text(slot, rels.greeting_type);
		out->greeting_text = menu_text(slot, rels.greeting_text);
		out->greeting_audio_url = menu_text(slot, rels.greeting_audio_url);
		out->voice = menu_text(slot, rels.voice);
		out->language = menu_text(slot, rels.language);
		out->disclosure_text = menu_text(slot, rels.disclosure_text);
		out->invalid_prompt = menu_text(slot, rels.invalid_prompt);
		out->timeout_seconds = DatumGetInt32(slot_getattr(slot, rels.timeout_seconds, &isnull));
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);

	if (found)
	{
		heap = table_open(rels.options, AccessShareLock);
		index = index_open(rels.options_key, AccessShareLock);
		slot = table_slot_create(heap, NULL);
		scan = index_beginscan(heap, index, snapshot, 2, 0);
		index_rescan(scan, keys, 2, NULL, 0);
		while (index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			bool		isnull;
			int			n = out->noptions;

			CHECK_FOR_INTERRUPTS();
			if (n >= MENU_READ_MAX_OPTIONS)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg_internal("IVR menu has more than %d options", MENU_READ_MAX_OPTIONS)));
			out->digits[n] = menu_text(slot, rels.digit);
			out->labels[n] = menu_text(slot, rels.label);
			out->sort_orders[n] = DatumGetInt32(slot_getattr(slot, rels.sort_order, &isnull));
			out->noptions++;
		}
		index_endscan(scan);
		ExecDropSingleTupleTableSlot(slot);
		index_close(index, AccessShareLock);
		table_close(heap, AccessShareLock);
	}
	UnregisterSnapshot(snapshot);
	return found;
}

/*
 * Reads menu of org into out; false when there is no such menu.  With
 * fresh_snapshot the rows are read with a snapshot taken now (the menu cache
 * needs one younger than the generation it noted), otherwise with the
 * statement's.  On a Citus cluster, by a routed statement (its own snapshot;
 * no cache is used there).
 */
bool
menu_read(const pg_uuid_t *org, const pg_uuid_t *menu, bool fresh_snapshot, MenuData *out)
{
	Relation	heap;
	bool		found;
	int			order[MENU_READ_MAX_OPTIONS];
	MenuData	tmp;

	menu_relations();
	menu_columns();
	menu_check_select(rels.menus);
	menu_check_select(rels.options);
	memset(out, 0, sizeof(*out));

	/* Opened first: its lock makes a distribution committed meanwhile seen. */
	heap = table_open(rels.menus, AccessShareLock);
	if (cluster_is_distributed(RelationGetRelid(heap)))
	{
		table_close(heap, AccessShareLock);
		found = routed_read_menu(org, menu, out);
	}
	else
		found = menu_read_index(heap, org, menu, fresh_snapshot, out);

	for (int i = 0; i < out->noptions; i++)
		order[i] = i;
	qsort_arg(order, out->noptions, sizeof(int), menu_option_cmp, out);
	tmp = *out;
	for (int i = 0; i < out->noptions; i++)
	{
		out->digits[i] = tmp.digits[order[i]];
		out->labels[i] = tmp.labels[order[i]];
		out->sort_orders[i] = tmp.sort_orders[order[i]];
	}
	return found;
}
