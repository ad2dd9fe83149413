/*
 * writer.c
 *		Formats rows as CSV (RFC 4180) or JSON Lines into an ExportSink.
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

#include "core/errors.h"
#include "export/writer.h"

static const char hexdigits[] = "0123456789abcdef";

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

/* True when a CSV field must be quoted: it holds a comma, a quote, CR or LF. */
static inline bool
csv_needs_quotes(const char *s, int len)
{
	const char *end = s + len;

	for (; s < end; s++)
	{
		char		c = *s;

		if (c == ',' || c == '"' || c == '\n' || c == '\r')
			return true;
	}
	return false;
}

/* Writes one CSV text field: "" for empty, quoted with doubled quotes when needed. */
static void
csv_put_text(ExportSink *sink, const char *s, int len, bool guard)
{
	bool		prefix = guard && len > 0 &&
		(s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
		 s[0] == '\t' || s[0] == '\r');
	const char *end = s + len;
	const char *run;

	if (len == 0)
	{
		sink_append(sink, "\"\"", 2);
		return;
	}
	if (!csv_needs_quotes(s, len))
	{
		if (prefix)
			sink_append_char(sink, '\'');
		sink_append(sink, s, len);
		return;
	}
	sink_append_char(sink, '"');
	if (prefix)
		sink_append_char(sink, '\'');
	for (run = s; s < end; s++)
	{
		if (*s == '"')
		{
			sink_append(sink, run, s - run + 1);
			sink_append_char(sink, '"');
			run = s + 1;
		}
	}
	sink_append(sink, run, end - run);
	sink_append_char(sink, '"');
}

/* Writes a JSON string literal: quotes, backslashes and every control character escaped. */
static void
json_put_string(ExportSink *sink, const char *s, int len)
{
	const char *end = s + len;
	const char *run = s;

	sink_append_char(sink, '"');
	for (; s < end; s++)
	{
		unsigned char c = (unsigned char) *s;
		char		esc[6];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sink_append(sink, run, s - run);
		run = s + 1;
		switch (c)
		{
			case '"':
				sink_append(sink, "\\\"", 2);
				break;
			case '\\':
				sink_append(sink, "\\\\", 2);
				break;
			case '\n':
				sink_append(sink, "\\n", 2);
				break;
			case '\r':
				sink_append(sink, "\\r", 2);
				break;
			case '\t':
				sink_append(sink, "\\t", 2);
				break;
			case '\b':
				sink_append(sink, "\\b", 2);
				break;
			case '\f':
				sink_append(sink, "\\f", 2);
				break;
			default:
				esc[0] = '\\';
				esc[1] = 'u';
				esc[2] = '0';
				esc[3] = '0';
				esc[4] = hexdigits[c >> 4];
				esc[5] = hexdigits[c & 0xf];
				sink_append(sink, esc, 6);
				break;
		}
	}
	sink_append(sink, run, end - run);
	sink_append_char(sink, '"');
}

/* Writes n as exactly width digits (zero-padded) into p; returns the end. */
static inline char *
put_digits(char *p, int n, int width)
{
	char	   *q = p + width;

	while (q > p)
	{
		*--q = '0' + n % 10;
		n /= 10;
	}
	return p + width;
}

/*
 * Formats a timestamp as ISO 8601 (2026-11-24T04:17:37.5Z when utc) and
 * returns the length.  Years outside 0000-9999 get a sign and as many digits
 * as they need (ISO 8601's expanded years; 1 BC is year 0000).
 */
static int
format_iso_timestamp(Timestamp ts, bool utc, char *out)
{
	struct pg_tm tm;
	fsec_t		fsec;
	char	   *p = out;

	if (TIMESTAMP_NOT_FINITE(ts))
	{
		strcpy(out, TIMESTAMP_IS_NOBEGIN(ts) ? "-infinity" : "infinity");
		return strlen(out);
	}
	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	if (tm.tm_year < 0 || tm.tm_year > 9999)
	{
		int			year = Abs(tm.tm_year);

		*p++ = tm.tm_year < 0 ? '-' : '+';
		p = put_digits(p, year, year > 99999 ? 6 : (year > 9999 ? 5 : 4));
	}
	else
		p = put_digits(p, tm.tm_year, 4);
	*p++ = '-';
	p = put_digits(p, tm.tm_mon, 2);
	*p++ = '-';
	p = put_digits(p, tm.tm_mday, 2);
	*p++ = 'T';
	p = put_digits(p, tm.tm_hour, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_min, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_sec, 2);
	if (fsec != 0)
	{
		*p++ = '.';
		p = put_digits(p, fsec, 6);
		while (p[-1] == '0')
			p--;
	}
	if (utc)
		*p++ = 'Z';
	*p = '\0';
	return p - out;
}

/* Formats a UUID in its canonical 8-4-4-4-12 form; returns 36. */
static int
format_uuid(const pg_uuid_t *u, char *out)
{
	char	   *p = out;
	int			i;

	for (i = 0; i < UUID_LEN; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hexdigits[u->data[i] >> 4];
		*p++ = hexdigits[u->data[i] & 0xf];
	}
	return 36;
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
		ExportSink	tmp;

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
		initStringInfo(&tmp.buf);
		if (format == EXPORT_FORMAT_CSV)
			csv_put_text(&tmp, name, strlen(name), false);
		else
		{
			sink_append_char(&tmp, i == 0 ? '{' : ',');
			json_put_string(&tmp, name, strlen(name));
			sink_append_char(&tmp, ':');
		}
		col->head = tmp.buf.data;
		col->head_len = tmp.buf.len;
	}

	if (format == EXPORT_FORMAT_CSV)
	{
		for (i = 0; i < w->natts; i++)
		{
			if (i > 0)
				sink_append_char(sink, ',');
			sink_append(sink, w->cols[i].head, w->cols[i].head_len);
		}
		sink_append(sink, "\r\n", 2);
		sink_end_line(sink);
	}
}

/* Writes one non-NULL value of col in the writer's format. */
static void
writer_value(ExportWriter *w, ExportColumn *col, Datum value)
{
	ExportSink *sink = w->sink;
	bool		csv = (w->format == EXPORT_FORMAT_CSV);
	char		num[MAXDATELEN + 1];
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
					csv_put_text(sink, s, len, w->formula_guard);
				else
					json_put_string(sink, s, len);
				return;
			}
		case EXPORT_COL_INT:
			if (col->typid == INT8OID)
				len = pg_lltoa(DatumGetInt64(value), num);
			else if (col->typid == INT4OID)
				len = pg_ltoa(DatumGetInt32(value), num);
			else
				len = pg_itoa(DatumGetInt16(value), num);
			sink_append(sink, num, len);
			return;
		case EXPORT_COL_BOOL:
			if (DatumGetBool(value))
				sink_append(sink, "true", 4);
			else
				sink_append(sink, "false", 5);
			return;
		case EXPORT_COL_TIMESTAMPTZ:
		case EXPORT_COL_TIMESTAMP:
			len = format_iso_timestamp(DatumGetTimestamp(value),
									   col->kind == EXPORT_COL_TIMESTAMPTZ, num);
			if (csv)
				sink_append(sink, num, len);
			else
				json_put_string(sink, num, len);
			return;
		case EXPORT_COL_UUID:
			len = format_uuid(DatumGetUUIDP(value), num);
			if (csv)
				sink_append(sink, num, len);
			else
				json_put_string(sink, num, len);
			return;
		case EXPORT_COL_NUMBER:
			s = OutputFunctionCall(&col->out, value);
			len = strlen(s);
			/* JSON has no NaN or infinities: write those as strings. */
			if (!csv && (isalpha((unsigned char) s[len - 1])))
				json_put_string(sink, s, len);
			else
				sink_append(sink, s, len);
			return;
		case EXPORT_COL_JSON:
			s = OutputFunctionCall(&col->out, value);
			len = strlen(s);
			if (csv)
				csv_put_text(sink, s, len, false);
			else
				sink_append(sink, s, len);
			return;
		case EXPORT_COL_OTHER:
			s = OutputFunctionCall(&col->out, value);
			len = strlen(s);
			if (csv)
				csv_put_text(sink, s, len, w->formula_guard);
			else
				json_put_string(sink, s, len);
			return;
	}
}

/* Writes one row; raises WB205 when it would pass the writer's row limit. */
void
writer_row(ExportWriter *w, Datum *values, bool *isnull)
{
	MemoryContext old;
	ExportSink *sink = w->sink;
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
				sink_append_char(sink, ',');
			if (!isnull[i])
				writer_value(w, col, values[i]);
		}
		else
		{
			sink_append(sink, col->head, col->head_len);
			if (isnull[i])
				sink_append(sink, "null", 4);
			else
				writer_value(w, col, values[i]);
		}
	}
	if (w->format == EXPORT_FORMAT_CSV)
		sink_append(sink, "\r\n", 2);
	else if (w->natts == 0)
		sink_append(sink, "{}\n", 3);
	else
		sink_append(sink, "}\n", 2);
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
