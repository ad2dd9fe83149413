/*
 * writer.h
 *		The CSV (RFC 4180) and JSON Lines writers of the exports.
 */
#ifndef WIB_EXPORT_WRITER_H
#define WIB_EXPORT_WRITER_H

#include "access/tupdesc.h"
#include "fmgr.h"

#include "export/sink.h"

typedef enum ExportFormat
{
	EXPORT_FORMAT_CSV,
	EXPORT_FORMAT_JSON
} ExportFormat;

/* How a column's values are written; chosen once per column from its type. */
typedef enum ExportColumnKind
{
	EXPORT_COL_TEXT,			/* text, varchar, bpchar, name: bytes as is */
	EXPORT_COL_INT,				/* int2, int4, int8: digits */
	EXPORT_COL_NUMBER,			/* numeric, float: output function, unformatted */
	EXPORT_COL_BOOL,			/* true / false */
	EXPORT_COL_TIMESTAMPTZ,		/* ISO 8601 in UTC with Z */
	EXPORT_COL_TIMESTAMP,		/* ISO 8601 without zone */
	EXPORT_COL_UUID,
	EXPORT_COL_JSON,			/* json, jsonb: raw JSON in JSON Lines */
	EXPORT_COL_OTHER			/* any other type: its output function, as text */
} ExportColumnKind;

typedef struct ExportColumn
{
	ExportColumnKind kind;
	Oid			typid;
	FmgrInfo	out;			/* output function, for NUMBER, JSON and OTHER */
	char	   *head;			/* CSV: quoted name; JSON: "name": with its separator */
	int			head_len;
} ExportColumn;

typedef struct ExportWriter
{
	ExportFormat format;
	bool		formula_guard;	/* CSV: prefix ' to text starting with = + - @ tab CR */
	int			natts;
	ExportColumn *cols;
	ExportSink *sink;
	MemoryContext row_cxt;		/* reset after every row */
	int64		rows;
	int64		max_rows;		/* 0: no limit; more rows raise an error */
} ExportWriter;

extern bool writer_parse_format(const char *name, ExportFormat *format);
extern void writer_init(ExportWriter *w, ExportFormat format, bool formula_guard,
						TupleDesc desc, ExportSink *sink, int64 max_rows);
extern void writer_row(ExportWriter *w, Datum *values, bool *isnull);
extern void writer_finish(ExportWriter *w);

#endif							/* WIB_EXPORT_WRITER_H */
