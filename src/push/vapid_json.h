/*
 * vapid_json.h
 *		The little JSON a VAPID token (RFC 8292, RFC 7519) is made of: writing
 *		escaped strings, and reading the members of a flat object.
 *
 * Backend-free, no allocation, never raises.  The reader is strict (RFC 8259
 * grammar, no duplicate names among those asked for, no NUL in strings) and
 * refuses nested objects and arrays, which no VAPID header or claim needs.
 */
#ifndef WIB_VAPID_JSON_H
#define WIB_VAPID_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What was found for a member asked for. */
typedef enum VapidJsonType
{
	VAPID_JSON_ABSENT = 0,
	VAPID_JSON_STRING,			/* decoded into str */
	VAPID_JSON_INTEGER,			/* an integer that fits int64, in num */
	VAPID_JSON_OTHER			/* another number, true, false or null */
} VapidJsonType;

/* One member to look for; the reader fills type and str or num. */
typedef struct VapidJsonField
{
	const char *name;
	char	   *str;			/* receives a string value, NUL-terminated */
	size_t		str_cap;
	int64_t		num;
	VapidJsonType type;
} VapidJsonField;

/*
 * Appends s as a JSON string (quotes included) to buf at *pos, keeping buf
 * NUL-terminated; false when it does not fit in cap.
 */
extern bool vapid_json_string(char *buf, size_t cap, size_t *pos, const char *s);

/*
 * Reads the flat JSON object in json[0..len) and fills the fields asked for.
 * False when the text is not such an object, a name asked for appears twice,
 * or a string value does not fit its field.
 */
extern bool vapid_json_read(const char *json, size_t len, VapidJsonField *fields, int nfields);

#endif							/* WIB_VAPID_JSON_H */
