/*
 * csv.h
 *		CSV (RFC 4180) fields and rows, as the exports write them.
 *
 * Backend-free (libc only), never raises.  A row is its fields separated by
 * CSV_SEPARATOR and ended by CSV_ROW_END.  A NULL is an empty unquoted field
 * and the empty string is "", so the two stay distinct.  With the formula
 * guard a text field starting with = + - @, tab or CR gets a leading ' so
 * spreadsheets do not evaluate it.
 */
#ifndef WIB_EXPORT_CSV_H
#define WIB_EXPORT_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "core/bytebuf.h"

#define CSV_SEPARATOR	','
#define CSV_ROW_END		"\r\n"

/* True when the formula guard prefixes this text with '. */
extern bool csv_guarded(const char *s, size_t len);

/* Appends one text field: "" when empty, quoted (quotes doubled) when it must be. */
extern void csv_text(ByteBuf *out, const char *s, size_t len, bool guard);

#endif							/* WIB_EXPORT_CSV_H */
