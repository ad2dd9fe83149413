/*
 * s3_xml.h
 *		The few XML bodies S3 speaks to wib: reading InitiateMultipartUpload,
 *		CompleteMultipartUpload and Error results and ListMultipartUploads
 *		listings, writing CompleteMultipartUpload requests.
 *
 * Backend-free (libc only), caller-provided buffers, never raises.  Readers
 * are strict: a document must be well-formed as a whole (a body cut short
 * by a dropped connection is refused even when the wanted element came
 * before the cut), without DOCTYPE or CDATA, its text valid UTF-8 with
 * only the five predefined entities and character references.
 */
#ifndef WIB_S3_XML_H
#define WIB_S3_XML_H

#include <stdbool.h>
#include <stddef.h>

#define S3_XML_REASON_LEN	128
#define S3_XML_MAX_DEPTH	32
#define S3_XML_MAX_PARTS	10000	/* S3's limit on parts of one upload */
#define S3_KEY_MAX			1024	/* S3's limit on key length, in bytes */
#define S3_UPLOAD_ID_MAX	1024
#define S3_TIMESTAMP_MAX	64

/*
 * Entity-decoded text of the first <element> (index 0) or the index'th one
 * in document order, NUL-terminated in out.  False when the document is
 * malformed, the element is absent or has child elements, or its text does
 * not fit in cap bytes.  <element/> gives "".
 */
extern bool s3_xml_text(const char *xml, size_t len, const char *element, char *out, size_t cap);
extern bool s3_xml_text_at(const char *xml, size_t len, const char *element, int index,
						   char *out, size_t cap);

/* Name of the root element ("Error", "CompleteMultipartUploadResult", ...); false when malformed. */
extern bool s3_xml_root(const char *xml, size_t len, char *out, size_t cap);

/*
 * Writes the CompleteMultipartUpload document for parts 1..nparts with
 * etags[i] the ETag of part i + 1 (quotes and all, as UploadPart returned
 * it; escaped here).  Returns its length and writes it NUL-terminated when
 * shorter than cap (like snprintf; otherwise only out[0] = '\0').  Returns 0
 * when nparts is not 1..10000 or an ETag is empty, not UTF-8 or has a
 * control character.
 */
extern size_t s3_complete_xml(const char *const *etags, int nparts, char *out, size_t cap);

/* One in-progress upload of a ListMultipartUploadsResult. */
typedef struct S3Upload
{
	char		key[S3_KEY_MAX + 1];
	char		upload_id[S3_UPLOAD_ID_MAX + 1];
	char		initiated[S3_TIMESTAMP_MAX + 1];	/* "" when the listing has none */
} S3Upload;

/* Position in a ListMultipartUploadsResult being read; the document must outlive it. */
typedef struct S3UploadList
{
	const char *xml;
	size_t		len;
	size_t		pos;
	int			depth;
} S3UploadList;

/* Checks the document (well-formed, root ListMultipartUploadsResult) and starts reading it. */
extern bool s3_uploads_begin(S3UploadList *list, const char *xml, size_t len, char *reason);

/*
 * The next <Upload> of the listing into u: 1 when there was one, 0 at the
 * end, -1 (with reason) when an upload lacks its Key or UploadId, has one
 * twice, or a value does not fit.  Pagination (IsTruncated, NextKeyMarker,
 * NextUploadIdMarker) is read with s3_xml_text.
 */
extern int	s3_uploads_next(S3UploadList *list, S3Upload *u, char *reason);

#endif							/* WIB_S3_XML_H */
