/*
 * change_log.c
 *		The statement-level trigger that logs which analytics buckets rows
 *		inserted or deleted fall into.
 *
 * Applications insert calls one at a time, so this trigger runs once per
 * call insert and its cost is paid on the platform's hottest write.  It reads
 * the transition table directly (no query over it), folds the rows into their
 * distinct (organization, UTC day, agent) buckets through a hash table (a bulk
 * load of a year of calls has hundreds of thousands) and appends those to
 * wib.analytics_changes with one statement of a saved plan, as the log's owner: the way
 * PostgreSQL's own foreign-key triggers act on a table the writer may not
 * touch.  Updates stay in SQL (35_totals.sql), where the old and new rows are
 * paired by key to log only changes that matter.
 *
 * On a Citus worker the trigger fires on a shard; it never names the
 * transition table in a query, so it runs there as it does on one node.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "common/hashfn.h"
#include "catalog/pg_class.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/syscache.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(wib_analytics_log_rows);

/*
 * One bucket, also the key of the statement's table of buckets: a bulk insert
 * of a year of calls has hundreds of thousands of them.
 */
typedef struct ChangeBucket
{
	pg_uuid_t	organization_id;
	DateADT		day;
	text	   *agent_id;		/* NULL for a row without an agent */
} ChangeBucket;

/* Saved plans: one bucket (a single-row insert, the common case) and many. */
static SPIPlanPtr append_one_plan = NULL;
static SPIPlanPtr append_many_plan = NULL;

/* The UTC calendar day of a timestamptz, as (ts AT TIME ZONE INTERVAL '0')::date gives it. */
static DateADT
utc_day(TimestampTz ts)
{
	if (TIMESTAMP_IS_NOBEGIN(ts))
		return DATEVAL_NOBEGIN;
	if (TIMESTAMP_IS_NOEND(ts))
		return DATEVAL_NOEND;
	/* Both epochs are 2000-01-01; floor division keeps days before it right. */
	return (DateADT) ((ts >= 0 ? ts : ts - (USECS_PER_DAY - 1)) / USECS_PER_DAY);
}

/* A column's number in the trigger's table, or an error naming it. */
static AttrNumber
column_number(Relation rel, const char *name, Oid expected_type)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0 && att->atttypid == expected_type)
			return att->attnum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("wib.analytics_log_rows: table %s has no column \"%s\" of type %s",
					RelationGetRelationName(rel), name, format_type_be(expected_type))));
	return InvalidAttrNumber;	/* not reached */
}

static uint32
bucket_hash(const void *key, Size keysize)
{
	const ChangeBucket *b = key;
	uint32		h = hash_bytes((const unsigned char *) &b->organization_id, sizeof(pg_uuid_t));

	h = hash_combine(h, hash_bytes_uint32((uint32) b->day));
	if (b->agent_id != NULL)
		h = hash_combine(h, hash_bytes((const unsigned char *) VARDATA_ANY(b->agent_id),
									   VARSIZE_ANY_EXHDR(b->agent_id)));
	return h;
}

/* 0 when the two buckets are the same, as dynahash's match functions answer. */
static int
bucket_match(const void *key1, const void *key2, Size keysize)
{
	const ChangeBucket *a = key1;
	const ChangeBucket *b = key2;

	if (a->day != b->day || memcmp(&a->organization_id, &b->organization_id, sizeof(pg_uuid_t)) != 0)
		return 1;
	if (a->agent_id == NULL || b->agent_id == NULL)
		return a->agent_id != b->agent_id;
	return VARSIZE_ANY_EXHDR(a->agent_id) != VARSIZE_ANY_EXHDR(b->agent_id) ||
		memcmp(VARDATA_ANY(a->agent_id), VARDATA_ANY(b->agent_id), VARSIZE_ANY_EXHDR(a->agent_id)) != 0;
}

/*
 * Reads every row of the transition table through a read pointer of its own
 * (other triggers of the statement may read the same table) and returns the
 * distinct buckets.
 */
static int
collect_buckets(Tuplestorestate *rows, Relation rel, AttrNumber org_col, AttrNumber ts_col,
				AttrNumber agent_col, ChangeBucket **out)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	int			pointer = tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND);
	HASHCTL		ctl = {0};
	HTAB	   *seen;
	HASH_SEQ_STATUS scan;
	ChangeBucket *entry;
	ChangeBucket *buckets;
	int			count = 0;

	ctl.keysize = sizeof(ChangeBucket);
	ctl.entrysize = sizeof(ChangeBucket);
	ctl.hash = bucket_hash;
	ctl.match = bucket_match;
	ctl.hcxt = CurrentMemoryContext;
	seen = hash_create("wib.analytics_log_rows buckets", 64, &ctl,
					   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);

	tuplestore_select_read_pointer(rows, pointer);
	tuplestore_rescan(rows);
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		bool		org_null,
					ts_null,
					agent_null;
		Datum		org = slot_getattr(slot, org_col, &org_null);
		Datum		ts = slot_getattr(slot, ts_col, &ts_null);
		Datum		agent = slot_getattr(slot, agent_col, &agent_null);
		ChangeBucket key;
		bool		found;

		/* Both columns are NOT NULL in every table this trigger is on. */
		if (org_null || ts_null)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("wib.analytics_log_rows: a row of %s has no organization or time",
							RelationGetRelationName(rel))));
		key.organization_id = *DatumGetUUIDP(org);
		key.day = utc_day(DatumGetTimestampTz(ts));
		key.agent_id = agent_null ? NULL : DatumGetTextPP(agent);
		entry = hash_search(seen, &key, HASH_ENTER, &found);
		/* The slot's memory is reused by the next row: a new bucket keeps a copy. */
		if (!found && entry->agent_id != NULL)
			entry->agent_id = (text *) PG_DETOAST_DATUM_COPY(PointerGetDatum(entry->agent_id));
	}
	buckets = palloc(Max(hash_get_num_entries(seen), 1) * sizeof(ChangeBucket));
	hash_seq_init(&scan, seen);
	while ((entry = hash_seq_search(&scan)) != NULL)
		buckets[count++] = *entry;
	tuplestore_select_read_pointer(rows, 0);
	ExecDropSingleTupleTableSlot(slot);
	*out = buckets;
	return count;
}

/* The role that owns wib.analytics_changes, whose rights the log is written with. */
static Oid
change_log_owner(void)
{
	Oid			log_table = get_relname_relid("analytics_changes", get_namespace_oid("wib", false));
	HeapTuple	tuple;
	Oid			owner;

	tuple = OidIsValid(log_table) ? SearchSysCache1(RELOID, ObjectIdGetDatum(log_table)) : NULL;
	if (!HeapTupleIsValid(tuple))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("wib.analytics_log_rows: table wib.analytics_changes does not exist")));
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

/* A saved plan of the statement, prepared on first use. */
static SPIPlanPtr
saved_plan(SPIPlanPtr *cache, const char *sql, Oid *types)
{
	if (*cache == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(sql, 3, types);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("wib.analytics_log_rows: could not prepare the change log insert: %s",
							SPI_result_code_string(SPI_result))));
		*cache = plan;
	}
	return *cache;
}

/*
 * Appends the buckets to wib.analytics_changes in one statement: a VALUES
 * insert for one bucket, whose plan costs a fraction of unnesting arrays.
 * Every name is qualified: the plans do not depend on the writer's
 * search_path.
 */
static void
append_buckets(const ChangeBucket *buckets, int count)
{
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};
	SPIPlanPtr	plan;
	int			rc;

	if (count == 1)
	{
		Oid			types[3] = {UUIDOID, DATEOID, TEXTOID};

		plan = saved_plan(&append_one_plan,
						  "INSERT INTO wib.analytics_changes (organization_id, day, agent_id) VALUES ($1, $2, $3)",
						  types);
		args[0] = UUIDPGetDatum(&buckets[0].organization_id);
		args[1] = DateADTGetDatum(buckets[0].day);
		args[2] = PointerGetDatum(buckets[0].agent_id);
		if (buckets[0].agent_id == NULL)
			nulls[2] = 'n';
	}
	else
	{
		Oid			types[3] = {UUIDARRAYOID, DATEARRAYOID, TEXTARRAYOID};
		Datum	   *orgs = palloc(count * sizeof(Datum));
		Datum	   *days = palloc(count * sizeof(Datum));
		Datum	   *agents = palloc(count * sizeof(Datum));
		bool	   *agent_nulls = palloc(count * sizeof(bool));
		int			dims[1] = {count};
		int			lbs[1] = {1};

		plan = saved_plan(&append_many_plan,
						  "INSERT INTO wib.analytics_changes (organization_id, day, agent_id) "
						  "SELECT u.o, u.d, u.a FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(o, d, a)",
						  types);
		for (int i = 0; i < count; i++)
		{
			orgs[i] = UUIDPGetDatum(&buckets[i].organization_id);
			days[i] = DateADTGetDatum(buckets[i].day);
			agents[i] = PointerGetDatum(buckets[i].agent_id);
			agent_nulls[i] = buckets[i].agent_id == NULL;
		}
		args[0] = PointerGetDatum(construct_array(orgs, count, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
		args[1] = PointerGetDatum(construct_array(days, count, DATEOID, sizeof(DateADT), true, TYPALIGN_INT));
		args[2] = PointerGetDatum(construct_md_array(agents, agent_nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
	}
	rc = SPI_execute_plan(plan, args, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("wib.analytics_log_rows: the change log insert returned %s", SPI_result_code_string(rc))));
}

/*
 * wib.analytics_log_rows(time_column, agent_column): AFTER INSERT (NEW TABLE)
 * or AFTER DELETE (OLD TABLE), FOR EACH STATEMENT.  Logs the buckets of the
 * rows as the owner of wib.analytics_changes.
 */
Datum
wib_analytics_log_rows(PG_FUNCTION_ARGS)
{
	TriggerData *trigger = (TriggerData *) fcinfo->context;
	Tuplestorestate *rows;
	Relation	rel;
	ChangeBucket *buckets;
	int			count;
	Oid			saved_user;
	int			saved_context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(trigger->tg_event) ||
		!TRIGGER_FIRED_AFTER(trigger->tg_event) || trigger->tg_trigger->tgnargs != 2)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("wib.analytics_log_rows must be an AFTER ... FOR EACH STATEMENT trigger with two arguments")));
	if (TRIGGER_FIRED_BY_INSERT(trigger->tg_event))
		rows = trigger->tg_newtable;
	else if (TRIGGER_FIRED_BY_DELETE(trigger->tg_event))
		rows = trigger->tg_oldtable;
	else
		rows = NULL;
	if (rows == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("wib.analytics_log_rows must fire on INSERT with a NEW TABLE or on DELETE with an OLD TABLE")));

	rel = trigger->tg_relation;
	count = collect_buckets(rows, rel,
							column_number(rel, "organization_id", UUIDOID),
							column_number(rel, trigger->tg_trigger->tgargs[0], TIMESTAMPTZOID),
							column_number(rel, trigger->tg_trigger->tgargs[1], TEXTOID),
							&buckets);
	if (count == 0)
		return PointerGetDatum(NULL);

	/* The switch is undone on error by the (sub)transaction's abort. */
	GetUserIdAndSecContext(&saved_user, &saved_context);
	SetUserIdAndSecContext(change_log_owner(), saved_context | SECURITY_LOCAL_USERID_CHANGE);
	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("wib.analytics_log_rows: SPI_connect failed")));
	append_buckets(buckets, count);
	SPI_finish();
	SetUserIdAndSecContext(saved_user, saved_context);
	return PointerGetDatum(NULL);
}
