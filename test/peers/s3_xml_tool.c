/*
 * s3_xml_tool.c
 *		A command-line face of the S3 XML kernel, so shell tests can read
 *		the S3 peer's answers and write CompleteMultipartUpload with it.
 *
 * Usage: s3_xml_tool text ELEMENT [INDEX] < doc     the element's text
 *        s3_xml_tool root < doc                     the root element's name
 *        s3_xml_tool uploads < doc                  "key<TAB>upload id<TAB>initiated" per upload
 *        s3_xml_tool complete ETAG...               the CompleteMultipartUpload document
 * Exits 1 when the kernel refuses the document.
 *
 * Build: cc -I src -o s3_xml_tool test/peers/s3_xml_tool.c src/export/s3_xml.c src/export/s3_xml_scan.c src/core/utf8.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/s3_xml.h"

/* All of stdin; *len gets its length. */
static char *
read_stdin(size_t *len)
{
	size_t		cap = 1 << 16,
				n;
	char	   *buf = malloc(cap);

	*len = 0;
	while (buf != NULL && (n = fread(buf + *len, 1, cap - *len, stdin)) > 0)
		if ((*len += n) == cap)
			buf = realloc(buf, cap *= 2);
	return buf;
}

int
main(int argc, char **argv)
{
	static char out[1 << 16];
	char		reason[S3_XML_REASON_LEN];
	size_t		len;
	char	   *doc;

	if (argc >= 3 && strcmp(argv[1], "complete") == 0)
	{
		size_t		need = s3_complete_xml((const char *const *) argv + 2, argc - 2, NULL, 0);
		char	   *xml = malloc(need + 1);

		if (need == 0 || s3_complete_xml((const char *const *) argv + 2, argc - 2, xml, need + 1) != need)
			return 1;
		fputs(xml, stdout);
		return 0;
	}
	if (argc < 2 || (doc = read_stdin(&len)) == NULL)
		return 2;
	if (strcmp(argv[1], "text") == 0 && argc >= 3)
	{
		if (!s3_xml_text_at(doc, len, argv[2], argc > 3 ? atoi(argv[3]) : 0, out, sizeof(out)))
			return 1;
		printf("%s\n", out);
	}
	else if (strcmp(argv[1], "root") == 0)
	{
		if (!s3_xml_root(doc, len, out, sizeof(out)))
			return 1;
		printf("%s\n", out);
	}
	else if (strcmp(argv[1], "uploads") == 0)
	{
		S3UploadList l;
		static S3Upload u;
		int			r;

		if (!s3_uploads_begin(&l, doc, len, reason))
		{
			fprintf(stderr, "s3_xml_tool: %s\n", reason);
			return 1;
		}
		while ((r = s3_uploads_next(&l, &u, reason)) == 1)
			printf("%s\t%s\t%s\n", u.key, u.upload_id, u.initiated);
		if (r < 0)
		{
			fprintf(stderr, "s3_xml_tool: %s\n", reason);
			return 1;
		}
	}
	else
		return 2;
	return 0;
}
