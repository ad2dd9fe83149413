/*
 * s3_xml_fuzz.c
 *		libFuzzer target for the S3 XML readers and writer: on any bytes the
 *		readers stay inside the input (given without a NUL terminator) and
 *		the output buffer, and what they return is NUL-terminated UTF-8;
 *		the lines of the input taken as ETags either make a
 *		CompleteMultipartUpload document whose ETags and part numbers read
 *		back exactly, or are refused for a reason the writer states.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o s3_xml_fuzz \
 *   test/fuzz/s3_xml_fuzz.c src/export/s3_xml.c src/export/s3_xml_scan.c src/core/utf8.c
 * Run:   ./s3_xml_fuzz -max_total_time=60 test/fuzz/corpus/s3_xml
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "export/s3_xml.h"

#define MAX_ETAGS 64

static const char *const elements[] = {"Key", "UploadId", "Code", "Message", "ETag", "a", "Initiated"};

/* The readers on the input; out is exactly cap bytes so ASan sees any overrun. */
static void
read_all(const char *xml, size_t len, size_t cap)
{
	char	   *out = malloc(cap);
	S3UploadList l;
	S3Upload   *u = malloc(sizeof(S3Upload));
	char		reason[S3_XML_REASON_LEN];

	for (size_t i = 0; i < sizeof(elements) / sizeof(elements[0]); i++)
		for (int idx = 0; idx < 2; idx++)
			if (s3_xml_text_at(xml, len, elements[i], idx, out, cap) &&
				(strlen(out) >= cap || !utf8_valid(out, strlen(out))))
				abort();
	if (s3_xml_root(xml, len, out, cap) && strlen(out) >= cap)
		abort();
	if (s3_uploads_begin(&l, xml, len, reason))
	{
		int			r;
		int			n = 0;

		while ((r = s3_uploads_next(&l, u, reason)) == 1 && n++ < 10000)
			if (u->key[0] == '\0' || u->upload_id[0] == '\0' ||
				!utf8_valid(u->key, strlen(u->key)))
				abort();
	}
	free(u);
	free(out);
}

/* True when the writer must refuse e. */
static int
bad_etag(const char *e)
{
	size_t		n = strlen(e);

	if (n == 0 || n > 1024 || !utf8_valid(e, n))
		return 1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) e[i] < 0x20 || e[i] == 0x7f)
			return 1;
	return 0;
}

/* Writes the input's lines as ETags and reads each back. */
static void
complete_round_trip(const uint8_t *data, size_t size)
{
	char	   *copy = malloc(size + 1);
	const char *etags[MAX_ETAGS];
	int			n = 0;
	int			any_bad = 0;
	char	   *p;
	size_t		need;

	memcpy(copy, data, size);
	copy[size] = '\0';
	for (p = copy; n < MAX_ETAGS;)
	{
		char	   *nl = strchr(p, '\n');

		etags[n++] = p;
		if (nl == NULL)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	for (int i = 0; i < n; i++)
		any_bad |= bad_etag(etags[i]);

	need = s3_complete_xml(etags, n, NULL, 0);
	if ((need == 0) != any_bad)
		abort();
	if (need > 0)
	{
		char	   *doc = malloc(need + 1);
		char		out[1100];
		char		num[16];

		if (s3_complete_xml(etags, n, doc, need + 1) != need || strlen(doc) != need)
			abort();
		for (int i = 0; i < n; i++)
		{
			snprintf(num, sizeof(num), "%d", i + 1);
			if (!s3_xml_text_at(doc, need, "ETag", i, out, sizeof(out)) || strcmp(out, etags[i]) != 0)
				abort();
			if (!s3_xml_text_at(doc, need, "PartNumber", i, out, sizeof(out)) || strcmp(out, num) != 0)
				abort();
		}
		if (s3_xml_text_at(doc, need, "ETag", n, out, sizeof(out)))
			abort();
		/* One byte short: the length, and only a NUL written. */
		if (s3_complete_xml(etags, n, doc, need) != need || doc[0] != '\0')
			abort();
		free(doc);
	}
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *xml = malloc(size ? size : 1);

	memcpy(xml, data, size);
	read_all(xml, size, 1 + (size ? data[0] % 64 : 0));
	read_all(xml, size, 2048);
	free(xml);
	complete_round_trip(data, size);
	return 0;
}
