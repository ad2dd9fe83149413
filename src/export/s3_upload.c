/*
 * s3_upload.c
 *		The job runner's object storage target: an export streamed straight
 *		into a multipart upload (wib.export_s3_begin, wib.export_s3_write).
 *
 * The writer's chunks are cut into parts of exactly wib.export_part_size
 * bytes (R2 wants every part but the last the same size).  The writer
 * formats rows straight into the part being filled: the sink's buffer is a
 * window at the part's end (part_window_alloc), so a chunk costs no copy;
 * the bytes of the last chunk past the part's size move to the next part,
 * and a row too large for the window is formatted apart and copied.  Each
 * part is sent as soon as it is full, through the HTTP engine's started
 * requests, and the writer goes on formatting rows meanwhile, moving the
 * transfers along between chunks; up to wib.export_upload_concurrency parts
 * are in flight, and a new part waits for a buffer only when that many are.
 * Memory is those buffers plus the one being filled, whatever the export's
 * size, and nothing is written to local disk.  A part that fails transiently is sent
 * again (with backoff) once the others in flight have finished.  The last
 * part (any size, even empty) and the CompleteMultipartUpload document
 * follow at the end.  Object size and SHA-256 are counted over the bytes as
 * they pass.
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
#include "http/http_settings.h"

/*
 * Room past the part's size in each part buffer: the sink's window reaches
 * that far, so the chunk that fills a part is formatted in place (the
 * sink's buffer never holds more than 4 chunks; it gives back more).
 */
#define S3_PART_SLACK		(4 * EXPORT_SINK_CHUNK)

/* One part buffer: free (number 0), being filled, or in flight. */
typedef struct S3Part
{
	char	   *data;			/* part_size + S3_PART_SLACK bytes */
	int			len;
	int			number;			/* part number; 0 while free or being filled */
	S3Call		call;
	MemoryContext cxt;			/* the call's request and answer; reset for each part */
} S3Part;

/* The state of one streamed upload. */
typedef struct S3Writer
{
	S3Target	target;
	const char *key;
	const char *upload_id;
	int			part_size;
	int			in_flight_max;	/* wib.export_upload_concurrency, at most wib.http_max_concurrency */
	int			in_flight;
	S3Part	   *bufs;			/* in_flight_max + 1 buffers */
	S3Part	   *filling;		/* the buffer being filled */
	int			parts;			/* part numbers given so far */
	char	  **etags;			/* ETag of part i + 1 */
	int			etags_cap;
	pg_cryptohash_ctx *sha;		/* of the whole object */
	ExportSink *sink;			/* whose buffer is a window into the part being filled */
	int			header_lines;
	MemoryContext cxt;			/* the upload's lifetime */
} S3Writer;

/* Records the ETag of a part the store accepted and frees its buffer. */
static void
part_done(S3Writer *w, S3Part *p)
{
	const char *etag = http_response_header(&p->call.req, "ETag");

	if (etag == NULL || etag[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_WIB_EXPORT_STORAGE),
				 errmsg("object storage answered UploadPart without an ETag")));
	while (p->number > w->etags_cap)
	{
		w->etags = (char **) repalloc(w->etags, sizeof(char *) * w->etags_cap * 2);
		memset(w->etags + w->etags_cap, 0, sizeof(char *) * w->etags_cap);
		w->etags_cap *= 2;
	}
	w->etags[p->number - 1] = MemoryContextStrdup(w->cxt, etag);
	p->number = 0;
}

/* The buffer whose request req is. */
static S3Part *
part_of(S3Writer *w, HttpRequest *req)
{
	for (int i = 0; i <= w->in_flight_max; i++)
		if (&w->bufs[i].call.req == req)
			return &w->bufs[i];
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg_internal("object storage answer of a request that is not a part")));
	pg_unreachable();
}

/*
 * Hands back the finished parts, waiting up to timeout_ms for the first.  A
 * part that failed ends the pipeline: the others in flight are waited for,
 * then the failures are raised (credentials, full, refused) or sent again
 * with backoff (transient), with nothing else in flight meanwhile.
 */
static void
collect_parts(S3Writer *w, int timeout_ms)
{
	HttpRequest *req;
	S3Part	   *failed[S3_MAX_PARTS_IN_FLIGHT + 1];
	int			nfailed = 0;

	while (w->in_flight > 0)
	{
		S3Part	   *p;

		/* After a failure every part in flight is waited for (each is bounded by its timeout). */
		req = http_engine_wait(nfailed > 0 ? 1000 : timeout_ms);
		if (req == NULL)
		{
			if (nfailed > 0)
				continue;
			break;
		}
		p = part_of(w, req);

		w->in_flight--;
		p->call.attempts++;
		s3_call_finish(&p->call);
		if (p->call.outcome == S3_OUTCOME_OK)
			part_done(w, p);
		else
			failed[nfailed++] = p;
		timeout_ms = 0;
	}
	if (nfailed == 0)
		return;
	for (int i = 0; i < nfailed; i++)
		if (failed[i]->call.outcome != S3_OUTCOME_RETRY)
			s3_raise(&failed[i]->call);
	for (int i = 0; i < nfailed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(failed[i]->cxt);

		s3_run_again(&w->target, &failed[i]->call, 1);
		MemoryContextSwitchTo(old);
		part_done(w, failed[i]);
	}
}

/* Sends a full (or the last) buffer as the next part, without waiting for it. */
static void
send_part(S3Writer *w, S3Part *p)
{
	char		reason[SIGV4_REASON_LEN];
	MemoryContext old;

	if (w->parts >= S3_XML_MAX_PARTS)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_EXPORT_STORAGE),
				 errmsg("export needs more than %d parts of %d bytes", S3_XML_MAX_PARTS, w->part_size),
				 errhint("Raise wib.export_part_size.")));
	p->number = ++w->parts;
	MemoryContextReset(p->cxt);
	old = MemoryContextSwitchTo(p->cxt);
	s3_call_init(&p->call, "UploadPart", "PUT", w->key);
	s3_call_query(&p->call, "partNumber", psprintf("%d", p->number));
	s3_call_query(&p->call, "uploadId", w->upload_id);
	/* Over https TLS protects the part; over plain http its SHA-256 is signed. */
	if (w->target.endpoint.https)
		s3_call_body_unsigned(&p->call, p->data, p->len);
	else
		s3_call_body(&p->call, p->data, p->len);
	if (!s3_call_prepare(&w->target, &p->call, reason))
		ereport(ERROR,
				(errcode(ERRCODE_WIB_EXPORT_STORAGE),
				 errmsg("could not sign UploadPart for object storage"),
				 errdetail("%s.", reason)));
	if (!http_engine_start(&p->call.req))
	{
		/*
		 * It could not even start: a failed attempt, sent again with the
		 * retries once the parts in flight are done.
		 */
		p->call.attempts++;
		s3_call_finish(&p->call);
		MemoryContextSwitchTo(old);
		while (w->in_flight > 0)
			collect_parts(w, 1000);
		if (p->call.outcome != S3_OUTCOME_RETRY)
			s3_raise(&p->call);
		old = MemoryContextSwitchTo(p->cxt);
		s3_run_again(&w->target, &p->call, 1);
		MemoryContextSwitchTo(old);
		part_done(w, p);
		return;
	}
	w->in_flight++;
	MemoryContextSwitchTo(old);
}

/* A free buffer to fill, waiting for a part in flight to finish when all are busy. */
static S3Part *
free_part(S3Writer *w)
{
	for (;;)
	{
		for (int i = 0; i <= w->in_flight_max; i++)
			if (w->bufs[i].number == 0 && &w->bufs[i] != w->filling)
				return &w->bufs[i];
		collect_parts(w, 1000);
	}
}

/* The part buffer ptr points into, or NULL. */
static S3Part *
part_holding(S3Writer *w, const char *ptr)
{
	for (int i = 0; i <= w->in_flight_max; i++)
		if (ptr >= w->bufs[i].data && ptr < w->bufs[i].data + w->part_size + S3_PART_SLACK)
			return &w->bufs[i];
	return NULL;
}

/*
 * ByteBufAlloc of the sink: memory of up to S3_PART_SLACK bytes is the
 * window at the end of the part being filled; a larger request (a row of
 * more than a few chunks) moves the bytes to memory of their own in the
 * upload's context, given back at the next flush.
 */
static void *
part_window_alloc(void *ptr, size_t size, void *arg)
{
	S3Writer   *w = (S3Writer *) arg;
	S3Part	   *p = w->filling;
	bool		window = ptr != NULL && part_holding(w, ptr) != NULL;
	char	   *moved;

	if (size == 0)
	{
		if (ptr != NULL && !window)
			pfree(ptr);
		return NULL;
	}
	if (size <= S3_PART_SLACK && (ptr == NULL || window))
		return ptr != NULL ? ptr : p->data + p->len;
	if (ptr != NULL && !window)
		return repalloc_huge(ptr, size);
	moved = MemoryContextAllocHuge(w->cxt, size);
	if (ptr != NULL)
		memcpy(moved, ptr, w->sink->buf.len + 1);
	return moved;
}

/*
 * Sink target: the bytes are the object's next ones.  They were formatted in
 * place at the end of the part being filled (or, for a huge row, apart, and
 * are copied there); a part that is full is sent, the bytes past its size
 * moved to the next part, and the sink's window set at the new end.
 */
static void
emit_to_s3(ExportSink *sink, const char *data, int len)
{
	S3Writer   *w = (S3Writer *) sink->target;
	S3Part	   *p = w->filling;

	if (pg_cryptohash_update(w->sha, (const uint8 *) data, len) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute the export checksum")));
	export_progress_update(sink, len, w->header_lines);
	if (data == p->data + p->len)
	{
		/* Formatted in place: the bytes are there already. */
		p->len += len;
		if (p->len >= w->part_size)
		{
			int			over = p->len - w->part_size;
			S3Part	   *next;

			p->len = w->part_size;
			send_part(w, p);
			next = free_part(w);
			memcpy(next->data, p->data + w->part_size, over);
			next->len = over;
			w->filling = next;
		}
	}
	else
	{
		while (len > 0)
		{
			int			n;

			p = w->filling;
			n = Min(len, w->part_size - p->len);
			memcpy(p->data + p->len, data, n);
			p->len += n;
			data += n;
			len -= n;
			if (p->len == w->part_size)
			{
				send_part(w, p);
				w->filling = free_part(w);
				w->filling->len = 0;
			}
		}
	}
	/* The sink's buffer, emptied after this, goes on at the end of the part being filled. */
	if (part_holding(w, sink->buf.data) != NULL)
	{
		sink->buf.data = w->filling->data + w->filling->len;
		sink->buf.cap = S3_PART_SLACK;
	}
	/* The transfers in flight move along between chunks. */
	if (w->in_flight > 0)
		collect_parts(w, 0);
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
	size_t		len;
	char	   *xml;
	S3Call		call;
	MemoryContext cxt = AllocSetContextCreate(w->cxt, "wib export upload complete", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);

	for (int i = 0; i < w->parts; i++)
		if (w->etags[i] == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg_internal("part %d of the upload has no ETag", i + 1)));
	len = s3_complete_xml((const char *const *) w->etags, w->parts, NULL, 0);
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
	MemoryContextDelete(cxt);
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
	s3_target_arg(fcinfo, 5, &w.target);
	w.key = text_to_cstring(PG_GETARG_TEXT_PP(6));
	w.upload_id = text_to_cstring(PG_GETARG_TEXT_PP(7));
	w.part_size = export_part_size;
	w.in_flight_max = Max(1, Min(export_upload_concurrency, http_max_concurrency));
	w.header_lines = (format == EXPORT_FORMAT_CSV) ? 1 : 0;
	w.bufs = (S3Part *) MemoryContextAllocZero(w.cxt, sizeof(S3Part) * (w.in_flight_max + 1));
	for (int i = 0; i <= w.in_flight_max; i++)
	{
		w.bufs[i].data = (char *) MemoryContextAllocHuge(w.cxt, (Size) w.part_size + S3_PART_SLACK);
		w.bufs[i].cxt = AllocSetContextCreate(w.cxt, "wib export upload part", ALLOCSET_SMALL_SIZES);
	}
	w.filling = &w.bufs[0];
	w.etags_cap = 64;
	w.etags = (char **) MemoryContextAllocZero(w.cxt, sizeof(char *) * w.etags_cap);
	w.sha = pg_cryptohash_create(PG_SHA256);
	if (w.sha == NULL || pg_cryptohash_init(w.sha) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not start the export checksum")));

	export_progress_start(storage_key);
	/* The sink formats into the part being filled (part_window_alloc). */
	sink_init(&sink, emit_to_s3, &w);
	bytebuf_free(&sink.buf);
	w.sink = &sink;
	bytebuf_init(&sink.buf, part_window_alloc, &w, MaxAllocSize);
	http_engine_begin();
	PG_TRY();
	{
		rows = export_run_query(query, format, formula_guard, max_rows, &sink);
		/* The last part (the only one, possibly empty, of a small export), then the end. */
		if (w.filling->len > 0 || w.parts == 0)
		{
			send_part(&w, w.filling);
			w.filling = NULL;
		}
		while (w.in_flight > 0)
			collect_parts(&w, 1000);
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
	bytebuf_free(&sink.buf);
	MemoryContextDelete(w.cxt);

	values[0] = Int64GetDatum(rows);
	values[1] = Int64GetDatum(sink.bytes);
	values[2] = CStringGetTextDatum(hex);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
