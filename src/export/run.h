/*
 * run.h
 *		Running an export query through the writers (run.c), shared by the
 *		file and object storage targets of the job runner.
 */
#ifndef WIB_EXPORT_RUN_H
#define WIB_EXPORT_RUN_H

#include "common/cryptohash.h"

#include "export/sink.h"
#include "export/writer.h"

/* Runs a read-only query, every row through the writer into sink; returns the row count. */
extern int64 export_run_query(const char *query, ExportFormat format, bool formula_guard,
							  int64 max_rows, ExportSink *sink);

/* The format argument of a SQL function, checked (22023 otherwise). */
extern ExportFormat export_format_arg(text *arg);

/* Publishes the progress of the export of storage_key in pg_stat_progress_copy. */
extern void export_progress_start(const char *storage_key);
extern void export_progress_update(const ExportSink *sink, int len, int header_lines);

/* The lower-case hex of a finished SHA-256 (65 bytes with the NUL). */
extern void export_sha256_hex(pg_cryptohash_ctx *sha, char *hex);

#endif							/* WIB_EXPORT_RUN_H */
