/*
 * sigv4_check.c
 *		The checks a request passes before it is signed: method, host, path,
 *		date, region, keys and payload hash, each with the reason it fails.
 *
 * What is refused here could not be sent as signed (a line break in the
 * host, a ".." segment that an HTTP client rewrites) or would be refused by
 * S3 anyway (a key that is not UTF-8).
 */
#include "export/sigv4_check.h"

#include <stdio.h>
#include <string.h>

#include "core/utf8.h"

/* Writes msg into reason (when given) and returns false, so a check reads "return sigv4_fail(...)". */
bool
sigv4_fail(char *reason, const char *msg)
{
	if (reason)
		snprintf(reason, SIGV4_REASON_LEN, "%s", msg);
	return false;
}

/* True when s is 1..max characters, each a digit, a lower-case letter (or upper-case, with upper) or in extra. */
static bool
valid_word(const char *s, size_t max, bool upper, const char *extra)
{
	size_t		len;

	if (s == NULL || (len = strlen(s)) == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			(upper && c >= 'A' && c <= 'Z') || (c != '\0' && strchr(extra, c)))
			continue;
		return false;
	}
	return true;
}

/* True for a YYYYMMDDTHHMMSSZ time stamp with plausible fields. */
static bool
valid_amz_date(const char *d)
{
	int			month,
				day,
				hour,
				minute,
				second;

	if (d == NULL || strlen(d) != SIGV4_DATE_LEN || d[8] != 'T' || d[15] != 'Z')
		return false;
	for (int i = 0; i < 15; i++)
		if (i != 8 && (d[i] < '0' || d[i] > '9'))
			return false;
	month = (d[4] - '0') * 10 + (d[5] - '0');
	day = (d[6] - '0') * 10 + (d[7] - '0');
	hour = (d[9] - '0') * 10 + (d[10] - '0');
	minute = (d[11] - '0') * 10 + (d[12] - '0');
	second = (d[13] - '0') * 10 + (d[14] - '0');
	return month >= 1 && month <= 12 && day >= 1 && day <= 31 &&
		hour < 24 && minute < 60 && second < 61;
}

/* True for lower-case hex of a SHA-256, or UNSIGNED-PAYLOAD. */
static bool
valid_payload_hash(const char *h)
{
	if (h == NULL)
		return false;
	if (strcmp(h, SIGV4_UNSIGNED_PAYLOAD) == 0)
		return true;
	if (strlen(h) != SIGV4_HASH_HEX_LEN)
		return false;
	for (int i = 0; i < SIGV4_HASH_HEX_LEN; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return false;
	return true;
}

/* True when the raw path starts with '/', is UTF-8 and has no "." or ".." segment. */
static bool
valid_path(const char *path, char *reason)
{
	size_t		len = strlen(path);

	if (path[0] != '/')
		return sigv4_fail(reason, "path must start with '/'");
	if (!utf8_valid(path, len))
		return sigv4_fail(reason, "path is not valid UTF-8");
	for (size_t i = 0; i < len; i++)
	{
		size_t		seg;

		if (path[i] != '/')
			continue;
		seg = strcspn(path + i + 1, "/");
		if ((seg == 1 && path[i + 1] == '.') ||
			(seg == 2 && path[i + 1] == '.' && path[i + 2] == '.'))
			return sigv4_fail(reason, "path has a \".\" or \"..\" segment, which HTTP clients rewrite");
	}
	return true;
}

bool
sigv4_check_request(const SigV4Request *r, bool presign, char *reason)
{
	if (r == NULL)
		return sigv4_fail(reason, "no request");
	if (r->method == NULL || r->method[0] == '\0' || strlen(r->method) > 16 ||
		strspn(r->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(r->method))
		return sigv4_fail(reason, "method must be 1 to 16 upper-case letters");
	if (!valid_word(r->host, 255, true, ".-:[]_"))
		return sigv4_fail(reason, "host must be a host name or address with an optional port");
	if (r->path != NULL && r->path[0] != '\0' && !valid_path(r->path, reason))
		return false;
	if (!valid_amz_date(r->amz_date))
		return sigv4_fail(reason, "amz_date must be YYYYMMDDTHHMMSSZ");
	if (!valid_word(r->region, 63, false, "-"))
		return sigv4_fail(reason, "region must be 1 to 63 lower-case letters, digits or '-'");
	if (!valid_word(r->access_key_id, 128, true, "-._~"))
		return sigv4_fail(reason, "access key id must be 1 to 128 letters, digits or -._~");
	if (r->secret_access_key == NULL || r->secret_access_key[0] == '\0' ||
		strlen(r->secret_access_key) > SIGV4_SECRET_MAX)
		return sigv4_fail(reason, "secret access key must be 1 to 256 bytes");
	if (!presign && !valid_payload_hash(r->payload_sha256))
		return sigv4_fail(reason, "payload_sha256 must be 64 lower-case hex digits or UNSIGNED-PAYLOAD");
	if (r->nquery < 0 || r->nquery > SIGV4_MAX_QUERY || (r->nquery > 0 && r->query == NULL))
		return sigv4_fail(reason, "too many query parameters");
	if (r->nheaders < 0 || r->nheaders > SIGV4_MAX_HEADERS || (r->nheaders > 0 && r->headers == NULL))
		return sigv4_fail(reason, "too many headers");
	if (presign && r->nheaders > 0)
		return sigv4_fail(reason, "a presigned URL signs only the host header");
	return true;
}

bool
sigv4_header_name_ok(const char *s)
{
	if (s == NULL || s[0] == '\0' || strlen(s) > 64)
		return false;
	for (const char *p = s; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (!sigv4_unreserved(c) && strchr("!#$%&'*+^`|", c) == NULL)
			return false;
	}
	return true;
}
