/*
 * vapid_json.c
 *		Escaped JSON strings for VAPID claims, and a strict reader of the flat
 *		objects a JWT header and claims set are.
 *
 * The reader walks the text once with a cursor; strings are decoded into the
 * caller's buffer (escapes, \u with surrogate pairs to UTF-8) only for the
 * members asked for, and checked for every other member.
 */
#include "push/vapid_json.h"

#include <stdio.h>
#include <string.h>

/* Longest member name compared with the names asked for; longer ones never match. */
#define NAME_MAX_LEN	64

/* The reader's position in the text. */
typedef struct Cursor
{
	const char *p;
	const char *end;
} Cursor;

bool
vapid_json_string(char *buf, size_t cap, size_t *pos, const char *s)
{
	size_t		o = *pos;

	/* room for the opening quote and the NUL is checked per character below */
	if (o + 1 >= cap)
		return false;
	buf[o++] = '"';
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;
		char		esc[8];
		size_t		n;

		if (c == '"' || c == '\\')
			n = (size_t) snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c == '\n')
			n = (size_t) snprintf(esc, sizeof(esc), "\\n");
		else if (c == '\r')
			n = (size_t) snprintf(esc, sizeof(esc), "\\r");
		else if (c == '\t')
			n = (size_t) snprintf(esc, sizeof(esc), "\\t");
		else if (c < 0x20 || c == 0x7f)
			n = (size_t) snprintf(esc, sizeof(esc), "\\u%04x", c);
		else
		{
			esc[0] = (char) c;
			n = 1;
		}
		if (o + n + 1 >= cap)
			return false;
		memcpy(buf + o, esc, n);
		o += n;
	}
	if (o + 2 > cap)
		return false;
	buf[o++] = '"';
	buf[o] = '\0';
	*pos = o;
	return true;
}

/* Skips JSON whitespace. */
static void
skip_ws(Cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

/* Reads four hex digits of a \u escape; -1 when they are not. */
static long
hex4(Cursor *c)
{
	long		v = 0;

	if (c->end - c->p < 4)
		return -1;
	for (int i = 0; i < 4; i++)
	{
		char		h = c->p[i];
		int			d = (h >= '0' && h <= '9') ? h - '0' :
			(h >= 'a' && h <= 'f') ? h - 'a' + 10 :
			(h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	c->p += 4;
	return v;
}

/* Appends one byte to out when there is an out; false when it is full. */
static bool
put(char *out, size_t cap, size_t *n, unsigned char b)
{
	if (out != NULL)
	{
		if (*n + 1 >= cap)
			return false;
		out[*n] = (char) b;
	}
	(*n)++;
	return true;
}

/*
 * Reads a string at the cursor (which is on its opening quote), decoding it
 * into out (cap bytes, NUL-terminated) when out is not NULL.  *overflow says
 * the text was valid but did not fit.
 */
static bool
read_string(Cursor *c, char *out, size_t cap, bool *overflow)
{
	size_t		n = 0;

	*overflow = false;
	c->p++;
	while (c->p < c->end && *c->p != '"')
	{
		unsigned char ch = (unsigned char) *c->p++;
		long		cp;
		bool		fits = true;

		if (ch < 0x20)
			return false;
		if (ch != '\\')
		{
			fits = put(out, cap, &n, ch);
			if (!fits)
				*overflow = true;
			continue;
		}
		if (c->p >= c->end)
			return false;
		ch = (unsigned char) *c->p++;
		switch (ch)
		{
			case '"':
			case '\\':
			case '/':
				break;
			case 'b':
				ch = '\b';
				break;
			case 'f':
				ch = '\f';
				break;
			case 'n':
				ch = '\n';
				break;
			case 'r':
				ch = '\r';
				break;
			case 't':
				ch = '\t';
				break;
			case 'u':
				if ((cp = hex4(c)) < 0)
					return false;
				if (cp >= 0xDC00 && cp <= 0xDFFF)
					return false;	/* a low surrogate on its own */
				if (cp >= 0xD800 && cp <= 0xDBFF)
				{
					long		lo;

					if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u')
						return false;
					c->p += 2;
					if ((lo = hex4(c)) < 0xDC00 || lo > 0xDFFF)
						return false;
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				}
				if (cp == 0)
					return false;	/* would end the C string early */
				if (cp < 0x80)
					fits = put(out, cap, &n, (unsigned char) cp);
				else if (cp < 0x800)
					fits = put(out, cap, &n, (unsigned char) (0xC0 | cp >> 6)) &&
						put(out, cap, &n, (unsigned char) (0x80 | (cp & 0x3F)));
				else if (cp < 0x10000)
					fits = put(out, cap, &n, (unsigned char) (0xE0 | cp >> 12)) &&
						put(out, cap, &n, (unsigned char) (0x80 | ((cp >> 6) & 0x3F))) &&
						put(out, cap, &n, (unsigned char) (0x80 | (cp & 0x3F)));
				else
					fits = put(out, cap, &n, (unsigned char) (0xF0 | cp >> 18)) &&
						put(out, cap, &n, (unsigned char) (0x80 | ((cp >> 12) & 0x3F))) &&
						put(out, cap, &n, (unsigned char) (0x80 | ((cp >> 6) & 0x3F))) &&
						put(out, cap, &n, (unsigned char) (0x80 | (cp & 0x3F)));
				if (!fits)
					*overflow = true;
				continue;
			default:
				return false;
		}
		if (!put(out, cap, &n, ch))
			*overflow = true;
	}
	if (c->p >= c->end)
		return false;
	c->p++;
	if (out != NULL && !*overflow)
		out[n] = '\0';
	return true;
}

/* Reads a number (RFC 8259 grammar); *integer and *value when it is an int64. */
static bool
read_number(Cursor *c, bool *integer, int64_t *value)
{
	bool		negative = false;
	uint64_t	mag = 0;
	bool		overflow = false;

	*integer = true;
	if (c->p < c->end && *c->p == '-')
	{
		negative = true;
		c->p++;
	}
	if (c->p >= c->end || *c->p < '0' || *c->p > '9')
		return false;
	if (*c->p == '0')
		c->p++;
	else
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
		{
			int			d = *c->p++ - '0';

			if (mag > (UINT64_C(9223372036854775808) - d) / 10)
				overflow = true;
			else
				mag = mag * 10 + d;
		}
	if (c->p < c->end && *c->p == '.')
	{
		*integer = false;
		c->p++;
		if (c->p >= c->end || *c->p < '0' || *c->p > '9')
			return false;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E'))
	{
		*integer = false;
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (c->p >= c->end || *c->p < '0' || *c->p > '9')
			return false;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
	}
	if (overflow || (!negative && mag > INT64_MAX))
		*integer = false;
	if (*integer)
		*value = negative ? (int64_t) (0 - mag) : (int64_t) mag;
	return true;
}

/* Reads true, false or null. */
static bool
read_literal(Cursor *c)
{
	static const char *const words[] = {"true", "false", "null"};

	for (int i = 0; i < 3; i++)
	{
		size_t		n = strlen(words[i]);

		if ((size_t) (c->end - c->p) >= n && memcmp(c->p, words[i], n) == 0)
		{
			c->p += n;
			return true;
		}
	}
	return false;
}

/* Reads one member's value at the cursor into field (NULL: check and skip it). */
static bool
read_value(Cursor *c, VapidJsonField *field)
{
	bool		overflow = false;
	bool		integer;
	int64_t		num = 0;

	if (c->p >= c->end)
		return false;
	if (*c->p == '"')
	{
		if (!read_string(c, field ? field->str : NULL, field ? field->str_cap : 0, &overflow) ||
			overflow)
			return false;
		if (field)
			field->type = VAPID_JSON_STRING;
		return true;
	}
	if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9'))
	{
		if (!read_number(c, &integer, &num))
			return false;
		if (field)
		{
			field->type = integer ? VAPID_JSON_INTEGER : VAPID_JSON_OTHER;
			field->num = num;
		}
		return true;
	}
	if (!read_literal(c))
		return false;			/* nested objects and arrays end here too */
	if (field)
		field->type = VAPID_JSON_OTHER;
	return true;
}

bool
vapid_json_read(const char *json, size_t len, VapidJsonField *fields, int nfields)
{
	Cursor		c = {json, json + len};

	for (int i = 0; i < nfields; i++)
	{
		fields[i].type = VAPID_JSON_ABSENT;
		if (fields[i].str != NULL && fields[i].str_cap > 0)
			fields[i].str[0] = '\0';
	}
	skip_ws(&c);
	if (c.p >= c.end || *c.p++ != '{')
		return false;
	skip_ws(&c);
	if (c.p < c.end && *c.p == '}')
		c.p++;
	else
		for (;;)
		{
			char		name[NAME_MAX_LEN + 1];
			bool		long_name;
			VapidJsonField *field = NULL;

			if (c.p >= c.end || *c.p != '"' || !read_string(&c, name, sizeof(name), &long_name))
				return false;
			for (int i = 0; i < nfields && !long_name; i++)
				if (strcmp(fields[i].name, name) == 0)
					field = &fields[i];
			if (field != NULL && field->type != VAPID_JSON_ABSENT)
				return false;	/* two values for one name: which would count? */
			skip_ws(&c);
			if (c.p >= c.end || *c.p++ != ':')
				return false;
			skip_ws(&c);
			if (!read_value(&c, field))
				return false;
			skip_ws(&c);
			if (c.p >= c.end)
				return false;
			if (*c.p == '}')
			{
				c.p++;
				break;
			}
			if (*c.p++ != ',')
				return false;
			skip_ws(&c);
		}
	skip_ws(&c);
	return c.p == c.end;
}
