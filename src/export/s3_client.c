/*
 * s3_client.c
 *		Signed S3 requests through the HTTP engine, with retries (s3_client.h).
 *
 * A call is signed right before each attempt, so a retry after a backoff
 * carries a fresh x-amz-date.  The endpoint is the operator's (not a tenant
 * URL), so requests are not guarded by the SSRF rules; TLS is verified as
 * for every request of the engine.  Errors name the operation, the status
 * and S3's code, and carry S3's message in the detail; they never carry
 * the secret, a signature or a request header.
 */
#include "postgres.h"

#include <time.h>

#include <openssl/crypto.h>

#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "core/errors.h"
#include "crypto/codec.h"
#include "crypto/hmac.h"
#include "export/s3_client.h"
#include "export/s3_xml.h"

int			export_part_size = 8 * 1024 * 1024;
int			export_upload_concurrency = 4;
int			export_upload_timeout_ms = 120 * 1000;

/* Defines the object storage settings (called from exports_define_settings). */
void
s3_define_settings(void)
{
	DefineCustomIntVariable("wib.export_part_size",
							"Size of each part of a multipart upload to object storage.",
							"At least 5 MB (S3's minimum for every part but the last). The job runner holds wib.export_upload_concurrency parts of this size in memory.",
							&export_part_size,
							8 * 1024 * 1024, 5 * 1024 * 1024, 512 * 1024 * 1024,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.export_upload_concurrency",
							"How many parts of an export the job runner uploads at once.",
							"Each part in flight is held in memory (wib.export_part_size each).",
							&export_upload_concurrency,
							4, 1, S3_MAX_PARTS_IN_FLIGHT,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.export_upload_timeout",
							"Longest time one request to object storage may take (a part, a listing, a delete).",
							"A request past it is retried like any transient failure.",
							&export_upload_timeout_ms,
							120 * 1000, 1000, 3600 * 1000,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/*
 * A string member of the target document into *out (NULL when absent and
 * not required); false with reason when it is missing or not a string.
 */
static bool
target_string(Jsonb *target, const char *name, bool required, char **out, char *reason)
{
	JsonbValue	v;
	JsonbValue *found = getKeyJsonValueFromContainer(&target->root, name, strlen(name), &v);

	*out = NULL;
	if (found == NULL || found->type == jbvNull)
	{
		if (required)
			snprintf(reason, S3_REQUEST_REASON_LEN, "the target has no %s", name);
		return !required;
	}
	if (found->type != jbvString)
	{
		snprintf(reason, S3_REQUEST_REASON_LEN, "%s must be a string", name);
		return false;
	}
	*out = pnstrdup(found->val.string.val, found->val.string.len);
	return true;
}

bool
s3_target_parse(Jsonb *target, S3Target *t, char *reason)
{
	char	   *endpoint;
	char	   *addressing;

	memset(t, 0, sizeof(*t));
	if (target == NULL)
	{
		snprintf(reason, S3_REQUEST_REASON_LEN, "object storage is not configured");
		return false;
	}
	if (!target_string(target, "endpoint", true, &endpoint, reason) ||
		!target_string(target, "addressing", false, &addressing, reason) ||
		!target_string(target, "region", true, &t->region, reason) ||
		!target_string(target, "bucket", true, &t->bucket, reason) ||
		!target_string(target, "access_key_id", true, &t->access_key_id, reason) ||
		!target_string(target, "secret_access_key", true, &t->secret, reason))
	{
		s3_target_wipe(t);
		return false;
	}
	if (!s3_endpoint_parse(endpoint, &t->endpoint, reason))
	{
		s3_target_wipe(t);
		return false;
	}
	if (!s3_bucket_valid(t->bucket))
	{
		snprintf(reason, S3_REQUEST_REASON_LEN, "invalid bucket name");
		s3_target_wipe(t);
		return false;
	}
	t->virtual_host = addressing != NULL && strcmp(addressing, "virtual") == 0;
	return true;
}

void
s3_target_arg(FunctionCallInfo fcinfo, int argno, S3Target *t)
{
	char		reason[S3_REQUEST_REASON_LEN];

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_WIB_EXPORT_STORAGE),
				 errmsg("object storage is not configured"),
				 errhint("An operator configures it with wib.export_storage_configure.")));
	if (!s3_target_parse(PG_GETARG_JSONB_P(argno), t, reason))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid export storage target"),
				 errdetail("%s.", reason)));
}

void
s3_target_wipe(S3Target *t)
{
	if (t->secret != NULL)
	{
		OPENSSL_cleanse(t->secret, strlen(t->secret));
		pfree(t->secret);
		t->secret = NULL;
	}
}

void
s3_call_init(S3Call *c, const char *op, const char *method, const char *key)
{
	memset(c, 0, sizeof(*c));
	c->op = op;
	c->method = method;
	c->key = key;
	strlcpy(c->payload_sha256, SIGV4_EMPTY_SHA256, sizeof(c->payload_sha256));
}

void
s3_call_query(S3Call *c, const char *name, const char *value)
{
	if (c->nquery >= S3_MAX_QUERY)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg_internal("too many query parameters for %s", c->op)));
	c->query[c->nquery].name = name;
	c->query[c->nquery].value = value;
	c->nquery++;
}

void
s3_call_body(S3Call *c, const char *body, size_t len)
{
	HmacPart	part;
	uint8_t		hash[SHA256_LEN];

	part.data = body;
	part.len = len;
	if (!sha256_parts(&part, 1, hash))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute the SHA-256 of a request body")));
	codec_hex_encode(hash, sizeof(hash), c->payload_sha256);
	c->body = body;
	c->body_len = len;
}

void
s3_call_body_unsigned(S3Call *c, const char *body, size_t len)
{
	strlcpy(c->payload_sha256, SIGV4_UNSIGNED_PAYLOAD, sizeof(c->payload_sha256));
	c->body = body;
	c->body_len = len;
}

bool
s3_call_prepare(const S3Target *t, S3Call *c, char *reason)
{
	SigV4Request r;
	SigV4Signed *s = (SigV4Signed *) palloc(sizeof(SigV4Signed));
	char		host[S3_HOST_MAX + 1];
	char		path[S3_KEY_MAX + S3_BUCKET_MAX + 8];
	char		amz_date[SIGV4_DATE_LEN + 1];
	char		areason[S3_REQUEST_REASON_LEN];
	time_t		now = time(NULL);
	struct tm	tm;
	int			nh = 0;

	if (!s3_address(&t->endpoint, t->virtual_host, t->bucket, c->key, host, sizeof(host),
					path, sizeof(path), areason))
	{
		snprintf(reason, SIGV4_REASON_LEN, "%s", areason);
		pfree(s);
		return false;
	}
	gmtime_r(&now, &tm);
	strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);

	memset(&r, 0, sizeof(r));
	r.method = c->method;
	r.use_http = !t->endpoint.https;
	r.host = host;
	r.path = path;
	r.query = c->query;
	r.nquery = c->nquery;
	r.payload_sha256 = c->payload_sha256;
	r.amz_date = amz_date;
	r.region = t->region;
	r.access_key_id = t->access_key_id;
	r.secret_access_key = t->secret;
	if (!sigv4_sign(&r, s, reason))
	{
		pfree(s);
		return false;
	}

	c->header_lines[nh++] = psprintf("Authorization: %s", s->authorization);
	c->header_lines[nh++] = psprintf("x-amz-date: %s", s->amz_date);
	c->header_lines[nh++] = psprintf("x-amz-content-sha256: %s", s->content_sha256);
	if (c->content_type != NULL)
		c->header_lines[nh++] = psprintf("Content-Type: %s", c->content_type);

	/* The operator's endpoint: not a tenant URL, so not guarded; TLS is still verified. */
	http_request_init(&c->req, c->method,
					  psprintf("%s://%s%s", t->endpoint.https ? "https" : "http", host, s->target));
	c->req.guarded = false;
	c->req.headers = c->header_lines;
	c->req.nheaders = nh;
	c->req.body = c->body;
	c->req.body_len = c->body_len;
	c->req.max_response = c->max_response;
	c->req.timeout_ms = export_upload_timeout_ms;
	pfree(s);
	return true;
}

void
s3_call_finish(S3Call *c)
{
	const HttpResult *res = &c->req.result;
	char		root[64];

	c->status = res->status;
	c->code[0] = '\0';
	c->message[0] = '\0';
	if (res->status == 0)
	{
		strlcpy(c->message, res->error[0] ? res->error : "no answer", sizeof(c->message));
		c->outcome = S3_OUTCOME_RETRY;
		return;
	}
	/* An <Error> body, whatever the status (CompleteMultipartUpload may say 200 and fail). */
	if (res->body != NULL && res->body_len > 0 &&
		s3_xml_root(res->body, res->body_len, root, sizeof(root)) && strcmp(root, "Error") == 0)
	{
		if (!s3_xml_text(res->body, res->body_len, "Code", c->code, sizeof(c->code)))
			strlcpy(c->code, "UnknownError", sizeof(c->code));
		if (!s3_xml_text(res->body, res->body_len, "Message", c->message, sizeof(c->message)))
			c->message[0] = '\0';
	}
	c->outcome = s3_classify(res->status, c->code);
	if (c->outcome == S3_OUTCOME_GONE && !c->gone_ok)
		c->outcome = S3_OUTCOME_FAILED;
}

/* "503 SlowDown", "403", or the transport error of a call, for messages. */
static char *
call_what(const S3Call *c)
{
	if (c->status == 0)
		return psprintf("%s", c->message);
	if (c->code[0] != '\0')
		return psprintf("%ld %s", c->status, c->code);
	return psprintf("%ld", c->status);
}

void
s3_raise(const S3Call *c)
{
	char	   *what = call_what(c);
	bool		has_message = c->status != 0 && c->message[0] != '\0';

	switch (c->outcome)
	{
		case S3_OUTCOME_CREDENTIALS:
			ereport(ERROR,
					(errcode(ERRCODE_WIB_EXPORT_STORAGE_CREDENTIALS),
					 errmsg("object storage refused the credentials (%s on %s)", what, c->op),
					 has_message ? errdetail("The store said: %s", c->message) : 0,
					 errhint("Check access_key_id, secret_access_key and region with wib.export_storage_configure.")));
			break;
		case S3_OUTCOME_FULL:
			ereport(ERROR,
					(errcode(ERRCODE_WIB_EXPORT_STORAGE_FULL),
					 errmsg("object storage is full (%s on %s)", what, c->op),
					 has_message ? errdetail("The store said: %s", c->message) : 0,
					 errhint("Free space in the bucket or raise its quota, then request the export again.")));
			break;
		case S3_OUTCOME_RETRY:
			ereport(ERROR,
					(errcode(ERRCODE_WIB_EXPORT_STORAGE),
					 errmsg("object storage failed %s %d times (%s)", c->op, c->attempts, what),
					 has_message ? errdetail("The store said: %s", c->message) : 0,
					 errhint("The store was slow or unavailable; the export can be requested again.")));
			break;
		case S3_OUTCOME_GONE:
		case S3_OUTCOME_FAILED:
		case S3_OUTCOME_OK:
			ereport(ERROR,
					(errcode(ERRCODE_WIB_EXPORT_STORAGE),
					 errmsg("object storage refused %s (%s)", c->op, what),
					 has_message ? errdetail("The store said: %s", c->message) : 0));
			break;
	}
	pg_unreachable();
}

/* Sleeps ms milliseconds, waking for interrupts (cancel, shutdown) but not for latch sets alone. */
static void
s3_backoff(int ms)
{
	TimestampTz until = GetCurrentTimestamp() + (TimestampTz) ms * 1000;

	for (;;)
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), until);

		CHECK_FOR_INTERRUPTS();
		if (left <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * The wait before retrying calls that failed transiently: the backoff of the
 * most tried of them (500 ms, 1 s, 2 s, ...), or a longer Retry-After (up to
 * S3_RETRY_AFTER_MAX_MS).
 */
static int
retry_wait_ms(const S3Call *calls, const int *which, int n)
{
	int			tries = 1;
	int			wait_ms;

	for (int i = 0; i < n; i++)
		tries = Max(tries, calls[which[i]].attempts);
	wait_ms = S3_BACKOFF_FIRST_MS << Min(tries - 1, 10);
	for (int i = 0; i < n; i++)
	{
		int			after = calls[which[i]].req.result.retry_after_seconds;

		if (after > 0)
			wait_ms = Max(wait_ms, Min(after * 1000, S3_RETRY_AFTER_MAX_MS));
	}
	return wait_ms;
}

/*
 * Runs the calls until each is done, counting on from the attempts each has
 * had already; with retrying, the calls failed transiently before and the
 * backoff comes first.
 */
static void
run_calls(const S3Target *t, S3Call *calls, int n, bool retrying)
{
	HttpRequest *reqs = (HttpRequest *) palloc(sizeof(HttpRequest) * Max(n, 1));
	int		   *pending = (int *) palloc(sizeof(int) * Max(n, 1));
	int			npending = n;
	char		reason[SIGV4_REASON_LEN];

	for (int i = 0; i < n; i++)
		pending[i] = i;
	for (;;)
	{
		int			still = 0;
		int			first_fatal = -1;
		int			spent = -1;

		if (retrying)
		{
			int			wait_ms = retry_wait_ms(calls, pending, npending);

			ereport(DEBUG1,
					(errmsg_internal("wib: retrying %d object storage request(s) in %d ms (%s on %s)",
									 npending, wait_ms, call_what(&calls[pending[0]]), calls[pending[0]].op)));
			s3_backoff(wait_ms);
		}
		for (int i = 0; i < npending; i++)
		{
			S3Call	   *c = &calls[pending[i]];

			if (!s3_call_prepare(t, c, reason))
				ereport(ERROR,
						(errcode(ERRCODE_WIB_EXPORT_STORAGE),
						 errmsg("could not sign %s for object storage", c->op),
						 errdetail("%s.", reason)));
			reqs[i] = c->req;
		}
		http_engine_run(reqs, npending);
		for (int i = 0; i < npending; i++)
		{
			S3Call	   *c = &calls[pending[i]];

			c->req.result = reqs[i].result;
			c->attempts++;
			s3_call_finish(c);
			if (c->outcome == S3_OUTCOME_RETRY)
			{
				pending[still++] = pending[i];
				if (c->attempts >= S3_ATTEMPTS && spent < 0)
					spent = pending[i];
			}
			else if (c->outcome != S3_OUTCOME_OK && c->outcome != S3_OUTCOME_GONE && first_fatal < 0)
				first_fatal = pending[i];
		}
		/* Credentials, a full store or a refused request: no retry can help. */
		if (first_fatal >= 0)
			s3_raise(&calls[first_fatal]);
		npending = still;
		if (npending == 0)
			break;
		if (spent >= 0)
			s3_raise(&calls[spent]);
		retrying = true;
	}
	pfree(reqs);
	pfree(pending);
}

void
s3_run(const S3Target *t, S3Call *calls, int n)
{
	run_calls(t, calls, n, false);
}

void
s3_run_again(const S3Target *t, S3Call *calls, int n)
{
	for (int i = 0; i < n; i++)
		if (calls[i].outcome != S3_OUTCOME_RETRY)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg_internal("only calls that failed transiently are run again")));
	run_calls(t, calls, n, true);
}
