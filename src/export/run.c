/*
 * run.c
 *		Runs an export query through the writers: straight to the caller
 *		(wib.export_render, behind wib.export_stream) or into a file (the job
 *		runner).
 *
 * The query runs through SPI with a DestReceiver of our own, so each row goes
 * from the executor to the writer without being materialised, as COPY does;
 * memory is one sink chunk plus one row.  The query must be read-only.
 *
 * The query is planned with jit = off: an export is a scan formatted row by
 * row, which JIT compilation does not speed up, while loading LLVM costs the
 * backend some 55 MB of private memory once the plan's cost passes
 * jit_above_cost, that is once the export is large enough.  Without it the
 * backend's memory is the same for 100,000 rows as for 1,000,000.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "tcop/dest.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/tuplestore.h"

#include "core/errors.h"
#include "export/files.h"
#include "export/run.h"
#include "export/sink.h"
#include "export/writer.h"

typedef struct ExportReceiver
{
	DestReceiver pub;
	ExportWriter writer;
	ExportSink *sink;
	ExportFormat format;
	bool		formula_guard;
	int64		max_rows;
	bool		started;
} ExportReceiver;

/* A file target: the open file, its checksum, and progress reporting. */
typedef struct ExportFileTarget
{
	int			fd;
	const char *path;
	pg_cryptohash_ctx *sha;
	int			header_lines;	/* lines that are not rows (the CSV header) */
} ExportFileTarget;

/* Starts the writer on the query's result columns (once: one statement only). */
static void
receiver_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	ExportReceiver *r = (ExportReceiver *) self;

	if (r->started)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("export query must be a single statement"),
				 errdetail("The query returned more than one result.")));
	r->started = true;
	writer_init(&r->writer, r->format, r->formula_guard, typeinfo, r->sink, r->max_rows);
}

static bool
receiver_receive(TupleTableSlot *slot, DestReceiver *self)
{
	ExportReceiver *r = (ExportReceiver *) self;

	slot_getallattrs(slot);
	writer_row(&r->writer, slot->tts_values, slot->tts_isnull);
	return true;
}

static void
receiver_shutdown(DestReceiver *self)
{
}

static void
receiver_destroy(DestReceiver *self)
{
}

/* Runs query, writing every row through the sink; returns the row count. */
int64
export_run_query(const char *query, ExportFormat format, bool formula_guard,
				 int64 max_rows, ExportSink *sink)
{
	ExportReceiver r;
	SPIExecuteOptions options;
	int			guc_level;

	memset(&r, 0, sizeof(r));
	r.pub.receiveSlot = receiver_receive;
	r.pub.rStartup = receiver_startup;
	r.pub.rShutdown = receiver_shutdown;
	r.pub.rDestroy = receiver_destroy;
	r.pub.mydest = DestTuplestore;
	r.sink = sink;
	r.format = format;
	r.formula_guard = formula_guard;
	r.max_rows = max_rows;

	memset(&options, 0, sizeof(options));
	options.read_only = true;
	options.dest = (DestReceiver *) &r;

	/* jit = off for this query only; an error undoes it with the (sub)transaction. */
	guc_level = NewGUCNestLevel();
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	SPI_connect();
	SPI_execute_extended(query, &options);
	SPI_finish();
	AtEOXact_GUC(true, guc_level);
	if (!r.started)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("export query must return rows"),
				 errdetail("The query is not a SELECT.")));
	writer_finish(&r.writer);
	return r.writer.rows;
}

/* Reads and checks the format argument. */
ExportFormat
export_format_arg(text *arg)
{
	char	   *name = text_to_cstring(arg);
	ExportFormat format;

	if (!writer_parse_format(name, &format))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid format"),
				 errdetail("format must be csv or json, not \"%s\".", name)));
	return format;
}

/* Sink target of the SRF: each chunk becomes one text row of the tuplestore. */
static void
emit_to_tuplestore(ExportSink *sink, const char *data, int len)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) sink->target;
	Datum		value = PointerGetDatum(cstring_to_text_with_len(data, len));
	bool		isnull = false;

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	pfree(DatumGetPointer(value));
}

/*
 * wib.export_render(query, format, formula_guard, max_rows): the query's rows
 * as chunks of whole CSV or JSON lines.  The tuplestore spills to disk past
 * work_mem, so memory does not grow with the row count.
 */
PG_FUNCTION_INFO_V1(wib_export_render);
Datum
wib_export_render(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ExportFormat format;
	ExportSink	sink;
	char	   *query;
	MemoryContext old;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid export arguments"),
				 errdetail("query, format and formula_guard must not be NULL.")));
	query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	format = export_format_arg(PG_GETARG_TEXT_PP(1));

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	sink_init(&sink, emit_to_tuplestore, rsinfo);
	export_run_query(query, format, PG_GETARG_BOOL(2),
					 PG_ARGISNULL(3) ? 0 : PG_GETARG_INT64(3), &sink);
	sink_free(&sink);
	MemoryContextSwitchTo(old);
	return (Datum) 0;
}

/* Sink target of a job: write, checksum, report progress. */
static void
emit_to_file(ExportSink *sink, const char *data, int len)
{
	ExportFileTarget *f = (ExportFileTarget *) sink->target;
	int			done = 0;

	while (done < len)
	{
		int			n = write(f->fd, data + done, len - done);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			if (errno == ENOSPC || errno == EDQUOT || errno == EFBIG)
				ereport(ERROR,
						(errcode(ERRCODE_WIB_EXPORT_FILE),
						 errmsg("out of disk space writing export file \"%s\": %m", f->path),
						 errdetail("The disk of wib.export_directory is full, or the file reached a size limit of the server (a quota, RLIMIT_FSIZE)."),
						 errhint("Free space there, or point wib.export_directory at a larger disk, then request the export again.")));
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write export file \"%s\": %m", f->path)));
		}
		done += n;
	}
	if (pg_cryptohash_update(f->sha, (const uint8 *) data, len) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute the export file checksum")));
	export_progress_update(sink, len, f->header_lines);
}

/*
 * Live progress for wib.export_status: this backend's activity names the
 * export's storage key and pg_stat_progress_copy counts rows and bytes as
 * chunks land (a COPY TO a file, as far as the view is concerned).
 */
void
export_progress_start(const char *storage_key)
{
	pgstat_report_activity(STATE_RUNNING, psprintf("wib export %s", storage_key));
	pgstat_progress_start_command(PROGRESS_COMMAND_COPY, InvalidOid);
	pgstat_progress_update_param(PROGRESS_COPY_COMMAND, PROGRESS_COPY_COMMAND_TO);
	pgstat_progress_update_param(PROGRESS_COPY_TYPE, 1);	/* file */
}

/* Counts a chunk of len bytes about to be added to the sink's totals. */
void
export_progress_update(const ExportSink *sink, int len, int header_lines)
{
	pgstat_progress_update_param(PROGRESS_COPY_BYTES_PROCESSED, sink->bytes + len);
	pgstat_progress_update_param(PROGRESS_COPY_TUPLES_PROCESSED,
								 Max(sink->lines - header_lines, 0));
}

/* Writes the lower-case hex of a finished SHA-256 into hex (65 bytes). */
void
export_sha256_hex(pg_cryptohash_ctx *sha, char *hex)
{
	uint8		digest[PG_SHA256_DIGEST_LENGTH];

	if (pg_cryptohash_final(sha, digest, sizeof(digest)) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not finish the export checksum")));
	for (int i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		sprintf(hex + 2 * i, "%02x", digest[i]);
}

/*
 * wib.export_write_file(query, format, formula_guard, max_rows, storage_key):
 * writes the export to <storage_key>.part, syncs it and renames it into place;
 * returns (rows, bytes, sha256).  A crash leaves at most a .part file, which
 * the rerun of the job truncates.  Progress is published as a COPY TO in
 * pg_stat_progress_copy under the activity "wib export <storage_key>".
 */
PG_FUNCTION_INFO_V1(wib_export_write_file);
Datum
wib_export_write_file(PG_FUNCTION_ARGS)
{
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ExportFormat format = export_format_arg(PG_GETARG_TEXT_PP(1));
	bool		formula_guard = PG_GETARG_BOOL(2);
	int64		max_rows = PG_GETARG_INT64(3);
	char	   *path = export_file_path(text_to_cstring(PG_GETARG_TEXT_PP(4)), true);
	char	   *part = psprintf("%s.part", path);
	ExportFileTarget target;
	ExportSink	sink;
	char		hex[PG_SHA256_DIGEST_LENGTH * 2 + 1];
	int64		rows;
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg_internal("return type must be a row type")));

	target.path = part;
	target.header_lines = (format == EXPORT_FORMAT_CSV) ? 1 : 0;
	target.fd = OpenTransientFile(part, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (target.fd < 0)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_EXPORT_FILE),
				 errmsg("could not create export file \"%s\": %m", part),
				 errhint("Check that wib.export_directory exists and is writable by the server.")));
	target.sha = pg_cryptohash_create(PG_SHA256);
	if (target.sha == NULL || pg_cryptohash_init(target.sha) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not start the export file checksum")));

	export_progress_start(text_to_cstring(PG_GETARG_TEXT_PP(4)));

	sink_init(&sink, emit_to_file, &target);
	PG_TRY();
	{
		rows = export_run_query(query, format, formula_guard, max_rows, &sink);
		if (pg_fsync(target.fd) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not sync export file \"%s\": %m", part)));
	}
	PG_CATCH();
	{
		CloseTransientFile(target.fd);
		unlink(part);
		pg_cryptohash_free(target.sha);
		pgstat_progress_end_command();
		PG_RE_THROW();
	}
	PG_END_TRY();

	CloseTransientFile(target.fd);
	durable_rename(part, path, ERROR);
	pgstat_progress_end_command();

	export_sha256_hex(target.sha, hex);
	pg_cryptohash_free(target.sha);

	values[0] = Int64GetDatum(rows);
	values[1] = Int64GetDatum(sink.bytes);
	values[2] = CStringGetTextDatum(hex);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/*
 * wib.export_stream(export_type, format, filters): the tenant's export as
 * chunks of whole lines.  wib.export_prepare (SQL, as the caller) validates
 * the request, applies the plan and builds the query; the rows then go
 * through the same writer as the job runner's.
 */
PG_FUNCTION_INFO_V1(wib_export_stream);
Datum
wib_export_stream(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			types[3] = {TEXTOID, TEXTOID, JSONBOID};
	Datum		args[3];
	char		nulls[3];
	char	   *query;
	char	   *format_name;
	bool		formula_guard;
	bool		isnull;
	int64		max_rows;
	ExportFormat format;
	ExportSink	sink;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext old;
	HeapTuple	tup;
	TupleDesc	desc;
	int			i;

	for (i = 0; i < 3; i++)
	{
		args[i] = PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}

	SPI_connect();
	if (SPI_execute_with_args("SELECT query, fmt, formula_guard, max_rows FROM wib.export_prepare($1, $2, $3)",
							  3, types, args, nulls, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg_internal("wib.export_prepare returned no row")));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	old = MemoryContextSwitchTo(caller);
	query = SPI_getvalue(tup, desc, 1);
	format_name = SPI_getvalue(tup, desc, 2);
	MemoryContextSwitchTo(old);
	formula_guard = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
	max_rows = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
	if (isnull)
		max_rows = 0;
	SPI_finish();

	if (!writer_parse_format(format_name, &format))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg_internal("wib.export_prepare returned an unknown format")));

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	sink_init(&sink, emit_to_tuplestore, rsinfo);
	export_run_query(query, format, formula_guard, max_rows, &sink);
	sink_free(&sink);
	MemoryContextSwitchTo(old);
	return (Datum) 0;
}
