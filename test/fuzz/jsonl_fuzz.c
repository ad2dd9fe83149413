/*
 * jsonl_fuzz.c
 *		libFuzzer target of the JSON Lines writer (src/export/jsonl.c).
 *
 * The input is read as a result set: column names (any UTF-8, NULs too),
 * then rows of values of each kind a column can have (NULL, text, integers,
 * floats and numerics as PostgreSQL prints them, NaN and the infinities,
 * booleans, json), written as the export writer writes them.  Property:
 * the output is one line per row, and each line, read by a strict RFC 8259
 * reader (json_read.h), is one object whose keys are the column names in
 * order and whose values decode to what was written: strings byte for
 * byte, numbers to the same number (NaN and infinities as the strings
 * PostgreSQL spells them), json to the same JSON.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o jsonl_fuzz \
 *   -I test/fuzz test/fuzz/jsonl_fuzz.c src/export/jsonl.c src/core/bytebuf.c
 * Run:   ./jsonl_fuzz -max_total_time=60 test/fuzz/corpus/jsonl   (or make fuzz)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytebuf.h"
#include "export/jsonl.h"
#include "json_read.h"

#define MAX_COLUMNS	6

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
