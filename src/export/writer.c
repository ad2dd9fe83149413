/*
 * writer.c
 *		Formats rows as CSV (RFC 4180) or JSON Lines into an ExportSink: the
 *		server's side, which turns each column's type into the text that the
 *		backend-free kernels (csv.c, jsonl.c, format.c) write.
 *
 * CSV: a header row, CRLF line ends, a field quoted when it holds a comma, a
 * double quote, CR or LF (quotes doubled inside), NULL as an empty unquoted
 * field and the empty string as "" so the two stay distinct, timestamps in ISO
 * 8601 UTC, numbers as PostgreSQL prints them, UTF-8 bytes as they are.  With
 * the formula guard (on by default) a text field starting with = + - @, tab or
 * CR gets a leading ' so spreadsheets do not evaluate it.
 *
 * JSON Lines: one object per row, keys in column order, every control
 * character escaped, NULL as null, numbers bare (NaN and infinities as
 * strings), booleans bare, json/jsonb columns embedded as JSON.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "core/bytebuf_pg.h"
#include "core/errors.h"
#include "export/csv.h"
#include "export/format.h"
#include "export/jsonl.h"
#include "export/writer.h"

/* Maps 'csv' / 'json' to a format; false for anything else. */
bool
writer_parse_format(const char *name, ExportFormat *format)
{
	if (strcmp(name, "csv") == 0)
		*format = EXPORT_FORMAT_CSV;
	else if (strcmp(name, "json") == 0)
		*format = EXPORT_FORMAT_JSON;
	else
		return false;
	return true;
}

/*
 * Formats a timestamp as ISO 8601 (2026-11-24T04:17:37.5Z when utc) into out
 * (EXPORT_TIME_LEN bytes) and returns the length; the infinities as
 * PostgreSQL spells them.
 */
static int
format_iso_timestamp(Timestamp ts, bool utc, char *out)
{
	struct pg_tm tm;
	fsec_t		fsec;
	ExportTime	t;

	if (TIMESTAMP_NOT_FINITE(ts))
	{
		strcpy(out, TIMESTAMP_IS_NOBEGIN(ts) ? "-infinity" : "infinity");
		return strlen(out);
	}
	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	t.year = tm.tm_year;
	t.mon = tm.tm_mon;
	t.mday = tm.tm_mday;
	t.hour = tm.tm_hour;
	t.min = tm.tm_min;
	t.sec = tm.tm_sec;
	t.usec = fsec;
	return export_format_time(&t, utc, out);
}

/* Chooses how a column of type typid is written. */
static ExportColumnKind
column_kind(Oid typid)
{
	switch (typid)
	{
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case NAMEOID:
			return EXPORT_COL_TEXT;
		case INT2OID:
		case INT4OID:
		case INT8OID:
			return EXPORT_COL_INT;
		case NUMERICOID:
		case FLOAT4OID:
		case FLOAT8OID:
			return EXPORT_COL_NUMBER;
		case BOOLOID:
			return EXPORT_COL_BOOL;
		case TIMESTAMPTZOID:
			return EXPORT_COL_TIMESTAMPTZ;
		case TIMESTAMPOID:
			return EXPORT_COL_TIMESTAMP;
		case UUIDOID:
			return EXPORT_COL_UUID;
		case JSONOID:
		case JSONBOID:
			return EXPORT_COL_JSON;
		default:
			return EXPORT_COL_OTHER;
	}
}

/* Prepares the columns of desc and writes the CSV header row. */
void
writer_init(ExportWriter *w, ExportFormat format, bool formula_guard,
			TupleDesc desc, ExportSink *sink, int64 max_rows)
{
	ByteBuf    *out = &sink->buf;
	int			i;

	w->format = format;
	w->formula_guard = formula_guard && format == EXPORT_FORMAT_CSV;
	w->natts = desc->natts;
	w->cols = palloc0(sizeof(ExportColumn) * Max(desc->natts, 1));
	w->sink = sink;
	w->rows = 0;
	w->max_rows = max_rows;
	w->row_cxt = AllocSetContextCreate(CurrentMemoryContext, "wib export row",
									   ALLOCSET_DEFAULT_SIZES);

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		ExportColumn *col = &w->cols[i];
		const char *name = NameStr(att->attname);
		ByteBuf		head;

		col->typid = getBaseType(att->atttypid);
		col->kind = column_kind(col->typid);
		if (col->kind == EXPORT_COL_NUMBER || col->kind == EXPORT_COL_JSON ||
			col->kind == EXPORT_COL_OTHER)
		{
			Oid			outfn;
			bool		varlena;

			getTypeOutputInfo(att->atttypid, &outfn, &varlena);
			fmgr_info(outfn, &col->out);
		}

		/* Pre-render each column's head: the CSV header field or the JSON key. */
		bytebuf_init_pg(&head);
		if (format == EXPORT_FORMAT_CSV)
			csv_text(&head, name, strlen(name), false);
		else
			jsonl_key(&head, name, strlen(name), i == 0);
		bytebuf_check_pg(&head);
		col->head = head.data;
		col->head_len = (int) head.len;
	}

	if (format == EXPORT_FORMAT_CSV)
	{
		for (i = 0; i < w->natts; i++)
		{
			if (i > 0)
				bytebuf_putc(out, CSV_SEPARATOR);
			bytebuf_append(out, w->cols[i].head, w->cols[i].head_len);
		}
		bytebuf_puts(out, CSV_ROW_END);
		sink_end_line(sink);
	}
}

/* Writes one non-NULL value of col in the writer's format. */
static void
writer_value(ExportWriter *w, ExportColumn *col, Datum value)
{
	ByteBuf    *out = &w->sink->buf;
	bool		csv = (w->format == EXPORT_FORMAT_CSV);
	char		num[Max(MAXDATELEN, EXPORT_TIME_LEN) + 1];
	int			len;
	char	   *s;

	switch (col->kind)
	{
		case EXPORT_COL_TEXT:
			{
				text	   *t;

				if (col->typid == NAMEOID)
				{
					s = NameStr(*DatumGetName(value));
					len = strlen(s);
				}
				else
				{
					t = DatumGetTextPP(value);
					s = VARDATA_ANY(t);
					len = VARSIZE_ANY_EXHDR(t);
				}
				if (csv)
					csv_text(out, s, len, w->formula_guard);
				else
					jsonl_string(out, s, len);
				return;
			}
		case EXPORT_COL_INT:
			if (col->typid == INT8OID)
				len = pg_lltoa(DatumGetInt64(value), num);
			else if (col->typid == INT4OID)
				len = pg_ltoa(DatumGetInt32(value), num);
			else
				len = pg_itoa(DatumGetInt16(value), num);
			bytebuf_append(out, num, len);
			return;
		case EXPORT_COL_BOOL:
			if (DatumGetBool(value))
				bytebuf_append(out, "true", 4);
			else
				bytebuf_append(out, "false", 5);
			return;
		case EXPORT_COL_TIMESTAMPTZ:
		case EXPORT_COL_TIMESTAMP:
			len = format_iso_timestamp(DatumGetTimestamp(value),
									   col->kind == EXPORT_COL_TIMESTAMPTZ, num);
			if (csv)
				bytebuf_append(out, num, len);
			else
				jsonl_string(out, num, len);
			return;
		case EXPORT_COL_UUID:
			len = export_format_uuid(DatumGetUUIDP(value)->data, num);
			if (csv)
				bytebuf_append(out, num, len);
			else
				jsonl_string(out, num, len);
			return;
		case EXPORT_COL_NUMBER:
			s = OutputFunctionCall(&col->out, value);
			len = strlen(s);
			if (csv)
				bytebuf_append(out, s, len);
			else
				jsonl_number(out, s, len);
			return;
		case EXPORT_COL_JSON:
			s = OutputFunctionCall(&col->out, value);
			len = strlen(s);
			if (csv)
				csv_text(out, s, len, false);
			else
				bytebuf_append(out, s, len);
			return;
		case EXPORT_COL_OTHER:
			s = OutputFunctionCall(&col->out, value);
			len = strlen(s);
			if (csv)
				csv_text(out, s, len, w->formula_guard);
			else
				jsonl_string(out, s, len);
			return;
	}
}

/* Writes one row; raises WB205 when it would pass the writer's row limit. */
void
writer_row(ExportWriter *w, Datum *values, bool *isnull)
{
	MemoryContext old;
	ExportSink *sink = w->sink;
	ByteBuf    *out = &sink->buf;
	int			i;

	CHECK_FOR_INTERRUPTS();
	if (w->max_rows > 0 && w->rows >= w->max_rows)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_EXPORT_TOO_LARGE),
				 errmsg("export exceeds the row limit of %lld rows", (long long) w->max_rows),
				 errdetail("The export is stopped rather than cut short."),
				 errhint("Narrow the filters (for example with date_from and date_to) or upgrade the plan.")));

	old = MemoryContextSwitchTo(w->row_cxt);
	for (i = 0; i < w->natts; i++)
	{
		ExportColumn *col = &w->cols[i];

		if (w->format == EXPORT_FORMAT_CSV)
		{
			if (i > 0)
				bytebuf_putc(out, CSV_SEPARATOR);
			if (!isnull[i])
				writer_value(w, col, values[i]);
		}
		else
		{
			bytebuf_append(out, col->head, col->head_len);
			if (isnull[i])
				bytebuf_append(out, "null", 4);
			else
				writer_value(w, col, values[i]);
		}
	}
	if (w->format == EXPORT_FORMAT_CSV)
		bytebuf_puts(out, CSV_ROW_END);
	else
		jsonl_row_end(out, w->natts);
	MemoryContextSwitchTo(old);
	MemoryContextReset(w->row_cxt);
	w->rows++;
	sink_end_line(sink);
}

/* Flushes what is left; the output is complete after this. */
void
writer_finish(ExportWriter *w)
{
	sink_flush(w->sink);
}
