/*
 * hex.h
 *		The value of one hexadecimal digit, for the parsers that read them
 *		(UUIDs in settings, %XX escapes in form bodies).
 */
#ifndef WIB_HEX_H
#define WIB_HEX_H

/* 0-15 for a hex digit of either case, -1 for anything else. */
static inline int
hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif							/* WIB_HEX_H */
