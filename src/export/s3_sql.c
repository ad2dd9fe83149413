/*
 * s3_sql.c
 *		Object storage functions the exports' SQL calls: presigned download
 *		URLs (wib.export_s3_presign) and the listing of uploads in progress
 *		that the sweep of stale uploads reads (wib.export_s3_list_uploads).
 *
 * Both are internal: the SECURITY DEFINER API functions check the tenant and
 * the job first, and open the secret from the vault to pass it here.
 */
#include "postgres.h"

#include <time.h>

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "core/errors.h"
#include "export/s3_client.h"
#include "export/s3_xml.h"

#define S3_URL_MAX			(SIGV4_TARGET_MAX + S3_HOST_MAX + 256)
#define S3_LIST_PAGES_MAX	1000

/*
 * wib.export_s3_presign(target, key, expires_seconds, filename): a SigV4
 * presigned GET of key valid for expires_seconds (1 to 604800); with a
 * filename, the download is offered as an attachment of that name.
 */
PG_FUNCTION_INFO_V1(wib_export_s3_presign);
Datum
wib_export_s3_presign(PG_FUNCTION_ARGS)
{
	S3Target	target;
	SigV4Request r;
	SigV4Pair	query[1];
	char	   *key;
	int32		expires;
	char		host[S3_HOST_MAX + 1];
	char		path[S3_KEY_MAX + S3_BUCKET_MAX + 8];
	char		amz_date[SIGV4_DATE_LEN + 1];
	char		reason[SIGV4_REASON_LEN];
	char	   *url = palloc(S3_URL_MAX);
	time_t		now = time(NULL);
	struct tm	tm;
	bool		ok;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid presign arguments"),
				 errdetail("key and expires_seconds must not be NULL.")));
	key = text_to_cstring(PG_GETARG_TEXT_PP(1));
	expires = PG_GETARG_INT32(2);
	if (expires < 1 || expires > SIGV4_EXPIRES_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid expires_seconds"),
				 errdetail("A presigned URL is valid for 1 to %d seconds, not %d.", SIGV4_EXPIRES_MAX, expires)));
	s3_target_arg(fcinfo, 0, &target);
	if (!s3_address(&target.endpoint, target.virtual_host, target.bucket, key, host, sizeof(host),
					path, sizeof(path), reason))
	{
		s3_target_wipe(&target);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid object key"),
				 errdetail("%s.", reason)));
	}
	gmtime_r(&now, &tm);
	strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);

	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.use_http = !target.endpoint.https;
	r.host = host;
	r.path = path;
	if (!PG_ARGISNULL(3))
	{
		query[0].name = "response-content-disposition";
		query[0].value = psprintf("attachment; filename=\"%s\"", text_to_cstring(PG_GETARG_TEXT_PP(3)));
		r.query = query;
		r.nquery = 1;
	}
	r.payload_sha256 = SIGV4_UNSIGNED_PAYLOAD;
	r.amz_date = amz_date;
	r.region = target.region;
	r.access_key_id = target.access_key_id;
	r.secret_access_key = target.secret;
	ok = sigv4_presign(&r, expires, url, S3_URL_MAX, reason);
	s3_target_wipe(&target);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_EXPORT_STORAGE),
				 errmsg("could not presign the download URL"),
				 errdetail("%s.", reason)));
	PG_RETURN_TEXT_P(cstring_to_text(url));
}

/*
 * wib.export_s3_list_uploads(target, prefix): the multipart uploads in
 * progress under prefix (ListMultipartUploads, every page), as (key,
 * upload_id, initiated).
 */
PG_FUNCTION_INFO_V1(wib_export_s3_list_uploads);
Datum
wib_export_s3_list_uploads(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	S3Target	target;
	char	   *prefix = PG_ARGISNULL(1) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	char		key_marker[S3_KEY_MAX + 1] = "";
	char		id_marker[S3_UPLOAD_ID_MAX + 1] = "";
	S3Upload   *u = palloc(sizeof(S3Upload));
	MemoryContext page_cxt;
	MemoryContext old;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	s3_target_arg(fcinfo, 0, &target);
	page_cxt = AllocSetContextCreate(CurrentMemoryContext, "wib list uploads", ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		for (int page = 0; page < S3_LIST_PAGES_MAX; page++)
		{
			S3Call		call;
			S3UploadList list;
			char		reason[S3_XML_REASON_LEN];
			char		truncated[16];
			const HttpResult *res;
			int			got;

			old = MemoryContextSwitchTo(page_cxt);
			s3_call_init(&call, "ListMultipartUploads", "GET", "");
			s3_call_query(&call, "uploads", "");
			s3_call_query(&call, "prefix", prefix);
			s3_call_query(&call, "max-uploads", "1000");
			if (key_marker[0] != '\0')
			{
				s3_call_query(&call, "key-marker", pstrdup(key_marker));
				s3_call_query(&call, "upload-id-marker", pstrdup(id_marker));
			}
			call.max_response = 16 * 1024 * 1024;
			s3_run(&target, &call, 1);
			res = &call.req.result;
			if (res->body == NULL || !s3_uploads_begin(&list, res->body, res->body_len, reason))
				ereport(ERROR,
						(errcode(ERRCODE_WIB_EXPORT_STORAGE),
						 errmsg("object storage answered ListMultipartUploads with a document that cannot be read")));
			MemoryContextSwitchTo(old);
			while ((got = s3_uploads_next(&list, u, reason)) == 1)
			{
				Datum		values[3];
				bool		nulls[3] = {false, false, u->initiated[0] == '\0'};

				values[0] = CStringGetTextDatum(u->key);
				values[1] = CStringGetTextDatum(u->upload_id);
				values[2] = nulls[2] ? (Datum) 0 : CStringGetTextDatum(u->initiated);
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			}
			if (got < 0)
				ereport(ERROR,
						(errcode(ERRCODE_WIB_EXPORT_STORAGE),
						 errmsg("object storage listed an upload that cannot be read"),
						 errdetail("%s.", reason)));
			if (!s3_xml_text(res->body, res->body_len, "IsTruncated", truncated, sizeof(truncated)) ||
				strcmp(truncated, "true") != 0)
				break;
			if (!s3_xml_text(res->body, res->body_len, "NextKeyMarker", key_marker, sizeof(key_marker)) ||
				!s3_xml_text(res->body, res->body_len, "NextUploadIdMarker", id_marker, sizeof(id_marker)) ||
				key_marker[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_WIB_EXPORT_STORAGE),
						 errmsg("object storage listed a truncated page of uploads without its next markers")));
			MemoryContextReset(page_cxt);
		}
	}
	PG_FINALLY();
	{
		s3_target_wipe(&target);
	}
	PG_END_TRY();
	MemoryContextDelete(page_cxt);
	return (Datum) 0;
}

/*
 * wib.export_s3_endpoint(endpoint): the endpoint in the form requests are
 * signed for ("https://host[:port]"), or 22023 saying what is wrong with it.
 */
PG_FUNCTION_INFO_V1(wib_export_s3_endpoint);
Datum
wib_export_s3_endpoint(PG_FUNCTION_ARGS)
{
	S3Endpoint	ep;
	char		reason[S3_REQUEST_REASON_LEN];

	if (!s3_endpoint_parse(text_to_cstring(PG_GETARG_TEXT_PP(0)), &ep, reason))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid endpoint"),
				 errdetail("endpoint must be https://<host>[:<port>] (R2: https://<account>.r2.cloudflarestorage.com): %s.", reason)));
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%s://%s", ep.https ? "https" : "http", ep.host)));
}
