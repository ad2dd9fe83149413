/*
 * s3_sign.c
 *		A command-line face of the SigV4 kernel, so shell tests can send
 *		requests signed by it with curl to the S3 peer (test/peers/s3.py).
 *
 * Usage: s3_sign [--presign SECONDS] [--http] [--date YYYYMMDDTHHMMSSZ | --date-offset S]
 *                [--region R] [--query NAME=VALUE]... [--header NAME:VALUE]...
 *                [--body FILE | --unsigned] METHOD HOST PATH
 * Keys come from the environment: S3_ACCESS_KEY, S3_SECRET_KEY.
 * Prints "target <path?query>" and one "header <Name>: <value>" line per
 * header to send, or "url <presigned URL>"; exits 1 with the reason when
 * the kernel refuses.
 *
 * Build: cc -I src -o s3_sign test/peers/s3_sign.c src/export/sigv4.c src/export/sigv4_check.c src/core/utf8.c \
 *   src/crypto/hmac.c src/crypto/codec.c -lcrypto
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/codec.h"
#include "crypto/hmac.h"
#include "export/sigv4.h"

/* SHA-256 hex of a file's bytes, read in pieces. */
static bool
file_sha256(const char *path, char hex[SIGV4_HASH_HEX_LEN + 1])
{
	FILE	   *f = fopen(path, "rb");
	size_t		cap = 1 << 20,
				len = 0,
				n;
	char	   *data = malloc(cap);
	HmacPart	part;
	uint8_t		hash[SHA256_LEN];

	if (f == NULL || data == NULL)
		return false;
	while ((n = fread(data + len, 1, cap - len, f)) > 0)
	{
		len += n;
		if (len == cap && (data = realloc(data, cap *= 2)) == NULL)
			return false;
	}
	fclose(f);
	part.data = data;
	part.len = len;
	if (!sha256_parts(&part, 1, hash))
		return false;
	codec_hex_encode(hash, sizeof(hash), hex);
	free(data);
	return true;
}

int
main(int argc, char **argv)
{
	SigV4Request r = {0};
	SigV4Pair	query[SIGV4_MAX_QUERY + 1];
	SigV4Pair	headers[SIGV4_MAX_HEADERS + 1];
	static SigV4Signed s;
	char		reason[SIGV4_REASON_LEN];
	char		date[SIGV4_DATE_LEN + 1];
	char		hash[SIGV4_HASH_HEX_LEN + 1];
	int			presign = 0;
	long		offset = 0;
	int			i;

	r.region = "auto";
	r.payload_sha256 = SIGV4_EMPTY_SHA256;
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++)
	{
		const char *opt = argv[i];
		char	   *arg = i + 1 < argc ? argv[i + 1] : NULL;
		char	   *sep;

		if (strcmp(opt, "--http") == 0)
		{
			r.use_http = true;
			continue;
		}
		if (strcmp(opt, "--unsigned") == 0)
		{
			r.payload_sha256 = SIGV4_UNSIGNED_PAYLOAD;
			continue;
		}
		if (arg == NULL)
			break;
		i++;
		if (strcmp(opt, "--presign") == 0)
			presign = atoi(arg);
		else if (strcmp(opt, "--date") == 0)
			r.amz_date = arg;
		else if (strcmp(opt, "--date-offset") == 0)
			offset = atol(arg);
		else if (strcmp(opt, "--region") == 0)
			r.region = arg;
		else if (strcmp(opt, "--body") == 0)
		{
			if (!file_sha256(arg, hash))
			{
				fprintf(stderr, "s3_sign: cannot read %s\n", arg);
				return 2;
			}
			r.payload_sha256 = hash;
		}
		else if (strcmp(opt, "--query") == 0 && r.nquery <= SIGV4_MAX_QUERY)
		{
			query[r.nquery].name = arg;
			sep = strchr(arg, '=');
			query[r.nquery].value = sep ? sep + 1 : "";
			if (sep)
				*sep = '\0';
			r.nquery++;
		}
		else if (strcmp(opt, "--header") == 0 && r.nheaders <= SIGV4_MAX_HEADERS &&
				 (sep = strchr(arg, ':')) != NULL)
		{
			*sep = '\0';
			headers[r.nheaders].name = arg;
			headers[r.nheaders].value = sep + 1;
			r.nheaders++;
		}
		else
		{
			fprintf(stderr, "s3_sign: bad option %s\n", opt);
			return 2;
		}
	}
	if (argc - i != 3)
	{
		fprintf(stderr, "usage: s3_sign [options] METHOD HOST PATH\n");
		return 2;
	}
	r.method = argv[i];
	r.host = argv[i + 1];
	r.path = argv[i + 2];
	r.query = query;
	r.headers = headers;
	r.access_key_id = getenv("S3_ACCESS_KEY");
	r.secret_access_key = getenv("S3_SECRET_KEY");
	if (r.amz_date == NULL)
	{
		time_t		now = time(NULL) + offset;
		struct tm	tm;

		strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
		r.amz_date = date;
	}

	if (presign)
	{
		char		url[SIGV4_TARGET_MAX + 512];

		if (!sigv4_presign(&r, presign, url, sizeof(url), reason))
		{
			fprintf(stderr, "s3_sign: %s\n", reason);
			return 1;
		}
		printf("url %s\n", url);
		return 0;
	}
	if (!sigv4_sign(&r, &s, reason))
	{
		fprintf(stderr, "s3_sign: %s\n", reason);
		return 1;
	}
	printf("target %s\n", s.target);
	printf("header Authorization: %s\n", s.authorization);
	printf("header x-amz-date: %s\n", s.amz_date);
	printf("header x-amz-content-sha256: %s\n", s.content_sha256);
	return 0;
}
