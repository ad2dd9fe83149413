/*
 * s3_request_fuzz.c
 *		libFuzzer target for the S3 request kernel: an endpoint that parses
 *		has a lower-case Host of allowed characters without a default port,
 *		and parsing its normal form gives it back unchanged (what is signed
 *		is stable); addresses are NUL-terminated within their buffers or
 *		refused; every status and code has exactly one answer class.
 *
 * Input: endpoint, bucket, key and S3 error code separated by NUL bytes;
 * the first two bytes of the input are also read as an HTTP status.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o s3_request_fuzz \
 *   test/fuzz/s3_request_fuzz.c src/export/s3_request.c
 * Run:   ./s3_request_fuzz -max_total_time=60 test/fuzz/corpus/s3_request
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/s3_request.h"

#define NFIELDS 4

static int
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' ||
		c == '[' || c == ']';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *copy = malloc(size + NFIELDS);
	const char *field[NFIELDS];
	size_t		pos = 0;
	S3Endpoint	ep;
	S3Endpoint	again;
	char		reason[S3_REQUEST_REASON_LEN];
	char		normal[S3_HOST_MAX + 16];
	long		status = size >= 2 ? (long) (data[0] | (data[1] << 8)) % 1000 : 0;
	S3Outcome	outcome;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	memset(copy + size, 0, NFIELDS);
	for (int i = 0; i < NFIELDS; i++)
	{
		field[i] = copy + pos;
		pos += strlen(copy + pos) + 1;
		if (pos > size)
			pos = size;
	}

	if (s3_endpoint_parse(field[0], &ep, reason))
	{
		size_t		n = strlen(ep.host);

		if (n == 0 || n > S3_HOST_MAX)
			abort();
		for (size_t i = 0; i < n; i++)
			if (!host_char(ep.host[i]))
				abort();
		if ((ep.https && n > 4 && strcmp(ep.host + n - 4, ":443") == 0 && ep.host[0] != '[') ||
			(!ep.https && n > 3 && strcmp(ep.host + n - 3, ":80") == 0 && ep.host[0] != '['))
			abort();
		snprintf(normal, sizeof(normal), "%s://%s", ep.https ? "https" : "http", ep.host);
		if (!s3_endpoint_parse(normal, &again, reason) || again.https != ep.https ||
			strcmp(again.host, ep.host) != 0)
			abort();

		for (int virtual_host = 0; virtual_host <= 1; virtual_host++)
		{
			char		host[64];
			char		path[128];

			memset(host, 'x', sizeof(host));
			memset(path, 'x', sizeof(path));
			if (s3_address(&ep, virtual_host, field[1], field[2], host, sizeof(host), path, sizeof(path), reason))
			{
				if (memchr(host, '\0', sizeof(host)) == NULL || memchr(path, '\0', sizeof(path)) == NULL)
					abort();
				if (!s3_bucket_valid(field[1]) || path[0] != '/')
					abort();
			}
			else if (reason[0] == '\0')
				abort();
		}
	}
	else if (reason[0] == '\0')
		abort();

	outcome = s3_classify(status, field[3]);
	if (outcome < S3_OUTCOME_OK || outcome > S3_OUTCOME_FAILED || s3_outcome_name(outcome) == NULL)
		abort();
	if (status == 0 && outcome != S3_OUTCOME_RETRY)
		abort();
	if (status >= 200 && status < 300 && field[3][0] == '\0' && outcome != S3_OUTCOME_OK)
		abort();
	free(copy);
	return 0;
}
