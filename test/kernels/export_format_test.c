/*
 * export_format_test.c
 *		The export writers' kernels on the cases of sql/20_exports.sql: CSV
 *		quoting, NULL against the empty string, the formula guard; JSON
 *		string escapes, keys, numbers (NaN and infinities as strings), row
 *		ends; ISO 8601 timestamps (fractions, expanded years) and UUIDs.
 *
 * Build: cc -I src -o export_format_test test/kernels/export_format_test.c src/export/csv.c \
 *   src/export/jsonl.c src/export/format.c src/core/bytebuf.c
 */
#include <stdio.h>
#include <string.h>

#include "core/bytebuf.h"
#include "export/csv.h"
#include "export/format.h"
#include "export/jsonl.h"

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

/* True when b holds exactly want; empties b. */
static int
holds(ByteBuf *b, const char *want)
{
	int			ok = b->len == strlen(want) && (b->len == 0 || memcmp(b->data, want, b->len) == 0);

	if (!ok)
		printf("# got \"%.*s\", want \"%s\"\n", (int) b->len, b->data ? b->data : "", want);
	bytebuf_reset(b);
	return ok;
}

/* A CSV row of text fields (NULL for SQL NULL). */
static void
csv_row(ByteBuf *b, const char *const *fields, int n, bool guard)
{
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			bytebuf_putc(b, CSV_SEPARATOR);
		if (fields[i] != NULL)
			csv_text(b, fields[i], strlen(fields[i]), guard);
	}
	bytebuf_puts(b, CSV_ROW_END);
}

/* Formats a time and compares. */
static int
time_is(int year, int mon, int mday, int hour, int min, int sec, int usec, bool utc, const char *want)
{
	ExportTime	t = {year, mon, mday, hour, min, sec, usec};
	char		out[EXPORT_TIME_LEN];
	int			n = export_format_time(&t, utc, out);

	if (n != (int) strlen(want) || strcmp(out, want) != 0)
	{
		printf("# got \"%s\", want \"%s\"\n", out, want);
		return 0;
	}
	return 1;
}

int
main(void)
{
	ByteBuf		b;
	char		uuid[EXPORT_UUID_LEN];
	static const uint8_t u[16] = {0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8,
	0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11};

	printf("1..12\n");
	bytebuf_init(&b, NULL, NULL, 0);

	{
		const char *const row[] = {"a,b", "say \"hi\"", "l1\nl2", "l1\rl2", "l1\r\nl2", "\""};

		csv_row(&b, row, 6, true);
		check(holds(&b, "\"a,b\",\"say \"\"hi\"\"\",\"l1\nl2\",\"l1\rl2\",\"l1\r\nl2\",\"\"\"\"\r\n"),
			  "CSV: commas, quotes, CR and LF are quoted, quotes doubled, rows end with CRLF");
	}
	{
		const char *const row[] = {NULL, "", NULL, "x"};
		const char *const only_empty[] = {""};
		const char *const only_null[] = {NULL};

		csv_row(&b, row, 4, true);
		csv_row(&b, only_empty, 1, true);
		csv_row(&b, only_null, 1, true);
		check(holds(&b, ",\"\",,x\r\n\"\"\r\n\r\n"), "CSV: NULL is an empty field, the empty string is \"\"");
	}
	{
		const char *const row[] = {"=SUM(A1)", "+1555", "-x", "@cmd", "\tx", "\rx", "a=b", "=1,2", "=a\nb"};

		csv_row(&b, row, 9, true);
		check(holds(&b, "'=SUM(A1),'+1555,'-x,'@cmd,'\tx,\"'\rx\",a=b,\"'=1,2\",\"'=a\nb\"\r\n"),
			  "CSV: the formula guard puts ' before = + - @ tab CR, inside the quotes when quoted");
		csv_row(&b, row, 2, false);
		check(holds(&b, "=SUM(A1),+1555\r\n") && csv_guarded("-1", 2) && !csv_guarded("", 0) &&
			  !csv_guarded("1-", 2), "CSV: without the guard formulas are written as they are");
	}
	{
		const char	ctl[] = {'\x01', '\x02', '\x1f', '\x7f', '\0'};

		jsonl_string(&b, "q\"b\\s/", 6);
		jsonl_string(&b, "\n\r\t\b\f", 5);
		jsonl_string(&b, ctl, 5);
		jsonl_string(&b, "\xc3\xa9\xf0\x9f\x98\x80", 6);
		check(holds(&b, "\"q\\\"b\\\\s/\"\"\\n\\r\\t\\b\\f\"\"\\u0001\\u0002\\u001f\x7f\\u0000\"\"\xc3\xa9\xf0\x9f\x98\x80\""),
			  "JSON: quotes, backslashes and every control character (NUL too) escaped; DEL and UTF-8 as they are");
	}
	jsonl_key(&b, "k\"ey", 4, true);
	bytebuf_append(&b, "1", 1);
	jsonl_key(&b, "back\\slash", 10, false);
	bytebuf_append(&b, "null", 4);
	jsonl_row_end(&b, 2);
	jsonl_row_end(&b, 0);
	check(holds(&b, "{\"k\\\"ey\":1,\"back\\\\slash\":null}\n{}\n"), "JSON: keys escaped, one object per line, {} without columns");
	jsonl_number(&b, "-1.50", 5);
	bytebuf_putc(&b, ' ');
	jsonl_number(&b, "1e+20", 5);
	bytebuf_putc(&b, ' ');
	jsonl_number(&b, "NaN", 3);
	jsonl_number(&b, "-Infinity", 9);
	jsonl_number(&b, "", 0);
	check(holds(&b, "-1.50 1e+20 \"NaN\"\"-Infinity\"\"\""), "JSON: numbers bare, NaN and infinities as strings");

	check(time_is(2026, 3, 1, 6, 30, 0, 0, true, "2026-03-01T06:30:00Z") &&
		  time_is(2026, 3, 1, 12, 0, 0, 0, false, "2026-03-01T12:00:00"),
		  "timestamps: ISO 8601, Z in UTC only");
	check(time_is(2026, 3, 1, 12, 0, 0, 500000, true, "2026-03-01T12:00:00.5Z") &&
		  time_is(2026, 3, 1, 12, 0, 0, 1, true, "2026-03-01T12:00:00.000001Z"),
		  "timestamps: fractions without trailing zeros");
	check(time_is(0, 1, 1, 0, 0, 0, 0, true, "0000-01-01T00:00:00Z") &&
		  time_is(-43, 3, 15, 12, 0, 0, 0, true, "-0043-03-15T12:00:00Z") &&
		  time_is(12026, 1, 1, 0, 0, 0, 0, true, "+12026-01-01T00:00:00Z") &&
		  time_is(294276, 12, 31, 23, 59, 59, 999999, true, "+294276-12-31T23:59:59.999999Z") &&
		  time_is(-4713, 11, 24, 0, 0, 0, 0, true, "-4713-11-24T00:00:00Z"),
		  "timestamps: expanded years with a sign outside 0000-9999 (1 BC is 0000)");
	check(export_format_uuid(u, uuid) == 36 && strcmp(uuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11") == 0,
		  "UUIDs: 8-4-4-4-12 lower-case hex");

	bytebuf_free(&b);
	bytebuf_init(&b, NULL, NULL, 8);
	csv_text(&b, "a longer field", 14, false);
	check(b.failed, "a writer's output past its buffer's limit fails the buffer");
	bytebuf_free(&b);

	printf("# %d failed\n", failures);
	return failures ? 1 : 0;
}
