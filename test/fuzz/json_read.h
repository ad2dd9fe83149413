/*
 * json_read.h
 *		A strict RFC 8259 JSON reader for the fuzz targets, written from the
 *		RFC and sharing nothing with the writers it checks.
 *
 * It accepts exactly one JSON text (white space around it allowed) and
 * refuses everything else: raw control characters in strings, unknown
 * escapes, lone surrogates, bytes that are not UTF-8, numbers outside the
 * grammar (leading zeros, a bare '.', a missing exponent), bad literals,
 * trailing text.  What it reads comes out in a canonical form, so that a
 * document can be compared with what was meant to be written:
 *		n t f			null, true, false
 *		N<token>;		a number, as spelt
 *		S<len>:<bytes>	a string, decoded
 *		[ ... ]			an array
 *		{ K<len>:<bytes> value ... }	an object, members in order
 * Header only: include it in one fuzz target.
 */
#ifndef WIB_FUZZ_JSON_READ_H
#define WIB_FUZZ_JSON_READ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/bytebuf.h"

#define JSON_READ_MAX_DEPTH	32

typedef struct Reader
{
	const unsigned char *p;
	const unsigned char *end;
	ByteBuf    *canon;			/* n t f N<token>; S<len>:<bytes> [..] {K<len>:<bytes><value>..} */
	const char *error;
} Reader;

static bool
rd_fail(Reader *r, const char *why)
{
	if (r->error == NULL)
		r->error = why;
	return false;
}

static void
rd_space(Reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

/* Appends code point cp as UTF-8. */
static void
put_cp(ByteBuf *b, uint32_t cp)
{
	char		u[4];
	int			n;

	if (cp < 0x80)
		u[0] = (char) cp, n = 1;
	else if (cp < 0x800)
		u[0] = (char) (0xC0 | cp >> 6), u[1] = (char) (0x80 | (cp & 0x3F)), n = 2;
	else if (cp < 0x10000)
		u[0] = (char) (0xE0 | cp >> 12), u[1] = (char) (0x80 | ((cp >> 6) & 0x3F)),
			u[2] = (char) (0x80 | (cp & 0x3F)), n = 3;
	else
		u[0] = (char) (0xF0 | cp >> 18), u[1] = (char) (0x80 | ((cp >> 12) & 0x3F)),
			u[2] = (char) (0x80 | ((cp >> 6) & 0x3F)), u[3] = (char) (0x80 | (cp & 0x3F)), n = 4;
	bytebuf_append(b, u, n);
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629), 0 if there is none. */
static int
utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t		avail = end - p;
	unsigned char lo = 0x80,
				hi = 0xBF;
	int			n;

	if (avail == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		n = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		n = 3, lo = p[0] == 0xE0 ? 0xA0 : 0x80, hi = p[0] == 0xED ? 0x9F : 0xBF;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		n = 4, lo = p[0] == 0xF0 ? 0x90 : 0x80, hi = p[0] == 0xF4 ? 0x8F : 0xBF;
	else
		return 0;
	if (avail < (size_t) n || p[1] < lo || p[1] > hi)
		return 0;
	for (int i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

static int
hex4(const unsigned char *p, const unsigned char *end)
{
	int			v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++)
	{
		int			c = p[i];
		int			d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 :
			(c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* A string (after its opening quote is seen), decoded into out. */
static bool
rd_string(Reader *r, ByteBuf *out)
{
	r->p++;
	for (;;)
	{
		int			n;

		if (r->p >= r->end)
			return rd_fail(r, "unterminated string");
		if (*r->p == '"')
		{
			r->p++;
			return true;
		}
		if (*r->p < 0x20)
			return rd_fail(r, "a raw control character in a string");
		if (*r->p == '\\')
		{
			int			c = r->p + 1 < r->end ? r->p[1] : 0;
			const char *simple = strchr("\"\\/bfnrt", c);

			if (c != 0 && simple != NULL)
			{
				bytebuf_putc(out, "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"]);
				r->p += 2;
				continue;
			}
			if (c == 'u')
			{
				int			u = hex4(r->p + 2, r->end);

				if (u < 0)
					return rd_fail(r, "a bad \\u escape");
				r->p += 6;
				if (u >= 0xDC00 && u <= 0xDFFF)
					return rd_fail(r, "a lone low surrogate");
				if (u >= 0xD800 && u <= 0xDBFF)
				{
					int			lo = (r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u') ?
						hex4(r->p + 2, r->end) : -1;

					if (lo < 0xDC00 || lo > 0xDFFF)
						return rd_fail(r, "a high surrogate without its low one");
					r->p += 6;
					u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
				}
				put_cp(out, (uint32_t) u);
				continue;
			}
			return rd_fail(r, "an unknown escape");
		}
		n = utf8_len(r->p, r->end);
		if (n == 0)
			return rd_fail(r, "a string that is not UTF-8");
		bytebuf_append(out, r->p, n);
		r->p += n;
	}
}

static bool rd_value(Reader *r, int depth);

/* Appends S<len>:<bytes> (or K...) for a decoded string. */
static void
canon_string(ByteBuf *canon, char tag, const char *s, size_t len)
{
	char		head[32];

	snprintf(head, sizeof(head), "%c%zu:", tag, len);
	bytebuf_puts(canon, head);
	bytebuf_append(canon, s, len);
}

static bool
rd_number(Reader *r)
{
	const unsigned char *start = r->p;

	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p < r->end && *r->p == '0')
		r->p++;
	else if (r->p < r->end && *r->p >= '1' && *r->p <= '9')
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	else
		return rd_fail(r, "a number without digits");
	if (r->p < r->end && *r->p == '.')
	{
		r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return rd_fail(r, "a fraction without digits");
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E'))
	{
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return rd_fail(r, "an exponent without digits");
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	bytebuf_putc(r->canon, 'N');
	bytebuf_append(r->canon, start, r->p - start);
	bytebuf_putc(r->canon, ';');
	return true;
}

static bool
rd_value(Reader *r, int depth)
{
	ByteBuf		s;
	bool		ok;

	if (depth > JSON_READ_MAX_DEPTH)
		return rd_fail(r, "nested too deeply for the reader");
	rd_space(r);
	if (r->p >= r->end)
		return rd_fail(r, "a value expected");
	switch (*r->p)
	{
		case '"':
			bytebuf_init(&s, NULL, NULL, 0);
			ok = rd_string(r, &s);
			if (ok)
				canon_string(r->canon, 'S', s.data, s.len);
			bytebuf_free(&s);
			break;
		case '[':
			r->p++;
			bytebuf_putc(r->canon, '[');
			rd_space(r);
			ok = true;
			if (r->p < r->end && *r->p == ']')
				r->p++;
			else
				for (;;)
				{
					if (!(ok = rd_value(r, depth + 1)))
						break;
					rd_space(r);
					if (r->p < r->end && *r->p == ',')
						r->p++;
					else if (r->p < r->end && *r->p == ']')
					{
						r->p++;
						break;
					}
					else
					{
						ok = rd_fail(r, "',' or ']' expected");
						break;
					}
				}
			bytebuf_putc(r->canon, ']');
			break;
		case '{':
			r->p++;
			bytebuf_putc(r->canon, '{');
			rd_space(r);
			ok = true;
			if (r->p < r->end && *r->p == '}')
				r->p++;
			else
				for (;;)
				{
					rd_space(r);
					if (r->p >= r->end || *r->p != '"')
					{
						ok = rd_fail(r, "a key expected");
						break;
					}
					bytebuf_init(&s, NULL, NULL, 0);
					ok = rd_string(r, &s);
					if (ok)
						canon_string(r->canon, 'K', s.data, s.len);
					bytebuf_free(&s);
					if (!ok)
						break;
					rd_space(r);
					if (r->p >= r->end || *r->p != ':')
					{
						ok = rd_fail(r, "':' expected");
						break;
					}
					r->p++;
					if (!(ok = rd_value(r, depth + 1)))
						break;
					rd_space(r);
					if (r->p < r->end && *r->p == ',')
						r->p++;
					else if (r->p < r->end && *r->p == '}')
					{
						r->p++;
						break;
					}
					else
					{
						ok = rd_fail(r, "',' or '}' expected");
						break;
					}
				}
			bytebuf_putc(r->canon, '}');
			break;
		case 't':
		case 'f':
		case 'n':
			{
				const char *word = *r->p == 't' ? "true" : *r->p == 'f' ? "false" : "null";
				size_t		n = strlen(word);

				if ((size_t) (r->end - r->p) < n || memcmp(r->p, word, n) != 0)
					return rd_fail(r, "a bad literal");
				r->p += n;
				bytebuf_putc(r->canon, word[0]);
				ok = true;
				break;
			}
		default:
			ok = rd_number(r);
	}
	return ok;
}

/* Reads text[0..len) as one JSON text, its canonical form appended to canon. */
static bool
read_json(const char *text, size_t len, ByteBuf *canon, const char **error)
{
	Reader		r = {(const unsigned char *) text, (const unsigned char *) text + len, canon, NULL};
	bool		ok = rd_value(&r, 0);

	rd_space(&r);
	if (ok && r.p != r.end)
		ok = rd_fail(&r, "text after the value");
	*error = r.error;
	return ok;
}

#endif							/* WIB_FUZZ_JSON_READ_H */
