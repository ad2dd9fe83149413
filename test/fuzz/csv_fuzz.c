/*
 * csv_fuzz.c
 *		libFuzzer target of the CSV writer (src/export/csv.c).
 *
 * The input is read as a table: a column count and the formula guard, then
 * fields, each NULL or bytes of the input (any bytes), row after row, and
 * written as the export writer writes it (a header row of column names,
 * fields separated by CSV_SEPARATOR, each row ended by CSV_ROW_END).
 * Property: a strict RFC 4180 reader, written here, reads the output back
 * as exactly that table: as many rows, each with as many fields; a NULL as
 * an empty unquoted field and the empty string as "", so the two stay
 * apart; every other field equal to what was written, with a ' in front
 * exactly when the guard is on and the text starts with = + - @, tab or CR
 * (so no guarded field starts with a formula character).
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o csv_fuzz \
 *   test/fuzz/csv_fuzz.c src/export/csv.c src/core/bytebuf.c
 * Run:   ./csv_fuzz -max_total_time=60 test/fuzz/corpus/csv   (or make fuzz)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytebuf.h"
#include "export/csv.h"

#define MAX_COLUMNS	8
#define MAX_FIELDS	256

typedef struct Field
{
	bool		null;
	bool		quoted;			/* as read */
	const char *s;
	size_t		len;
} Field;

static void
fail(const char *what, size_t row, size_t col)
{
	fprintf(stderr, "csv_fuzz: %s (row %zu, column %zu)\n", what, row, col);
	abort();
}

/*
 * Reads one field at *p (RFC 4180, section 2): quoted, with "" for a quote,
 * or unquoted without quotes, commas, CR or LF.  The field's bytes go to
 * out (room for end - *p bytes).  False when the text is not CSV.
 */
static bool
read_field(const char **p, const char *end, char *out, Field *f)
{
	const char *q = *p;
	size_t		n = 0;

	f->quoted = q < end && *q == '"';
	if (f->quoted)
	{
		for (q++;; q++)
		{
			if (q >= end)
				return false;
			if (*q == '"')
			{
				if (q + 1 < end && q[1] == '"')
				{
					out[n++] = '"';
					q++;
					continue;
				}
				q++;
				break;
			}
			out[n++] = *q;
		}
	}
	else
	{
		for (; q < end && *q != ',' && *q != '\r' && *q != '\n'; q++)
		{
			if (*q == '"')
				return false;
			out[n++] = *q;
		}
	}
	/* A field ends at a comma, at CRLF, or (after the last row's CRLF) nowhere else. */
	if (q < end && *q != ',' && !(*q == '\r' && q + 1 < end && q[1] == '\n'))
		return false;
	f->s = out;
	f->len = n;
	f->null = !f->quoted && n == 0;
	*p = q;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *in = data;
	const uint8_t *in_end = data + size;
	size_t		ncols;
	bool		guard;
	Field		fields[MAX_FIELDS + MAX_COLUMNS];
	size_t		nfields = 0;
	ByteBuf		out;
	const char *p;
	const char *end;

	if (size < 1)
		return 0;
	ncols = 1 + (in[0] & 7);
	guard = (in[0] & 8) != 0;
	in++;

	/* The table: each field a control byte (NULL, or a length) and its bytes. */
	while (in < in_end && nfields < MAX_FIELDS)
	{
		uint8_t		c = *in++;
		Field	   *f = &fields[nfields++];

		f->null = c == 0xFF;
		f->len = f->null ? 0 : c & 0x3F;
		if (f->len > (size_t) (in_end - in))
			f->len = in_end - in;
		f->s = (const char *) in;
		in += f->len;
	}
	while (nfields % ncols != 0)
	{
		fields[nfields].null = false;
		fields[nfields].s = "";
		fields[nfields++].len = 0;
	}

	/* Written as the export writer does: header row, then the rows. */
	bytebuf_init(&out, NULL, NULL, 0);
	for (size_t c = 0; c < ncols; c++)
	{
		char		name[16];

		snprintf(name, sizeof(name), "=col %zu,\"", c);
		if (c > 0)
			bytebuf_putc(&out, CSV_SEPARATOR);
		csv_text(&out, name, strlen(name), false);
	}
	bytebuf_puts(&out, CSV_ROW_END);
	for (size_t i = 0; i < nfields; i++)
	{
		if (i % ncols > 0)
			bytebuf_putc(&out, CSV_SEPARATOR);
		if (!fields[i].null)
			csv_text(&out, fields[i].s, fields[i].len, guard);
		if (i % ncols == ncols - 1)
			bytebuf_puts(&out, CSV_ROW_END);
	}
	if (out.failed)
		fail("out of memory", 0, 0);

	/* Read back. */
	p = out.data;
	end = out.data + out.len;
	for (size_t row = 0; row <= nfields / ncols; row++)
	{
		for (size_t c = 0; c < ncols; c++)
		{
			Field		got;
			char		name[16];
			char	   *buf = malloc(end - p + 1);

			if (c > 0)
			{
				if (p >= end || *p != ',')
					fail("a row has too few fields", row, c);
				p++;
			}
			if (!read_field(&p, end, buf, &got))
				fail("the output is not RFC 4180 CSV", row, c);
			if (row == 0)
			{
				snprintf(name, sizeof(name), "=col %zu,\"", c);
				if (!got.quoted || got.len != strlen(name) || memcmp(got.s, name, got.len) != 0)
					fail("a column name does not read back (unguarded, quoted)", row, c);
			}
			else
			{
				const Field *want = &fields[(row - 1) * ncols + c];
				bool		prefixed = guard && want->len > 0 &&
					strchr("=+-@\t\r", want->s[0]) != NULL && want->s[0] != '\0';
				size_t		off = prefixed ? 1 : 0;

				if (got.null != want->null)
					fail(want->null ? "a NULL reads back as a value" : "a value reads back as NULL", row, c);
				if (!want->null &&
					(got.len != want->len + off || (prefixed && got.s[0] != '\'') ||
					 memcmp(got.s + off, want->s, want->len) != 0))
					fail("a field does not read back as written", row, c);
				if (guard && got.len > 0 && strchr("=+-@\t\r", got.s[0]) != NULL && got.s[0] != '\0')
					fail("a guarded field starts with a formula character", row, c);
			}
			free(buf);
		}
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			fail("a row does not end with CRLF", row, ncols);
		p += 2;
	}
	if (p != end)
		fail("bytes after the last row", nfields / ncols + 1, 0);
	bytebuf_free(&out);
	return 0;
}
