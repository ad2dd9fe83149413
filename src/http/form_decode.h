/*
 * form_decode.h
 *		Reading application/x-www-form-urlencoded bodies ('+' a space, %XX a
 *		byte, pairs separated by '&', name and value by '='), as Telnyx posts
 *		its callbacks.
 *
 * Backend-free (libc only), never raises, never allocates: the caller gives
 * the output buffer, which never needs more room than the input.
 */
#ifndef WIB_FORM_DECODE_H
#define WIB_FORM_DECODE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum FormResult
{
	FORM_FOUND,					/* the value is in out */
	FORM_ABSENT,				/* no pair has the name */
	FORM_BAD_ESCAPE,			/* a % not followed by two hex digits */
	FORM_NOT_TEXT				/* the value is not UTF-8 text (or holds a NUL) */
} FormResult;

/*
 * Decodes in[0..len) into out (room for len bytes) and sets *out_len; false
 * at a % not followed by two hex digits.
 */
extern bool form_decode(const char *in, size_t len, char *out, size_t *out_len);

/*
 * The first value of name (name_len bytes, compared with each decoded
 * name) in body[0..len): decoded into out (room for len + 1 bytes,
 * NUL-terminated) with its length in *out_len.  A pair without '=' has the
 * empty value.  Names are decoded up to the one that matches, so a bad
 * escape in an earlier name is FORM_BAD_ESCAPE; values of other pairs are
 * not looked at.
 */
extern FormResult form_value(const char *body, size_t len, const char *name,
							 size_t name_len, char *out, size_t *out_len);

#endif							/* WIB_FORM_DECODE_H */
