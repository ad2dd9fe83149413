/*
 * s3_xml_test.c
 *		S3's XML as the service sends it (InitiateMultipartUploadResult,
 *		CompleteMultipartUploadResult, Error, ListMultipartUploadsResult),
 *		entities, the CompleteMultipartUpload document read back, and the
 *		refusal of truncated and malformed bodies.
 *
 * Build: cc -I src -o s3_xml_test test/kernels/s3_xml_test.c src/export/s3_xml.c src/export/s3_xml_scan.c src/core/utf8.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/s3_xml.h"

#define PLANNED 76

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

static char out[4096];

/* True when element of doc reads as want (NULL: must be refused). */
static int
text_is(const char *doc, const char *element, const char *want)
{
	bool		ok = s3_xml_text(doc, strlen(doc), element, out, sizeof(out));

	if (want == NULL)
	{
		if (ok)
			printf("# %s read as \"%s\", want refusal\n", element, out);
		return !ok;
	}
	if (ok && strcmp(out, want) == 0)
		return 1;
	printf("# %s: got %s\"%s\", want \"%s\"\n", element, ok ? "" : "refusal ", out, want);
	return 0;
}

static const char initiate[] =
"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
"<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
"  <Bucket>wib-exports</Bucket>\n"
"  <Key>tenant 7/calls &amp; notes.csv</Key>\n"
"  <UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>\n"
"</InitiateMultipartUploadResult>";

static const char error_doc[] =
"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
"<Error><Code>SignatureDoesNotMatch</Code>"
"<Message>The request signature we calculated does not match the signature you provided. "
"Check your key and signing method.</Message>"
"<AWSAccessKeyId>AKIAIOSFODNN7EXAMPLE</AWSAccessKeyId>"
"<StringToSign>AWS4-HMAC-SHA256&#10;20130524T000000Z&#10;20130524/us-east-1/s3/aws4_request&#10;"
"7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972</StringToSign>"
"<RequestId>4442587FB7D0A2F9</RequestId>"
"<HostId>eftixk72aD6Ap51TnqcoF8eFidJG9Z/2mkiDFu8yU9AS1ed4OpIszj7UDNEHGran</HostId></Error>";

static const char complete_ok[] =
"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
"<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
"<Location>https://wib-exports.s3.amazonaws.com/calls.csv</Location>"
"<Bucket>wib-exports</Bucket><Key>calls.csv</Key>"
"<ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag>"
"</CompleteMultipartUploadResult>";

/* AWS: CompleteMultipartUpload can answer 200 OK with an Error body. */
static const char complete_error[] =
"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n"
"<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message>"
"<RequestId>656c76696e6727732072657175657374</RequestId>"
"<HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId></Error>";

static const char listing[] =
"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
"<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
"  <Bucket>wib-exports</Bucket>\n"
"  <KeyMarker></KeyMarker>\n"
"  <UploadIdMarker/>\n"
"  <NextKeyMarker>tenant 9/&#x65E5;&#26412;.csv</NextKeyMarker>\n"
"  <NextUploadIdMarker>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</NextUploadIdMarker>\n"
"  <MaxUploads>3</MaxUploads>\n"
"  <IsTruncated>true</IsTruncated>\n"
"  <Upload>\n"
"    <Key>tenant 7/a&lt;b&gt;.csv</Key>\n"
"    <UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw</UploadId>\n"
"    <Initiator>\n"
"      <ID>arn:aws:iam::111122223333:user/wib</ID>\n"
"      <DisplayName>wib</DisplayName>\n"
"    </Initiator>\n"
"    <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>"
"<DisplayName>OwnerDisplayName</DisplayName></Owner>\n"
"    <StorageClass>STANDARD</StorageClass>\n"
"    <Initiated>2010-11-10T20:48:33.000Z</Initiated>\n"
"  </Upload>\n"
"  <!-- R2 puts Initiated first and has no Owner -->\n"
"  <Upload><Initiated>2024-02-29T23:59:59.000Z</Initiated>"
"<UploadId>Ab+c/d==</UploadId><Key>tenant 8/\xc3\xbcn\xc3\xaf &apos;q&apos; &quot;d&quot;.csv</Key></Upload>\n"
"  <Upload>\n"
"    <Key>tenant 9/\xe6\x97\xa5\xe6\x9c\xac.csv</Key>\n"
"    <UploadId>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</UploadId>\n"
"  </Upload>\n"
"  <CommonPrefixes><Prefix>tenant 1/</Prefix></CommonPrefixes>\n"
"</ListMultipartUploadsResult>\n";

static void
test_responses(void)
{
	char		root[64];

	check(text_is(initiate, "UploadId", "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"),
		  "InitiateMultipartUploadResult: UploadId");
	check(text_is(initiate, "Key", "tenant 7/calls & notes.csv"), "InitiateMultipartUploadResult: Key with &amp;");
	check(text_is(initiate, "Bucket", "wib-exports"), "InitiateMultipartUploadResult: Bucket");
	check(text_is(initiate, "ETag", NULL), "absent element: false");
	check(text_is(initiate, "Upload", NULL), "UploadId does not answer for Upload (exact name match)");
	check(text_is(initiate, "InitiateMultipartUploadResult", NULL), "element with children: false");

	check(text_is(error_doc, "Code", "SignatureDoesNotMatch"), "Error: Code");
	check(text_is(error_doc, "Message", "The request signature we calculated does not match the signature "
				  "you provided. Check your key and signing method."), "Error: Message");
	check(text_is(error_doc, "StringToSign", "AWS4-HMAC-SHA256\n20130524T000000Z\n"
				  "20130524/us-east-1/s3/aws4_request\n"
				  "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"),
		  "Error: StringToSign with &#10; line breaks");
	check(s3_xml_root(error_doc, strlen(error_doc), root, sizeof(root)) && strcmp(root, "Error") == 0,
		  "Error: root element");

	check(text_is(complete_ok, "ETag", "\"3858f62230ac3c915f300c664312c11f-9\""),
		  "CompleteMultipartUploadResult: ETag with &quot; quotes");
	check(s3_xml_root(complete_ok, strlen(complete_ok), root, sizeof(root)) &&
		  strcmp(root, "CompleteMultipartUploadResult") == 0, "CompleteMultipartUploadResult: root element");
	check(s3_xml_root(complete_error, strlen(complete_error), root, sizeof(root)) && strcmp(root, "Error") == 0 &&
		  text_is(complete_error, "Code", "InternalError"),
		  "200 OK with an Error body is told apart by its root");
	check(!s3_xml_root(complete_ok, strlen(complete_ok), root, 10), "root name longer than the buffer: false");

	check(text_is(listing, "IsTruncated", "true") && text_is(listing, "NextKeyMarker", "tenant 9/\xe6\x97\xa5\xe6\x9c\xac.csv"),
		  "ListMultipartUploadsResult: IsTruncated and NextKeyMarker (&#x65E5;&#26412; decoded)");
	check(text_is(listing, "KeyMarker", "") && text_is(listing, "UploadIdMarker", ""),
		  "empty <KeyMarker></KeyMarker> and <UploadIdMarker/> read as \"\"");
	check(s3_xml_text_at(listing, strlen(listing), "Key", 2, out, sizeof(out)) &&
		  strcmp(out, "tenant 9/\xe6\x97\xa5\xe6\x9c\xac.csv") == 0, "the third Key by index");
	check(!s3_xml_text_at(listing, strlen(listing), "Key", 3, out, sizeof(out)) &&
		  !s3_xml_text_at(listing, strlen(listing), "Key", -1, out, sizeof(out)), "index past the last, or negative: false");
}

static void
test_entities(void)
{
	check(text_is("<a>&amp;&lt;&gt;&quot;&apos;</a>", "a", "&<>\"'"), "the five predefined entities");
	check(text_is("<a>&#38;&#x26;&#X26;</a>", "a", NULL), "&#X (upper-case x) refused");
	check(text_is("<a>&#38;&#x26;&#65;&#x1F600;&#xe9;</a>", "a", "&&A\xf0\x9f\x98\x80\xc3\xa9"),
		  "decimal and hex references, up to four UTF-8 bytes");
	check(text_is("<a>&nbsp;</a>", "a", NULL), "unknown entity refused");
	check(text_is("<a>fish & chips</a>", "a", NULL), "bare & refused");
	check(text_is("<a>&amp</a>", "a", NULL), "entity without ; refused");
	check(text_is("<a>&#0;</a>", "a", NULL) && text_is("<a>&#x1;</a>", "a", NULL),
		  "references to NUL and control characters refused");
	check(text_is("<a>&#xD800;</a>", "a", NULL) && text_is("<a>&#x110000;</a>", "a", NULL) &&
		  text_is("<a>&#99999999999999999;</a>", "a", NULL),
		  "references to a surrogate, past U+10FFFF, or overflowing refused");
	check(text_is("<a>x\x01y</a>", "a", NULL), "raw control character refused");
	check(text_is("<a>\xc3\x28</a>", "a", NULL) && text_is("<a>\xc0\xaf</a>", "a", NULL) &&
		  text_is("<a>\xef\xbf\xbe</a>", "a", NULL),
		  "invalid UTF-8, an overlong form and U+FFFE refused");
	check(text_is("<a>tab\there\r\nnext</a>", "a", "tab\there\r\nnext"), "tab, CR and LF kept as sent");
	check(text_is("<r><a x='1' y = \"&amp;\">v</a></r>", "a", "v"), "attributes in both quotes skipped");
	check(text_is("<r><a x=1>v</a></r>", "a", NULL), "unquoted attribute refused");
	check(text_is("<r><a x='<'>v</a></r>", "a", NULL), "< in an attribute refused");
	check(text_is("<a>x<!-- note -->y</a>", "a", "xy"), "comment inside text skipped");
}

static void
test_malformed(void)
{
	size_t		len = strlen(initiate);
	int			all = 1;
	char	   *deep;

	/* Every cut of the document, even one after </UploadId>, is refused. */
	for (size_t n = 0; n < len; n++)
	{
		char	   *copy = malloc(n ? n : 1);

		memcpy(copy, initiate, n);
		if (s3_xml_text(copy, n, "UploadId", out, sizeof(out)))
		{
			printf("# prefix of %zu bytes accepted\n", n);
			all = 0;
		}
		free(copy);
	}
	check(all, "every truncation of InitiateMultipartUploadResult refused (no NUL needed)");
	check(text_is("<a><b>x</a></b>", "b", NULL), "crossed end tags refused");
	check(text_is("<a>x</a><b>y</b>", "b", NULL), "second root refused");
	check(text_is("<a>x</a>junk", "a", NULL), "text after the root refused");
	check(text_is("<a>x</a>\n \t", "a", "x"), "blanks after the root accepted");
	check(text_is("<!DOCTYPE a [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><a>&e;</a>", "a", NULL),
		  "DOCTYPE (external entity) refused");
	check(text_is("<a><![CDATA[x]]></a>", "a", NULL), "CDATA refused");
	check(text_is("<a><?pi x?>y</a>", "a", NULL), "processing instruction past the start refused");
	check(text_is(" <?xml version=\"1.0\"?><a>x</a>", "a", NULL), "declaration not at the very start refused");
	check(text_is("<a><!-- a -- b -->x</a>", "a", NULL), "-- inside a comment refused");
	check(text_is("<a>x</a  >", "a", "x") && text_is("<a>x</ a>", "a", NULL), "blanks after an end tag name only");
	check(text_is("<1a>x</1a>", "1a", NULL), "name starting with a digit refused");
	check(text_is("", "a", NULL) && text_is("   ", "a", NULL), "empty document refused");
	check(!s3_xml_text(NULL, 0, "a", out, sizeof(out)), "NULL document refused");
	check(!s3_xml_text("<a>x</a>", 8, "a", out, 0) && !s3_xml_text("<a>x</a>", 8, "", out, sizeof(out)),
		  "no room or no element name: false");

	deep = malloc(40 * 7 + 1);
	deep[0] = '\0';
	for (int i = 0; i < 33; i++)
		strcat(deep, "<a>");
	for (int i = 0; i < 33; i++)
		strcat(deep, "</a>");
	check(!s3_xml_root(deep, strlen(deep), out, sizeof(out)), "33 levels of nesting refused");
	deep[0] = '\0';
	for (int i = 0; i < 32; i++)
		strcat(deep, "<a>");
	for (int i = 0; i < 32; i++)
		strcat(deep, "</a>");
	check(s3_xml_root(deep, strlen(deep), out, sizeof(out)), "32 levels accepted");
	free(deep);

	check(!s3_xml_text("<a>abcd</a>", 11, "a", out, 4) && out[0] == '\0' &&
		  s3_xml_text("<a>abcd</a>", 11, "a", out, 5) && strcmp(out, "abcd") == 0,
		  "text of length n needs n + 1 bytes; refused with n");
	check(!s3_xml_text("<a>&#x1F600;</a>", 16, "a", out, 4) && s3_xml_text("<a>&#x1F600;</a>", 16, "a", out, 5),
		  "the decoded length counts, not the reference's");
}

static void
test_complete(void)
{
	const char *etags[] = {"\"a54357aff0632cce46d942af68356b38\"", "\"0c78aef83f66abc1fa1e8477f296d394\"",
	"\"acbd18db4cc2f85cedef654fccc4a4d8-1\""};
	const char *odd[] = {"<&>'\"\xc3\xa9"};
	const char *bad[] = {"\"x\"", NULL};
	const char *ctl[] = {"\"x\ny\""};
	const char *empty[] = {""};
	const char *notutf8[] = {"\"\xff\""};
	char		doc[1024];
	size_t		n;
	int			ok = 1;

	n = s3_complete_xml(etags, 2, doc, sizeof(doc));
	check(n == strlen(doc) && strcmp(doc,
									 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
									 "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
									 "<Part><PartNumber>1</PartNumber><ETag>&quot;a54357aff0632cce46d942af68356b38&quot;</ETag></Part>"
									 "<Part><PartNumber>2</PartNumber><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag></Part>"
									 "</CompleteMultipartUpload>") == 0,
		  "CompleteMultipartUpload for two parts, quotes escaped");
	n = s3_complete_xml(etags, 3, doc, sizeof(doc));
	for (int i = 0; i < 3; i++)
		ok &= s3_xml_text_at(doc, n, "ETag", i, out, sizeof(out)) && strcmp(out, etags[i]) == 0;
	check(ok, "each ETag reads back by index");
	check(s3_xml_text_at(doc, n, "PartNumber", 2, out, sizeof(out)) && strcmp(out, "3") == 0 &&
		  s3_xml_root(doc, n, out, sizeof(out)) && strcmp(out, "CompleteMultipartUpload") == 0,
		  "part numbers 1..n, root CompleteMultipartUpload");
	n = s3_complete_xml(odd, 1, doc, sizeof(doc));
	check(strstr(doc, "<ETag>&lt;&amp;&gt;&apos;&quot;\xc3\xa9</ETag>") != NULL &&
		  s3_xml_text(doc, n, "ETag", out, sizeof(out)) && strcmp(out, odd[0]) == 0,
		  "all five special characters escaped and read back");
	n = s3_complete_xml(etags, 2, NULL, 0);
	memset(doc, 'x', sizeof(doc));
	check(s3_complete_xml(etags, 2, doc, n) == n && doc[0] == '\0' && doc[n - 1] == 'x',
		  "one byte short: returns the length needed, writes only NUL");
	check(s3_complete_xml(etags, 2, doc, n + 1) == n && strlen(doc) == n, "fits in exactly length + 1 bytes");
	check(s3_complete_xml(etags, 0, doc, sizeof(doc)) == 0 && s3_complete_xml(etags, 10001, doc, sizeof(doc)) == 0 &&
		  s3_complete_xml(NULL, 1, doc, sizeof(doc)) == 0, "0 or 10001 parts, or no ETags: 0");
	check(s3_complete_xml(bad, 2, doc, sizeof(doc)) == 0 && s3_complete_xml(ctl, 1, doc, sizeof(doc)) == 0 &&
		  s3_complete_xml(empty, 1, doc, sizeof(doc)) == 0 && s3_complete_xml(notutf8, 1, doc, sizeof(doc)) == 0,
		  "NULL, empty, control-character or non-UTF-8 ETag: 0");
	{
		const char **many = malloc(sizeof(char *) * S3_XML_MAX_PARTS);
		char	   *big;

		for (int i = 0; i < S3_XML_MAX_PARTS; i++)
			many[i] = etags[i % 3];
		n = s3_complete_xml(many, S3_XML_MAX_PARTS, NULL, 0);
		big = malloc(n + 1);
		check(s3_complete_xml(many, S3_XML_MAX_PARTS, big, n + 1) == n &&
			  s3_xml_text_at(big, n, "PartNumber", 9999, out, sizeof(out)) && strcmp(out, "10000") == 0 &&
			  s3_xml_text_at(big, n, "ETag", 9999, out, sizeof(out)) && strcmp(out, etags[9999 % 3]) == 0,
			  "10000 parts: written and read back");
		free(big);
		free(many);
	}
}

static void
test_listing(void)
{
	S3UploadList l;
	S3Upload	u;
	char		reason[S3_XML_REASON_LEN];
	char	   *doc;
	int			r;

	check(s3_uploads_begin(&l, listing, strlen(listing), reason), "ListMultipartUploadsResult begins");
	check(s3_uploads_next(&l, &u, reason) == 1 && strcmp(u.key, "tenant 7/a<b>.csv") == 0 &&
		  strcmp(u.upload_id, "XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw") == 0 &&
		  strcmp(u.initiated, "2010-11-10T20:48:33.000Z") == 0,
		  "first upload: Key (entities), UploadId, Initiated; Initiator/Owner IDs not taken");
	check(s3_uploads_next(&l, &u, reason) == 1 && strcmp(u.key, "tenant 8/\xc3\xbcn\xc3\xaf 'q' \"d\".csv") == 0 &&
		  strcmp(u.upload_id, "Ab+c/d==") == 0 && strcmp(u.initiated, "2024-02-29T23:59:59.000Z") == 0,
		  "second upload: elements in another order, &apos; and &quot;");
	check(s3_uploads_next(&l, &u, reason) == 1 && strcmp(u.key, "tenant 9/\xe6\x97\xa5\xe6\x9c\xac.csv") == 0 &&
		  u.initiated[0] == '\0', "third upload: no Initiated gives \"\"");
	r = s3_uploads_next(&l, &u, reason);
	check(r == 0 && s3_uploads_next(&l, &u, reason) == 0, "then the end, and the end again (CommonPrefixes ignored)");

	doc = "<ListMultipartUploadsResult><Bucket>b</Bucket><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>";
	check(s3_uploads_begin(&l, doc, strlen(doc), reason) && s3_uploads_next(&l, &u, reason) == 0,
		  "listing with no uploads: 0 at once");
	check(!s3_uploads_begin(&l, initiate, strlen(initiate), reason) && strstr(reason, "ListMultipartUploadsResult"),
		  "another root refused");
	check(!s3_uploads_begin(&l, listing, strlen(listing) - 30, reason) && strstr(reason, "ends inside"),
		  "truncated listing refused before any upload is read");
	doc = "<ListMultipartUploadsResult><Upload><Key>k</Key></Upload></ListMultipartUploadsResult>";
	check(s3_uploads_begin(&l, doc, strlen(doc), reason) && s3_uploads_next(&l, &u, reason) == -1 &&
		  strstr(reason, "UploadId"), "upload without UploadId refused");
	doc = "<ListMultipartUploadsResult><Upload><Key>k</Key><Key>j</Key><UploadId>u</UploadId></Upload>"
		"</ListMultipartUploadsResult>";
	check(s3_uploads_begin(&l, doc, strlen(doc), reason) && s3_uploads_next(&l, &u, reason) == -1 &&
		  strstr(reason, "twice"), "upload with two Keys refused");
	doc = "<ListMultipartUploadsResult><Upload><Key><b>k</b></Key><UploadId>u</UploadId></Upload>"
		"</ListMultipartUploadsResult>";
	check(s3_uploads_begin(&l, doc, strlen(doc), reason) && s3_uploads_next(&l, &u, reason) == -1,
		  "Key with a child element refused");
	doc = "<ListMultipartUploadsResult><Upload/></ListMultipartUploadsResult>";
	check(s3_uploads_begin(&l, doc, strlen(doc), reason) && s3_uploads_next(&l, &u, reason) == -1,
		  "empty <Upload/> refused");
	{
		char	   *big = malloc(S3_KEY_MAX + 200);
		const char *head = "<ListMultipartUploadsResult><Upload><UploadId>u</UploadId><Key>";
		const char *tail = "</Key></Upload></ListMultipartUploadsResult>";

		for (int extra = 0; extra <= 1; extra++)
		{
			size_t		p = strlen(head);

			strcpy(big, head);
			memset(big + p, 'k', S3_KEY_MAX + extra);
			strcpy(big + p + S3_KEY_MAX + extra, tail);
			r = s3_uploads_begin(&l, big, strlen(big), reason) ? s3_uploads_next(&l, &u, reason) : -2;
			if (extra == 0)
				check(r == 1 && strlen(u.key) == S3_KEY_MAX, "key of 1024 bytes accepted");
			else
				check(r == -1 && strstr(reason, "too long") != NULL, "key of 1025 bytes refused");
		}
		free(big);
	}
	memset(&l, 0, sizeof(l));
	check(s3_uploads_next(&l, &u, reason) == -1 && !s3_uploads_begin(NULL, listing, 10, reason),
		  "list not begun refused");
}

int
main(void)
{
	printf("1..%d\n", PLANNED);
	test_responses();
	test_entities();
	test_malformed();
	test_complete();
	test_listing();
	if (test_no != PLANNED)
		printf("# ran %d tests, planned %d\n", test_no, PLANNED);
	return failures == 0 && test_no == PLANNED ? 0 : 1;
}
