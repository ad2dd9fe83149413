/*
 * codec.h
 *		The one place wib turns bytes into text and back: hexadecimal, base64
 *		(RFC 4648 section 4) and base64url (section 5).
 *
 * Backend-free: no PostgreSQL headers, no allocation, never raises, so the
 * deliverer can use it outside a transaction and the fuzzers outside the
 * server.  Encoders NUL-terminate; decoders are strict (no whitespace, no
 * characters of the other alphabet, no bits set in the padding).
 */
#ifndef WIB_CODEC_H
#define WIB_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Characters an encoding of len bytes needs, NUL included. */
#define CODEC_HEX_LEN(len)			((len) * 2 + 1)
#define CODEC_BASE64_LEN(len)		((((len) + 2) / 3) * 4 + 1)
#define CODEC_BASE64URL_LEN(len)	(((len) * 4 + 2) / 3 + 1)

/* 0-15 for a hex digit of either case, -1 for anything else. */
extern int	codec_hex_digit(char c);

/* Lower-case hex of in into out (CODEC_HEX_LEN(len) bytes); returns the length written. */
extern size_t codec_hex_encode(const uint8_t *in, size_t len, char *out);

/* Decodes exactly len hex digits (either case); -1 when malformed or longer than max bytes. */
extern int	codec_hex_decode(const char *in, size_t len, uint8_t *out, size_t max);

/* Padded base64 of in into out (CODEC_BASE64_LEN(len) bytes); returns the length written. */
extern size_t codec_base64_encode(const uint8_t *in, size_t len, char *out);

/* Unpadded base64url of in into out (CODEC_BASE64URL_LEN(len) bytes); returns the length written. */
extern size_t codec_base64url_encode(const uint8_t *in, size_t len, char *out);

/*
 * Decode base64 (padding optional but, when present, correct) or base64url
 * (padding optional, as browsers and RFC 8291 keys come either way).  Return
 * the number of bytes written, or -1 when the text is malformed or decodes to
 * more than max bytes.
 */
extern int	codec_base64_decode(const char *in, size_t len, uint8_t *out, size_t max);
extern int	codec_base64url_decode(const char *in, size_t len, uint8_t *out, size_t max);

/* Constant-time comparison of two equally long byte strings. */
extern bool codec_equal(const void *a, const void *b, size_t len);

#endif							/* WIB_CODEC_H */
