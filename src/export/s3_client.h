/*
 * s3_client.h
 *		Requests to S3-compatible object storage from the backend: the target
 *		(endpoint, bucket, credentials), calls signed with SigV4 and sent
 *		through the HTTP engine, retried with backoff when the failure is
 *		transient, and raised with a clear SQLSTATE when it is not.
 */
#ifndef WIB_S3_CLIENT_H
#define WIB_S3_CLIENT_H

#include "fmgr.h"
#include "http/engine.h"
#include "utils/jsonb.h"

#include "export/s3_request.h"
#include "export/sigv4.h"

#define S3_ATTEMPTS				4		/* tries of a request: the first and three retries */
#define S3_BACKOFF_FIRST_MS		500		/* then 1 s, 2 s */
#define S3_RETRY_AFTER_MAX_MS	30000	/* longest Retry-After honoured */
#define S3_MAX_QUERY			6
#define S3_MAX_PARTS_IN_FLIGHT	16		/* the largest wib.export_upload_concurrency */
#define S3_CODE_LEN				64
#define S3_MESSAGE_LEN			256

extern int	export_part_size;
extern int	export_upload_concurrency;
extern int	export_upload_timeout_ms;

/* Where requests go and with which credentials; strings palloc'd, the secret wiped by s3_target_wipe. */
typedef struct S3Target
{
	S3Endpoint	endpoint;
	bool		virtual_host;
	char	   *region;
	char	   *bucket;
	char	   *access_key_id;
	char	   *secret;
} S3Target;

/* One request: its inputs, the prepared HTTP request, and what came of it. */
typedef struct S3Call
{
	const char *op;				/* S3's name of the operation, for messages */
	const char *method;
	const char *key;			/* object key; "" for a bucket request */
	SigV4Pair	query[S3_MAX_QUERY];
	int			nquery;
	const char *body;
	size_t		body_len;
	char		payload_sha256[SIGV4_HASH_HEX_LEN + 1];
	const char *content_type;	/* sent (not signed) when set */
	size_t		max_response;	/* 0: the engine's default */
	bool		gone_ok;		/* 404 NoSuchKey/NoSuchUpload is what the call wanted */

	HttpRequest req;
	const char *header_lines[4];

	S3Outcome	outcome;
	int			attempts;
	long		status;
	char		code[S3_CODE_LEN];
	char		message[S3_MESSAGE_LEN];
} S3Call;

extern void s3_define_settings(void);

/*
 * Reads {endpoint, region, bucket, addressing, access_key_id,
 * secret_access_key}; false with reason (S3_REQUEST_REASON_LEN) when
 * target is NULL or malformed.  Never raises.
 */
extern bool s3_target_parse(Jsonb *target, S3Target *t, char *reason);

/* The target argument argno of a SQL function: WB207 when NULL (not configured), 22023 when malformed. */
extern void s3_target_arg(FunctionCallInfo fcinfo, int argno, S3Target *t);

/* Wipes and frees the copy of the secret. */
extern void s3_target_wipe(S3Target *t);

/* Starts a call with no query and no body (payload hash of the empty body). */
extern void s3_call_init(S3Call *c, const char *op, const char *method, const char *key);
extern void s3_call_query(S3Call *c, const char *name, const char *value);
/* Sets the body; its SHA-256 is computed here and signed. */
extern void s3_call_body(S3Call *c, const char *body, size_t len);

/*
 * Sets the body without hashing it (x-amz-content-sha256: UNSIGNED-PAYLOAD,
 * which S3, R2 and MinIO accept): only over https, where TLS protects the
 * bytes on the way.
 */
extern void s3_call_body_unsigned(S3Call *c, const char *body, size_t len);

/* Signs c now (a fresh x-amz-date) and fills c->req; false with reason (SIGV4_REASON_LEN) when it cannot be signed. */
extern bool s3_call_prepare(const S3Target *t, S3Call *c, char *reason);

/* Reads the outcome of c from c->req.result (status, <Error> code and message). */
extern void s3_call_finish(S3Call *c);

/*
 * Runs the calls, up to wib.export_upload_concurrency at once, retrying the
 * transient failures with backoff (S3_ATTEMPTS tries each, Retry-After
 * honoured up to S3_RETRY_AFTER_MAX_MS); raises WB207, WB208 or WB209 for
 * the first call that cannot succeed.  Returns when every call succeeded
 * (or, with gone_ok, found its object gone).
 */
extern void s3_run(const S3Target *t, S3Call *calls, int n);

/*
 * s3_run for calls that were already tried once elsewhere (sent with
 * http_engine_start) and failed transiently: waits their backoff first and
 * counts their attempts on.
 */
extern void s3_run_again(const S3Target *t, S3Call *calls, int n);

/* Raises the error that c's outcome means. */
extern void s3_raise(const S3Call *c) pg_attribute_noreturn();

#endif							/* WIB_S3_CLIENT_H */
