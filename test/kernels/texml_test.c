/*
 * texml_test.c
 *		The TeXML kernels: the escaper on the cases of sql/30_ivr.sql (invalid
 *		UTF-8, emoji, controls, markup, noncharacters, surrogates), the
 *		document writer's output and every misuse it refuses, and Telnyx's
 *		rules for voices, languages, URLs and numbers.
 *
 * Build: cc -I src -o texml_test test/kernels/texml_test.c src/ivr/texml_escape.c \
 *   src/ivr/texml_doc.c src/ivr/texml_rules.c src/core/bytebuf.c src/core/utf8.c
 */
#include <stdio.h>
#include <string.h>

#include "core/bytebuf.h"
#include "ivr/texml_doc.h"
#include "ivr/texml_escape.h"
#include "ivr/texml_rules.h"

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

/* True when escaping in (len bytes) gives want. */
static int
escapes_to(const char *in, size_t len, bool in_attr, const char *want)
{
	ByteBuf		b;
	int			ok;

	bytebuf_init(&b, NULL, NULL, 0);
	texml_escape(&b, in, len, in_attr);
	ok = b.len == strlen(want) && (b.len == 0 || memcmp(b.data, want, b.len) == 0);
	if (!ok)
		printf("# got \"%.*s\", want \"%s\"\n", (int) b.len, b.data ? b.data : "", want);
	bytebuf_free(&b);
	return ok;
}

/* Runs a writer misuse after an open "Say" and returns the status it ends with. */
static TexmlStatus
misuse(int which)
{
	ByteBuf		b;
	TexmlDoc	d;
	TexmlStatus s;

	bytebuf_init(&b, NULL, NULL, 0);
	texml_doc_begin(&d, &b);
	texml_doc_open(&d, "Say");
	switch (which)
	{
		case 0:
			texml_doc_text(&d, "x", 1);
			texml_doc_attr(&d, "voice", "woman");
			break;
		case 1:
			texml_doc_attr(&d, "voice", "woman");
			texml_doc_attr(&d, "voice", "man");
			break;
		case 2:
			texml_doc_open(&d, "bad name");
			break;
		case 3:
			texml_doc_attr(&d, "x\"y", "1");
			break;
		case 4:
			for (int i = 0; i < TEXML_MAX_DEPTH; i++)
				texml_doc_open(&d, "Say");
			break;
		case 5:
			texml_doc_attr_int(&d, "timeout", 121, 1, 120);
			break;
		case 6:
			texml_doc_close(&d);
			texml_doc_close(&d);
			texml_doc_close(&d);
			break;
		case 7:
			texml_doc_close(&d);
			texml_doc_close(&d);
			texml_doc_open(&d, "Say");
			break;
		case 8:
			{
				static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i",
				"j", "k", "l", "m", "n", "o", "p", "q"};

				for (int i = 0; i < 17; i++)
					texml_doc_attr(&d, names[i], "1");
				break;
			}
	}
	s = texml_doc_finish(&d);
	if (texml_doc_open(&d, "Say") || texml_doc_close(&d))
		s = TEXML_OK;			/* a stopped writer must stay stopped */
	bytebuf_free(&b);
	return s;
}

int
main(void)
{
	ByteBuf		b;
	TexmlDoc	d;
	TexmlStatus s;
	const char *want;

	printf("1..18\n");

	/* The escaper, as sql/30_ivr.sql shows it. */
	check(escapes_to("\x41\xc3\x28\xe2\x82\xff\x42", 7, false,
					 "A\xEF\xBF\xBD(\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "B"),
		  "each byte of an invalid UTF-8 sequence becomes one U+FFFD");
	check(escapes_to("tu\xf0\x9f\x98\x80", 6, false, "tu\xf0\x9f\x98\x80") &&
		  escapes_to("\xf0\x9f\x98", 3, false, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"),
		  "an emoji passes; a truncated one becomes a U+FFFD per byte");
	check(escapes_to("\x01\x09\x0a\x0d\x1f\x7f", 6, false, " \t\n&#13;  ") &&
		  escapes_to("\x01\x09\x0a\x0d\x1f\x7f", 6, true, " &#9;&#10;&#13;  "),
		  "controls become spaces; tab and LF stay (references in attributes); CR is always &#13;");
	check(escapes_to("a\"b'c<d>e&f", 11, true, "a&quot;b&apos;c&lt;d&gt;e&amp;f") &&
		  escapes_to("a\"b'c<d>e&f]]>", 14, false, "a\"b'c&lt;d&gt;e&amp;f]]&gt;"),
		  "markup characters are escaped, quotes only in attributes, so ]]> never appears");
	check(escapes_to("\xef\xbf\xbe\xef\xbf\xbf", 6, false, "\xEF\xBF\xBD\xEF\xBF\xBD") &&
		  escapes_to("\xed\xa0\x80", 3, false, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD") &&
		  escapes_to("\xc2\x85\xc2\xa0", 4, false, " \xc2\xa0") &&
		  escapes_to("a\0b", 3, false, "a b"),
		  "U+FFFE/U+FFFF and surrogates become U+FFFD, C1 controls and NUL a space, U+00A0 stays");

	/* A document. */
	bytebuf_init(&b, NULL, NULL, 0);
	texml_doc_begin(&d, &b);
	texml_doc_open(&d, "Gather");
	texml_doc_attr(&d, "action", "https://x.example/ivr/gather?a=1&b=2");
	texml_doc_attr(&d, "validDigits", NULL);
	texml_doc_attr_int(&d, "timeout", 8, 1, 120);
	texml_doc_open(&d, "Say");
	texml_doc_attr(&d, "voice", "Polly.Joanna-Neural");
	texml_doc_text(&d, "Press <1> & \"go\"", 16);
	texml_doc_close(&d);
	texml_doc_close(&d);
	texml_doc_open(&d, "Hangup");
	s = texml_doc_finish(&d);
	want = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>"
		"<Gather action=\"https://x.example/ivr/gather?a=1&amp;b=2\" timeout=\"8\">"
		"<Say voice=\"Polly.Joanna-Neural\">Press &lt;1&gt; &amp; \"go\"</Say></Gather>"
		"<Hangup/></Response>";
	check(s == TEXML_OK && b.len == strlen(want) && strcmp(b.data, want) == 0,
		  "a document: declaration, escaped attributes and text, NULL attributes left out, empty elements as <x/>, all closed");
	if (s != TEXML_OK || strcmp(b.data, want) != 0)
		printf("# got %s\n", b.data);
	bytebuf_free(&b);

	/* Found by test/fuzz/texml_fuzz.c (corpus: finding_reused_names): names are copied. */
	{
		char		name[16];
		bool		ok;

		bytebuf_init(&b, NULL, NULL, 0);
		texml_doc_begin(&d, &b);
		strcpy(name, "Say");
		texml_doc_open(&d, name);
		strcpy(name, "voice");
		texml_doc_attr(&d, name, "woman");
		strcpy(name, "Play");
		texml_doc_text(&d, "hi", 2);
		texml_doc_close(&d);
		strcpy(name, "voice");
		texml_doc_open(&d, "Dial");
		texml_doc_attr(&d, name, "x");
		strcpy(name, "timeout");
		texml_doc_attr(&d, name, "5");
		strcpy(name, "voice");
		ok = !texml_doc_attr(&d, name, "y") && d.status == TEXML_DUPLICATE_ATTR &&
			strcmp(b.data, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say voice=\"woman\">hi</Say>"
				   "<Dial voice=\"x\" timeout=\"5\"") == 0;
		check(ok, "names built in a buffer the caller reuses: an element closes with the name it opened with, repeats are seen");
		bytebuf_free(&b);
	}

	bytebuf_init(&b, NULL, NULL, 0);
	texml_doc_begin(&d, &b);
	check(texml_doc_finish(&d) == TEXML_OK &&
		  strcmp(b.data, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>") == 0,
		  "an empty document is <Response/>");
	bytebuf_free(&b);

	/* Misuse stops the writer with its status. */
	check(misuse(0) == TEXML_ATTR_AFTER_CONTENT && misuse(1) == TEXML_DUPLICATE_ATTR,
		  "an attribute after content or written twice is refused");
	check(misuse(2) == TEXML_BAD_NAME && misuse(3) == TEXML_BAD_NAME,
		  "element and attribute names that are not plain ASCII names are refused");
	check(misuse(4) == TEXML_TOO_DEEP && misuse(8) == TEXML_TOO_MANY_ATTRS,
		  "nesting deeper than TEXML_MAX_DEPTH and more than TEXML_MAX_ATTRS attributes are refused");
	check(misuse(5) == TEXML_ATTR_RANGE, "an integer attribute outside its range is refused");
	check(misuse(6) == TEXML_NOTHING_OPEN && misuse(7) == TEXML_COMPLETE,
		  "closing past the root, or writing after it, is refused (one root only)");
	check(strcmp(texml_status_string(TEXML_TOO_DEEP), "elements nested too deeply") == 0 &&
		  strcmp(texml_status_string((TexmlStatus) 99), "unknown status") == 0,
		  "statuses have descriptions");

	/* Telnyx's rules. */
	check(texml_is_voice("woman") && texml_is_voice("Polly.Joanna") && texml_is_voice("Polly.Joanna-Neural") &&
		  !texml_is_voice("Polly.") && !texml_is_voice("Polly.-Neural") && !texml_is_voice("Polly.Joanna-Standard") && !texml_is_voice("robot") &&
		  !texml_is_voice("Polly.Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") && !texml_is_voice(NULL),
		  "voices: man, woman, alice, Polly.<Id>[-Neural] up to 40 bytes");
	check(texml_is_language("en-US") && texml_is_language("arb") && texml_is_language("cmn-CN") &&
		  !texml_is_language("e") && !texml_is_language("EN-us") && !texml_is_language("en-") &&
		  !texml_is_language("en-USAXX") && !texml_is_language(""),
		  "languages: 2-3 lower-case letters, then optionally - and 2-4 letters or digits");
	check(texml_is_url("https://x.example/a.mp3", false) && texml_is_url("HTTP://x", false) &&
		  !texml_is_url("https://", false) && !texml_is_url("ftp://x", false) &&
		  !texml_is_url("https://x y", false) && !texml_is_url("https://x\xc3\xa9", false) &&
		  texml_is_url("gather", true) && !texml_is_url("", true),
		  "URLs: http(s) with a host-part (or relative when allowed), printable ASCII, no spaces");
	check(texml_is_e164("+15551234567") && texml_is_e164("+12") && !texml_is_e164("+1") &&
		  !texml_is_e164("+0123456") && !texml_is_e164("15551234567") &&
		  !texml_is_e164("+1234567890123456") && !texml_is_e164("+1555-123"),
		  "E.164: +, a non-zero digit, 2 to 15 digits in all");

	printf("# %d failed\n", failures);
	return failures ? 1 : 0;
}
