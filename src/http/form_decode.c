/*
 * form_decode.c
 *		The form decoder behind wib.form_value (see form_decode.h).
 */
#include "http/form_decode.h"

#include <string.h>

#include "core/utf8.h"
#include "crypto/codec.h"

/* Decodes one form-encoded string ('+' is a space, %XX a byte) into out. */
bool
form_decode(const char *in, size_t len, char *out, size_t *out_len)
{
	size_t		n = 0;

	for (size_t i = 0; i < len; i++)
	{
		if (in[i] == '+')
			out[n++] = ' ';
		else if (in[i] == '%')
		{
			int			hi = i + 2 < len ? codec_hex_digit(in[i + 1]) : -1;
			int			lo = i + 2 < len ? codec_hex_digit(in[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return false;
			out[n++] = (char) (hi * 16 + lo);
			i += 2;
		}
		else
			out[n++] = in[i];
	}
	*out_len = n;
	return true;
}

/* The first value of name in body, decoded (see form_decode.h). */
FormResult
form_value(const char *body, size_t len, const char *name, size_t name_len,
		   char *out, size_t *out_len)
{
	const char *p = body;
	const char *end = body + len;

	*out_len = 0;
	out[0] = '\0';
	while (p < end)
	{
		const char *amp = memchr(p, '&', end - p);
		const char *pair_end = amp ? amp : end;
		const char *eq = memchr(p, '=', pair_end - p);
		const char *name_end = eq ? eq : pair_end;
		size_t		n;

		if (!form_decode(p, name_end - p, out, &n))
			return FORM_BAD_ESCAPE;
		if (n == name_len && memcmp(out, name, n) == 0)
		{
			n = 0;
			if (eq && !form_decode(eq + 1, pair_end - eq - 1, out, &n))
				return FORM_BAD_ESCAPE;
			out[n] = '\0';
			*out_len = n;
			if (memchr(out, '\0', n) != NULL || !utf8_valid(out, n))
				return FORM_NOT_TEXT;
			return FORM_FOUND;
		}
		p = pair_end + 1;
	}
	out[0] = '\0';
	return FORM_ABSENT;
}
