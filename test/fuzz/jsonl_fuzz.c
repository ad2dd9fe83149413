/*
 * jsonl_fuzz.c
 *		libFuzzer target of the JSON Lines writer (src/export/jsonl.c).
 *
 * The input is read as a result set: column names (any UTF-8, NULs too),
 * then rows of values of each kind a column can have (NULL, text, integers,
 * floats and numerics as PostgreSQL prints them, NaN and the infinities,
 * booleans, json), written as the export writer writes them.  Property:
 * the output is one line per row, and each line, read by a strict RFC 8259
 * parser written here, is one object whose keys are the column names in
 * order and whose values decode to what was written: strings byte for
 * byte, numbers to the same number (NaN and infinities as the strings
 * PostgreSQL spells them), json to the same JSON.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o jsonl_fuzz \
 *   test/fuzz/jsonl_fuzz.c src/export/jsonl.c src/core/bytebuf.c
 * Run:   ./jsonl_fuzz -max_total_time=60 test/fuzz/corpus/jsonl   (or make fuzz)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytebuf.h"
#include "export/jsonl.h"

#define MAX_COLUMNS	6
#define MAX_DEPTH	32

static const char *const json_docs[] = {
	"{}", "[]", "{\"a\":[1,2.5e-3,{\"b\":null}],\"c\":\"\\u00e9\\ud83d\\ude00\"}",
	"\"text\"", "-0", "true", "[{\"nested\":{\"deep\":[[[]]]}}]", "1E+400",
};

static void
fail(const char *what, const char *detail)
{
	fprintf(stderr, "jsonl_fuzz: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

/* ---- a strict RFC 8259 reader that writes a canonical form of what it reads ---- */

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

	if (depth > MAX_DEPTH)
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

/* ---- the result set ---- */

typedef struct Input
{
	const uint8_t *p;
	const uint8_t *end;
} Input;

static int
take(Input *in)
{
	return in->p < in->end ? *in->p++ : 0;
}

/* Up to 31 bytes of the input made UTF-8: a byte that starts no sequence becomes '?'. */
static void
take_text(Input *in, ByteBuf *out)
{
	size_t		n = take(in) & 31;
	const uint8_t *end;

	if (n > (size_t) (in->end - in->p))
		n = in->end - in->p;
	end = in->p + n;
	while (in->p < end)
	{
		int			k = utf8_len(in->p, end);

		if (k == 0)
		{
			bytebuf_putc(out, '?');
			in->p++;
			continue;
		}
		bytebuf_append(out, in->p, k);
		in->p += k;
	}
}

static uint64_t
take64(Input *in)
{
	uint64_t	v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | (uint64_t) take(in);
	return v;
}

/* A float as PostgreSQL prints it: shortest round-trip digits, NaN, Infinity, -Infinity. */
static void
print_float(double d, char *out, size_t size)
{
	if (isnan(d))
		snprintf(out, size, "NaN");
	else if (isinf(d))
		snprintf(out, size, d > 0 ? "Infinity" : "-Infinity");
	else
	{
		for (int prec = 1; prec <= 17; prec++)
		{
			snprintf(out, size, "%.*g", prec, d);
			if (strtod(out, NULL) == d)
				break;
		}
	}
}

/*
 * What a reader must see for a number the writer was given: the number
 * itself, or for NaN and the infinities (not JSON numbers) the string.
 */
static void
want_number(ByteBuf *want, const char *num)
{
	size_t		len = strlen(num);

	if (len > 0 && num[len - 1] >= '0' && num[len - 1] <= '9')
	{
		bytebuf_putc(want, 'N');
		bytebuf_append(want, num, len);
		bytebuf_putc(want, ';');
	}
	else
		canon_string(want, 'S', num, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input		in = {data, data + size};
	int			head = take(&in);
	int			ncols = head % (MAX_COLUMNS + 1);
	int			nrows = 1 + (head >> 4) % 4;
	ByteBuf		names[MAX_COLUMNS];
	ByteBuf		out;
	ByteBuf		want;
	ByteBuf		got;
	ByteBuf		value;
	const char *line;
	const char *error;

	bytebuf_init(&out, NULL, NULL, 0);
	bytebuf_init(&want, NULL, NULL, 0);
	bytebuf_init(&got, NULL, NULL, 0);
	for (int c = 0; c < ncols; c++)
	{
		bytebuf_init(&names[c], NULL, NULL, 0);
		take_text(&in, &names[c]);
	}

	for (int row = 0; row < nrows; row++)
	{
		char		num[64];
		size_t		line_start = out.len;
		const char *nl;

		bytebuf_reset(&want);
		bytebuf_putc(&want, '{');
		for (int c = 0; c < ncols; c++)
		{
			int			kind = take(&in) % 8;

			jsonl_key(&out, names[c].data ? names[c].data : "", names[c].len, c == 0);
			canon_string(&want, 'K', names[c].data ? names[c].data : "", names[c].len);
			switch (kind)
			{
				case 0:			/* NULL */
					bytebuf_append(&out, "null", 4);
					bytebuf_putc(&want, 'n');
					break;
				case 1:			/* text */
					bytebuf_init(&value, NULL, NULL, 0);
					take_text(&in, &value);
					jsonl_string(&out, value.data ? value.data : "", value.len);
					canon_string(&want, 'S', value.data ? value.data : "", value.len);
					bytebuf_free(&value);
					break;
				case 2:			/* int8 */
					snprintf(num, sizeof(num), "%lld", (long long) (int64_t) take64(&in));
					jsonl_number(&out, num, strlen(num));
					want_number(&want, num);
					break;
				case 3:			/* float8 */
					{
						uint64_t	bits = take64(&in);
						double		d;

						memcpy(&d, &bits, sizeof(d));
						print_float(d, num, sizeof(num));
						jsonl_number(&out, num, strlen(num));
						want_number(&want, num);
						if (isfinite(d) && strtod(num, NULL) != d)
							fail("a float's digits do not give it back", num);
						break;
					}
				case 4:			/* numeric: sign, digits, maybe a fraction */
					{
						int			b = take(&in);
						int			ndig = 1 + b % 24;
						char	   *q = num;

						if (b & 0x80)
							*q++ = '-';
						for (int i = 0; i < ndig; i++)
							*q++ = (char) ('0' + (i == 0 && ndig > 1 ? 1 + take(&in) % 9 : take(&in) % 10));
						if (b & 0x40)
						{
							*q++ = '.';
							for (int i = 0, n = 1 + take(&in) % 12; i < n; i++)
								*q++ = (char) ('0' + take(&in) % 10);
						}
						*q = '\0';
						if ((b & 0x30) == 0x30)
							strcpy(num, (b & 8) ? "-Infinity" : (b & 4) ? "NaN" : "Infinity");
						jsonl_number(&out, num, strlen(num));
						want_number(&want, num);
						break;
					}
				case 5:			/* boolean */
					if (take(&in) & 1)
						bytebuf_append(&out, "true", 4), bytebuf_putc(&want, 't');
					else
						bytebuf_append(&out, "false", 5), bytebuf_putc(&want, 'f');
					break;
				default:		/* json and jsonb, embedded as they are */
					{
						const char *doc = json_docs[take(&in) % (sizeof(json_docs) / sizeof(json_docs[0]))];

						bytebuf_puts(&out, doc);
						if (!read_json(doc, strlen(doc), &want, &error))
							fail("a json document of the target does not read", error);
						break;
					}
			}
		}
		jsonl_row_end(&out, ncols);
		bytebuf_putc(&want, '}');
		if (out.failed || want.failed)
			fail("out of memory", NULL);

		/* The row is one line: a JSON object saying exactly the row. */
		line = out.data + line_start;
		nl = memchr(line, '\n', out.len - line_start);
		if (nl == NULL || nl != out.data + out.len - 1)
			fail("a row is not exactly one line", NULL);
		bytebuf_reset(&got);
		if (!read_json(line, nl - line, &got, &error))
		{
			fprintf(stderr, "line: %.*s\n", (int) (nl - line), line);
			fail("a line is not JSON", error);
		}
		if (got.len != want.len || memcmp(got.data, want.data, got.len) != 0)
		{
			fprintf(stderr, "line: %.*s\nread: %.*s\nwant: %.*s\n", (int) (nl - line), line,
					(int) got.len, got.data, (int) want.len, want.data);
			fail("a line does not decode to its row", NULL);
		}
	}

	for (int c = 0; c < ncols; c++)
		bytebuf_free(&names[c]);
	bytebuf_free(&out);
	bytebuf_free(&want);
	bytebuf_free(&got);
	return 0;
}
