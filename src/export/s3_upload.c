/*
 * s3_upload.c
 *		The job runner's object storage target: an export streamed straight
 *		into a multipart upload (wib.export_s3_begin, wib.export_s3_write).
 *
 * The writer's chunks are cut into parts of exactly wib.export_part_size
 * bytes (R2 wants every part but the last the same size).  Parts are held in
 * wib.export_upload_concurrency buffers; once they are all full they are
 * uploaded together through one run of the HTTP engine, then refilled, so
 * memory is those buffers whatever the export's size and nothing is written
 * to local disk.  The last part (any size, even empty) and the
 * CompleteMultipartUpload document follow at the end.  Object size and
 * SHA-256 are counted over the bytes as they pass.
 *
 * This is network I/O inside the job's transaction (the rows come from its
 * snapshot); every request is bounded by wib.export_upload_timeout and its
 * retries.  On any error the upload is left for the caller to abort: the
 * SQL runner queues the abort with the job's failure (export_storage_queue),
 * and an upload begun in an earlier transaction is recorded in
 * wib.export_uploads, so a crash leaves nothing that is not aborted later.
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "funcapi.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "core/errors.h"
#include "export/run.h"
#include "export/s3_client.h"
#include "export/s3_xml.h"

/* The state of one streamed upload. */
typedef struct S3Writer
{
	S3Target	target;
	const char *key;
	const char *upload_id;
	int			part_size;
	int			concurrency;
	char	  **bufs;			/* concurrency buffers of part_size bytes */
	int			nfull;			/* full buffers waiting; bufs[nfull] is being filled */
	int			fill;			/* bytes in bufs[nfull] */
	int			parts;			/* parts uploaded so far */
	char	  **etags;			/* ETag of part i + 1 */
	int			etags_cap;
	pg_cryptohash_ctx *sha;		/* of the whole object */
	int			header_lines;
	MemoryContext cxt;			/* the upload's lifetime */
	MemoryContext batch_cxt;	/* one engine run's requests and answers */
} S3Writer;

/* Uploads bufs[0..count) as the next parts; the last of them holds last_len bytes. */
static void
upload_parts(S3Writer *w, int count, int last_len)
{
	S3Call	   *calls;
	MemoryContext old;

	if (count == 0)
		return;
	if (w->parts + count > S3_XML_MAX_PARTS)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_EXPORT_STORAGE),
				 errmsg("export needs more than %d parts of %d bytes", S3_XML_MAX_PARTS, w->part_size),
				 errhint("Raise wib.export_part_size.")));
	old = MemoryContextSwitchTo(w->batch_cxt);
	calls = (S3Call *) palloc(sizeof(S3Call) * count);
	for (int i = 0; i < count; i++)
	{
		S3Call	   *c = &calls[i];

		s3_call_init(c, "UploadPart", "PUT", w->key);
		s3_call_query(c, "partNumber", psprintf("%d", w->parts + i + 1));
		s3_call_query(c, "uploadId", w->upload_id);
		s3_call_body(c, w->bufs[i], i == count - 1 ? last_len : w->part_size);
	}
	s3_run(&w->target, calls, count);
	for (int i = 0; i < count; i++)
	{
		const char *etag = http_response_header(&calls[i].req, "ETag");

		if (etag == NULL || etag[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_WIB_EXPORT_STORAGE),
					 errmsg("object storage answered UploadPart without an ETag")));
		if (w->parts >= w->etags_cap)
		{
			w->etags_cap *= 2;
			w->etags = (char **) repalloc(w->etags, sizeof(char *) * w->etags_cap);
		}
		w->etags[w->parts++] = MemoryContextStrdup(w->cxt, etag);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(w->batch_cxt);
}

/* Sink target: bytes into part buffers, full batches uploaded as they fill. */
static void
emit_to_s3(ExportSink *sink, const char *data, int len)
{
	S3Writer   *w = (S3Writer *) sink->target;

	if (pg_cryptohash_update(w->sha, (const uint8 *) data, len) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute the export checksum")));
	export_progress_update(sink, len, w->header_lines);
	while (len > 0)
	{
		int			n = Min(len, w->part_size - w->fill);

		memcpy(w->bufs[w->nfull] + w->fill, data, n);
		w->fill += n;
		data += n;
		len -= n;
		if (w->fill == w->part_size)
		{
			w->nfull++;
			w->fill = 0;
			if (w->nfull == w->concurrency)
			{
				upload_parts(w, w->nfull, w->part_size);
				w->nfull = 0;
			}
		}
	}
}

/*
 * Completes the upload with the parts' ETags.  A 200 carrying an <Error> is
 * a failure (retried when transient).  When a retry finds the upload gone,
 * an earlier attempt may have completed it without the answer arriving: the
 * object is then checked by its size.
 */
static void
complete_upload(S3Writer *w, int64 bytes)
{
	size_t		len = s3_complete_xml((const char *const *) w->etags, w->parts, NULL, 0);
	char	   *xml;
	S3Call		call;
	MemoryContext old = MemoryContextSwitchTo(w->batch_cxt);

	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_EXPORT_STORAGE),
				 errmsg("object storage returned an ETag that cannot be sent back")));
	xml = palloc(len + 1);
	s3_complete_xml((const char *const *) w->etags, w->parts, xml, len + 1);

	s3_call_init(&call, "CompleteMultipartUpload", "POST", w->key);
	s3_call_query(&call, "uploadId", w->upload_id);
	s3_call_body(&call, xml, len);
	call.content_type = "application/xml";
	call.gone_ok = true;
	s3_run(&w->target, &call, 1);
	if (call.outcome == S3_OUTCOME_GONE)
	{
		S3Call		head;
		const char *length;

		if (call.attempts == 1)
		{
			call.outcome = S3_OUTCOME_FAILED;
			s3_raise(&call);
		}
		s3_call_init(&head, "HeadObject", "HEAD", w->key);
		s3_run(&w->target, &head, 1);
		length = http_response_header(&head.req, "Content-Length");
		if (length == NULL || strtoll(length, NULL, 10) != bytes)
			ereport(ERROR,
					(errcode(ERRCODE_WIB_EXPORT_STORAGE),
					 errmsg("object storage lost the upload while completing it"),
					 errdetail("The object has %s bytes, not %lld.", length ? length : "no", (long long) bytes)));
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(w->batch_cxt);
}

/*
 * wib.export_s3_begin(target jsonb, key text, content_type text): starts a
 * multipart upload of key (CreateMultipartUpload) and returns its upload id.
 * Internal: the runner records the id in wib.export_uploads and commits it
 * before the first part is sent.
 */
PG_FUNCTION_INFO_V1(wib_export_s3_begin);
Datum
wib_export_s3_begin(PG_FUNCTION_ARGS)
{
	S3Target	target;
	S3Call		call;
	char	   *key;
	char		upload_id[S3_UPLOAD_ID_MAX + 1];
	char		root[64];
	const HttpResult *res;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid key"),
				 errdetail("An upload needs an object key.")));
	key = text_to_cstring(PG_GETARG_TEXT_PP(1));
	s3_target_arg(fcinfo, 0, &target);
	PG_TRY();
	{
		s3_call_init(&call, "CreateMultipartUpload", "POST", key);
		s3_call_query(&call, "uploads", "");
		call.content_type = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
		s3_run(&target, &call, 1);
	}
	PG_FINALLY();
	{
		s3_target_wipe(&target);
	}
	PG_END_TRY();
	res = &call.req.result;
	if (res->body == NULL || !s3_xml_root(res->body, res->body_len, root, sizeof(root)) ||
		strcmp(root, "InitiateMultipartUploadResult") != 0 ||
		!s3_xml_text(res->body, res->body_len, "UploadId", upload_id, sizeof(upload_id)) ||
		upload_id[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_WIB_EXPORT_STORAGE),
				 errmsg("object storage answered CreateMultipartUpload without an upload id")));
	PG_RETURN_TEXT_P(cstring_to_text(upload_id));
}

/*
 * wib.export_s3_write(query, format, formula_guard, max_rows, storage_key,
 * target, key, upload_id): runs the export query into the multipart upload
 * upload_id of key and completes it; returns (rows, bytes, sha256).  Progress
 * is published like the file target's (activity "wib export <storage_key>").
 * On error nothing is completed; the caller aborts the upload.
 */
PG_FUNCTION_INFO_V1(wib_export_s3_write);
Datum
wib_export_s3_write(PG_FUNCTION_ARGS)
{
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ExportFormat format = export_format_arg(PG_GETARG_TEXT_PP(1));
	bool		formula_guard = PG_GETARG_BOOL(2);
	int64		max_rows = PG_GETARG_INT64(3);
	char	   *storage_key = text_to_cstring(PG_GETARG_TEXT_PP(4));
	S3Writer	w;
	ExportSink	sink;
	char		hex[PG_SHA256_DIGEST_LENGTH * 2 + 1];
	volatile int64 rows = 0;
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg_internal("return type must be a row type")));

	memset(&w, 0, sizeof(w));
	w.cxt = AllocSetContextCreate(CurrentMemoryContext, "wib export upload", ALLOCSET_DEFAULT_SIZES);
	w.batch_cxt = AllocSetContextCreate(w.cxt, "wib export upload batch", ALLOCSET_DEFAULT_SIZES);
	s3_target_arg(fcinfo, 5, &w.target);
	w.key = text_to_cstring(PG_GETARG_TEXT_PP(6));
	w.upload_id = text_to_cstring(PG_GETARG_TEXT_PP(7));
	w.part_size = export_part_size;
	w.concurrency = export_upload_concurrency;
	w.header_lines = (format == EXPORT_FORMAT_CSV) ? 1 : 0;
	w.bufs = (char **) MemoryContextAlloc(w.cxt, sizeof(char *) * w.concurrency);
	for (int i = 0; i < w.concurrency; i++)
		w.bufs[i] = (char *) MemoryContextAllocHuge(w.cxt, w.part_size);
	w.etags_cap = 64;
	w.etags = (char **) MemoryContextAlloc(w.cxt, sizeof(char *) * w.etags_cap);
	w.sha = pg_cryptohash_create(PG_SHA256);
	if (w.sha == NULL || pg_cryptohash_init(w.sha) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not start the export checksum")));

	export_progress_start(storage_key);
	sink_init(&sink, emit_to_s3, &w);
	PG_TRY();
	{
		rows = export_run_query(query, format, formula_guard, max_rows, &sink);
		/*
		 * The rest: the full buffers and the part being filled, the last one
		 * (the only one, possibly empty, of a small export).
		 */
		if (w.fill > 0 || w.parts + w.nfull == 0)
			upload_parts(&w, w.nfull + 1, w.fill);
		else
			upload_parts(&w, w.nfull, w.part_size);
		complete_upload(&w, sink.bytes);
	}
	PG_FINALLY();
	{
		s3_target_wipe(&w.target);
		pgstat_progress_end_command();
	}
	PG_END_TRY();

	export_sha256_hex(w.sha, hex);
	pg_cryptohash_free(w.sha);
	pfree(sink.buf.data);
	MemoryContextDelete(w.cxt);

	values[0] = Int64GetDatum(rows);
	values[1] = Int64GetDatum(sink.bytes);
	values[2] = CStringGetTextDatum(hex);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
