/*
 * texml_fuzz.c
 *		libFuzzer target of the TeXML escaper and document writer
 *		(src/ivr/texml_escape.c, src/ivr/texml_doc.c).
 *
 * Properties, for any input:
 *	- the input escaped as text and as an attribute value, put in a
 *	  document, is well-formed XML (xml_check.h) whose text and attribute
 *	  value read back as the input with each invalid UTF-8 byte as U+FFFD,
 *	  each control XML forbids (and U+007F-U+009F) as a space and U+FFFE,
 *	  U+FFFF as U+FFFD: tab, line feed and carriage return survive, in
 *	  attributes too;
 *	- the input read as a program of writer calls (open, attribute, integer
 *	  attribute, text, close, with names from a list or from the input):
 *	  the writer fails exactly when the program misuses it, with the status
 *	  the misuse calls for, and otherwise its document is well-formed XML
 *	  saying exactly what the program wrote.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -I test/fuzz -o texml_fuzz \
 *   test/fuzz/texml_fuzz.c src/ivr/texml_doc.c src/ivr/texml_escape.c src/core/bytebuf.c src/core/utf8.c
 * Run:   ./texml_fuzz -max_total_time=60 test/fuzz/corpus/texml   (or make fuzz)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytebuf.h"
#include "ivr/texml_doc.h"
#include "ivr/texml_escape.h"
#include "xml_check.h"

static const char *const names[] = {
	"Say", "Gather", "Play", "Redirect", "Dial", "Number", "Record", "Hangup", "Reject",
	"voice", "language", "action", "method", "timeout", "numDigits", "input",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

/* Stops the run with what went wrong (libFuzzer keeps the input). */
static void
fail(const char *what, const char *detail)
{
	fprintf(stderr, "texml_fuzz: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

/* What an XML reader must see for s[0..len) (the rules of texml_escape.c), from the specification. */
static void
expected_text(ByteBuf *out, const unsigned char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		uint32_t	cp;
		int			n = xml_utf8(s + i, s + len, &cp);

		if (n == 0)
		{
			xml_put_cp(out, 0xFFFD);
			i++;
			continue;
		}
		if (cp == 0x9 || cp == 0xA || cp == 0xD)
			xml_put_cp(out, cp);
		else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
			bytebuf_putc(out, ' ');
		else if (cp == 0xFFFE || cp == 0xFFFF)
			xml_put_cp(out, 0xFFFD);
		else
			xml_put_cp(out, cp);
		i += n;
	}
}

/* Checks doc is well-formed and says what expected says. */
static void
check_document(const ByteBuf *doc, const ByteBuf *expected)
{
	XmlCheck	x;
	ByteBuf		events;

	bytebuf_init(&events, NULL, NULL, 0);
	if (!xml_check(&x, doc->data, doc->len, &events))
	{
		fprintf(stderr, "document: %.*s\n", (int) doc->len, doc->data);
		fail("the document is not well-formed", x.error);
	}
	if (events.len != expected->len || memcmp(events.data, expected->data, events.len) != 0)
	{
		fprintf(stderr, "document: %.*s\nread:     %.*s\nexpected: %.*s\n", (int) doc->len, doc->data,
				(int) events.len, events.data, (int) expected->len, expected->data);
		fail("the document does not say what was written", NULL);
	}
	bytebuf_free(&events);
}

/* The escaper alone: data as text and as an attribute value. */
static void
check_escaper(const uint8_t *data, size_t size)
{
	ByteBuf		doc;
	ByteBuf		want;
	ByteBuf		value;
	char		head[32];

	bytebuf_init(&doc, NULL, NULL, 0);
	bytebuf_init(&want, NULL, NULL, 0);
	bytebuf_init(&value, NULL, NULL, 0);
	bytebuf_puts(&doc, "<a v=\"");
	texml_escape(&doc, (const char *) data, size, true);
	bytebuf_puts(&doc, "\">");
	texml_escape(&doc, (const char *) data, size, false);
	bytebuf_puts(&doc, "</a>");

	expected_text(&value, data, size);
	snprintf(head, sizeof(head), "<a v=%zu:", value.len);
	bytebuf_puts(&want, head);
	bytebuf_append(&want, value.data, value.len);
	bytebuf_putc(&want, '>');
	if (value.len > 0)
	{
		snprintf(head, sizeof(head), "T%zu:", value.len);
		bytebuf_puts(&want, head);
		bytebuf_append(&want, value.data, value.len);
	}
	bytebuf_putc(&want, '/');
	if (doc.failed || want.failed)
		fail("out of memory", NULL);
	check_document(&doc, &want);
	bytebuf_free(&doc);
	bytebuf_free(&want);
	bytebuf_free(&value);
}

/* The input, consumed as the program runs. */
typedef struct Program
{
	const uint8_t *p;
	const uint8_t *end;
} Program;

static int
next_byte(Program *g)
{
	return g->p < g->end ? *g->p++ : 0;
}

/* A run of up to 63 bytes of the input (its length first). */
static size_t
next_bytes(Program *g, const uint8_t **bytes)
{
	size_t		n = next_byte(g) & 63;

	if (n > (size_t) (g->end - g->p))
		n = g->end - g->p;
	*bytes = g->p;
	g->p += n;
	return n;
}

/* A name: mostly one of the list, sometimes bytes of the input (maybe not a name). */
static const char *
next_name(Program *g, char *own, size_t size)
{
	int			b = next_byte(g);

	if (b < 224)
		return names[b % NNAMES];
	{
		const uint8_t *bytes;
		size_t		n = next_bytes(g, &bytes);

		if (n >= size)
			n = size - 1;
		memcpy(own, bytes, n);
		own[n] = '\0';
		return own;
	}
}

/* True for a name the writer must accept: an ASCII letter, then letters and digits, at most 32. */
static bool
plain_name(const char *s)
{
	size_t		n = strlen(s);

	if (n == 0 || n > TEXML_MAX_NAME ||
		!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/* The writer's state as the program must see it. */
typedef struct Model
{
	ByteBuf		events;			/* what the document must say */
	ByteBuf		text;			/* character data not yet in events */
	ByteBuf		tag;			/* the open start tag's name and attributes */
	int			depth;
	bool		pending;
	char		attrs[TEXML_MAX_ATTRS][64];
	int			nattrs;
} Model;

static void
model_flush(Model *m)
{
	char		head[32];

	if (m->pending)
	{
		bytebuf_append(&m->events, m->tag.data, m->tag.len);
		bytebuf_putc(&m->events, '>');
		bytebuf_reset(&m->tag);
		m->pending = false;
	}
	if (m->text.len > 0)
	{
		snprintf(head, sizeof(head), "T%zu:", m->text.len);
		bytebuf_puts(&m->events, head);
		bytebuf_append(&m->events, m->text.data, m->text.len);
		bytebuf_reset(&m->text);
	}
}

static void
model_open(Model *m, const char *name)
{
	model_flush(m);
	bytebuf_putc(&m->tag, '<');
	bytebuf_puts(&m->tag, name);
	m->pending = true;
	m->nattrs = 0;
	m->depth++;
}

/* Checks the writer's answer against the expected status; false when the program must stop. */
static bool
expect(TexmlDoc *d, bool ok, TexmlStatus want, const char *call)
{
	char		detail[128];

	if (ok != (want == TEXML_OK) || d->status != want)
	{
		snprintf(detail, sizeof(detail), "%s: got %s (%s), expected %s", call,
				 ok ? "true" : "false", texml_status_string(d->status), texml_status_string(want));
		fail("the writer's answer", detail);
	}
	return ok;
}

/* Runs the input as a program of writer calls, checking each answer and the document. */
static void
check_writer(const uint8_t *data, size_t size)
{
	Program		g = {data, data + size};
	ByteBuf		out;
	TexmlDoc	d;
	Model		m;
	char		own[64];
	char		value[64];
	bool		running;

	memset(&m, 0, sizeof(m));
	bytebuf_init(&out, NULL, NULL, 0);
	bytebuf_init(&m.events, NULL, NULL, 0);
	bytebuf_init(&m.text, NULL, NULL, 0);
	bytebuf_init(&m.tag, NULL, NULL, 0);

	running = expect(&d, texml_doc_begin(&d, &out), TEXML_OK, "begin");
	model_open(&m, "Response");
	while (running && g.p < g.end)
	{
		int			op = next_byte(&g) % 6;
		const char *name;
		const uint8_t *bytes;
		size_t		n;

		switch (op)
		{
			case 0:				/* open */
				name = next_name(&g, own, sizeof(own));
				if (m.depth == 0)
					running = expect(&d, texml_doc_open(&d, name), TEXML_COMPLETE, "open");
				else if (!plain_name(name))
					running = expect(&d, texml_doc_open(&d, name), TEXML_BAD_NAME, "open");
				else if (m.depth >= TEXML_MAX_DEPTH)
					running = expect(&d, texml_doc_open(&d, name), TEXML_TOO_DEEP, "open");
				else
				{
					running = expect(&d, texml_doc_open(&d, name), TEXML_OK, "open");
					model_open(&m, name);
				}
				break;
			case 1:				/* attribute, NULL value when the length byte says so */
			case 2:				/* integer attribute */
				{
					bool		is_null = false;
					TexmlStatus want = TEXML_OK;
					int			iv = 0,
								min = 0,
								max = 0;
					bool		ok;

					name = next_name(&g, own, sizeof(own));
					if (op == 1)
					{
						is_null = (g.p < g.end && *g.p == 0xFF);
						n = next_bytes(&g, &bytes);
						memcpy(value, bytes, n);
						value[n] = '\0';
					}
					else
					{
						iv = (int8_t) next_byte(&g);
						min = (int8_t) next_byte(&g);
						max = (int8_t) next_byte(&g);
						snprintf(value, sizeof(value), "%d", iv);
					}
					if (op == 2 && (iv < min || iv > max))
						want = TEXML_ATTR_RANGE;
					else if (!m.pending)
						want = TEXML_ATTR_AFTER_CONTENT;
					else if (!plain_name(name))
						want = TEXML_BAD_NAME;
					else if (!is_null)
					{
						for (int i = 0; i < m.nattrs; i++)
							if (strcmp(m.attrs[i], name) == 0)
								want = TEXML_DUPLICATE_ATTR;
						if (want == TEXML_OK && m.nattrs == TEXML_MAX_ATTRS)
							want = TEXML_TOO_MANY_ATTRS;
					}
					ok = op == 1 ? texml_doc_attr(&d, name, is_null ? NULL : value)
						: texml_doc_attr_int(&d, name, iv, min, max);
					running = expect(&d, ok, want, op == 1 ? "attr" : "attr_int");
					if (running && !is_null)
					{
						ByteBuf		v;
						char		head[32];

						strcpy(m.attrs[m.nattrs++], name);
						bytebuf_init(&v, NULL, NULL, 0);
						expected_text(&v, (const unsigned char *) value, strlen(value));
						snprintf(head, sizeof(head), "=%zu:", v.len);
						bytebuf_putc(&m.tag, ' ');
						bytebuf_puts(&m.tag, name);
						bytebuf_puts(&m.tag, head);
						bytebuf_append(&m.tag, v.data, v.len);
						bytebuf_free(&v);
					}
					break;
				}
			case 3:				/* text, any bytes (NULs too) */
				n = next_bytes(&g, &bytes);
				if (m.depth == 0)
					running = expect(&d, texml_doc_text(&d, (const char *) bytes, n), TEXML_COMPLETE, "text");
				else
				{
					running = expect(&d, texml_doc_text(&d, (const char *) bytes, n), TEXML_OK, "text");
					if (m.pending)
						model_flush(&m);
					expected_text(&m.text, bytes, n);
				}
				break;
			case 4:				/* close */
			case 5:
				if (m.depth == 0)
					running = expect(&d, texml_doc_close(&d), TEXML_NOTHING_OPEN, "close");
				else
				{
					running = expect(&d, texml_doc_close(&d), TEXML_OK, "close");
					model_flush(&m);
					bytebuf_putc(&m.events, '/');
					m.depth--;
				}
				break;
		}
	}

	if (running)
	{
		/* A stopped writer says so again; a running one finishes a well-formed document. */
		if (texml_doc_finish(&d) != TEXML_OK)
			fail("finishing a document written without misuse", texml_status_string(d.status));
		while (m.depth > 0)
		{
			model_flush(&m);
			bytebuf_putc(&m.events, '/');
			m.depth--;
		}
		if (out.failed || m.events.failed)
			fail("out of memory", NULL);
		check_document(&out, &m.events);
	}
	else if (texml_doc_open(&d, "Say") || texml_doc_text(&d, "x", 1) || texml_doc_close(&d) ||
			 texml_doc_finish(&d) == TEXML_OK)
		fail("a stopped writer writes on", NULL);

	bytebuf_free(&out);
	bytebuf_free(&m.events);
	bytebuf_free(&m.text);
	bytebuf_free(&m.tag);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_escaper(data, size);
	check_writer(data, size);
	return 0;
}
