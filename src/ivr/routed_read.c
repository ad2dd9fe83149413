/*
 * routed_read.c
 *		The IVR's hot-path reads when its tables are Citus tables: the same
 *		rows as index_read.c and menu_read.c, read by planned statements.
 *
 * On a Citus node wib's distributed and reference tables are shells whose
 * rows are in shards, so a direct index read finds nothing there.  These
 * statements select by the same full keys (the number for a route; the
 * organization and id for a number or a menu), which Citus routes to the one
 * shard, or the reference table's placement, holding the row; the executor
 * checks the privileges and row-level security as for any query of the
 * current role.  The plans are prepared once per backend.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"

#include "ivr/routed_read.h"

/* A statement and its plan, kept for the life of the backend. */
typedef struct RoutedStatement
{
	const char *sql;
	int			nargs;
	Oid			types[2];
	SPIPlanPtr	plan;
} RoutedStatement;

static RoutedStatement route_statement = {
	"SELECT organization_id, number_id FROM wib.inbound_number_routes WHERE phone_number = $1",
	1, {TEXTOID}
};
static RoutedStatement number_statement = {
	"SELECT status, menu_id FROM wib.inbound_numbers WHERE organization_id = $1 AND id = $2",
	2, {UUIDOID, UUIDOID}
};

/* One round trip: the menu's row joined with its options (co-located: one shard). */
static RoutedStatement menu_statement = {
	"SELECT m.greeting_type, m.greeting_text, m.greeting_audio_url, m.voice, m.language,"
	" m.disclosure_text, m.invalid_prompt, m.timeout_seconds, o.digit, o.label, o.sort_order"
	" FROM wib.ivr_menus m LEFT JOIN wib.ivr_menu_options o"
	" ON o.organization_id = m.organization_id AND o.menu_id = m.id"
	" WHERE m.organization_id = $1 AND m.id = $2",
	2, {UUIDOID, UUIDOID}
};

/* Connects SPI and runs s with args: its rows are in SPI_tuptable until SPI_finish. */
static void
routed_run(RoutedStatement *s, const Datum *args)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg_internal("SPI_connect failed")));
	if (s->plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(s->sql, s->nargs, s->types);

		if (p == NULL || SPI_keepplan(p) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg_internal("could not prepare \"%s\": %s", s->sql, SPI_result_code_string(SPI_result))));
		s->plan = p;
	}
	if (SPI_execute_plan(s->plan, (Datum *) args, NULL, false, 0) != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg_internal("could not run \"%s\"", s->sql)));
}

/* The first row of s (two columns) copied into the caller's memory; false when none. */
static bool
routed_read_row(RoutedStatement *s, const Datum *keys, Datum *values, bool *nulls)
{
	MemoryContext caller = CurrentMemoryContext;
	bool		found;

	routed_run(s, keys);
	found = SPI_processed > 0;
	if (found)
	{
		TupleDesc	desc = SPI_tuptable->tupdesc;
		HeapTuple	tuple = SPI_tuptable->vals[0];
		MemoryContext spi = MemoryContextSwitchTo(caller);

		for (int i = 0; i < 2; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);
			Datum		d = SPI_getbinval(tuple, desc, i + 1, &nulls[i]);

			values[i] = nulls[i] ? (Datum) 0 : datumCopy(d, att->attbyval, att->attlen);
		}
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	return found;
}

bool
routed_read_route(const Datum *keys, Datum *values, bool *nulls)
{
	return routed_read_row(&route_statement, keys, values, nulls);
}

bool
routed_read_number(const Datum *keys, Datum *values, bool *nulls)
{
	return routed_read_row(&number_statement, keys, values, nulls);
}

/* Text column col (1-based) of tuple as a C string in the current context, or NULL. */
static char *
routed_text(HeapTuple tuple, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

bool
routed_read_menu(const pg_uuid_t *org, const pg_uuid_t *menu, MenuData *out)
{
	Datum		args[2] = {UUIDPGetDatum(org), UUIDPGetDatum(menu)};
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext spi;
	TupleDesc	desc;
	bool		found;

	routed_run(&menu_statement, args);
	found = SPI_processed > 0;
	desc = SPI_tuptable->tupdesc;
	spi = MemoryContextSwitchTo(caller);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[r];
		bool		isnull;
		int			n = out->noptions;

		CHECK_FOR_INTERRUPTS();
		if (r == 0)
		{
			out->greeting_type = routed_text(tuple, desc, 1);
			out->greeting_text = routed_text(tuple, desc, 2);
			out->greeting_audio_url = routed_text(tuple, desc, 3);
			out->voice = routed_text(tuple, desc, 4);
			out->language = routed_text(tuple, desc, 5);
			out->disclosure_text = routed_text(tuple, desc, 6);
			out->invalid_prompt = routed_text(tuple, desc, 7);
			out->timeout_seconds = DatumGetInt32(SPI_getbinval(tuple, desc, 8, &isnull));
		}
		/* A menu without options is one row whose option columns are NULL. */
		(void) SPI_getbinval(tuple, desc, 9, &isnull);
		if (isnull)
			continue;
		if (n >= MENU_READ_MAX_OPTIONS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg_internal("IVR menu has more than %d options", MENU_READ_MAX_OPTIONS)));
		out->digits[n] = routed_text(tuple, desc, 9);
		out->labels[n] = routed_text(tuple, desc, 10);
		out->sort_orders[n] = DatumGetInt32(SPI_getbinval(tuple, desc, 11, &isnull));
		out->noptions++;
	}
	MemoryContextSwitchTo(spi);
	SPI_finish();
	return found;
}
