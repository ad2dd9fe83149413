/*
 * jsonl.c
 *		JSON Lines values: strings with quotes, backslashes and every control
 *		character escaped, keys, numbers, row ends (see jsonl.h).
 */
#include "export/jsonl.h"

#include <string.h>

#include "crypto/codec.h"

/* Writes a JSON string literal: quotes, backslashes and every control character escaped. */
void
jsonl_string(ByteBuf *out, const char *s, size_t len)
{
	const char *end = s + len;
	const char *run = s;

	bytebuf_putc(out, '"');
	for (; s < end; s++)
	{
		unsigned char c = (unsigned char) *s;
		char		esc[CODEC_HEX_LEN(1) + 4];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		bytebuf_append(out, run, s - run);
		run = s + 1;
		switch (c)
		{
			case '"':
				bytebuf_append(out, "\\\"", 2);
				break;
			case '\\':
				bytebuf_append(out, "\\\\", 2);
				break;
			case '\n':
				bytebuf_append(out, "\\n", 2);
				break;
			case '\r':
				bytebuf_append(out, "\\r", 2);
				break;
			case '\t':
				bytebuf_append(out, "\\t", 2);
				break;
			case '\b':
				bytebuf_append(out, "\\b", 2);
				break;
			case '\f':
				bytebuf_append(out, "\\f", 2);
				break;
			default:
				memcpy(esc, "\\u00", 4);
				codec_hex_encode(&c, 1, esc + 4);
				bytebuf_append(out, esc, 6);
				break;
		}
	}
	bytebuf_append(out, run, end - run);
	bytebuf_putc(out, '"');
}

/* Writes the separator (or the opening brace) and "name": of one column. */
void
jsonl_key(ByteBuf *out, const char *name, size_t len, bool first)
{
	bytebuf_putc(out, first ? '{' : ',');
	jsonl_string(out, name, len);
	bytebuf_putc(out, ':');
}

/*
 * Writes a number bare, except NaN, Infinity and -Infinity (which JSON has
 * no numbers for: PostgreSQL spells them ending in a letter) as strings.
 */
void
jsonl_number(ByteBuf *out, const char *s, size_t len)
{
	char		last = len > 0 ? s[len - 1] : '\0';

	if (len == 0 || (last >= 'A' && last <= 'Z') || (last >= 'a' && last <= 'z'))
		jsonl_string(out, s, len);
	else
		bytebuf_append(out, s, len);
}

/* Ends a row: "}" after columns, "{}" when there are none, and the line feed. */
void
jsonl_row_end(ByteBuf *out, int ncolumns)
{
	if (ncolumns == 0)
		bytebuf_append(out, "{}\n", 3);
	else
		bytebuf_append(out, "}\n", 2);
}
