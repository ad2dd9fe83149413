/*
 * jsonl.h
 *		JSON Lines rows, as the exports write them: one object per line, keys
 *		in column order.
 *
 * Backend-free (libc only), never raises.  A row is, for each column, its
 * key (jsonl_key) then its value (a string, a number, true, false, null or
 * embedded JSON), and then jsonl_row_end.  Strings must be UTF-8 (the
 * database's text is); every control character is escaped.
 */
#ifndef WIB_EXPORT_JSONL_H
#define WIB_EXPORT_JSONL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/bytebuf.h"

/* Appends s[0..len) as a JSON string literal. */
extern void jsonl_string(ByteBuf *out, const char *s, size_t len);

/* Appends "{" (first column) or "," then the key name and ":". */
extern void jsonl_key(ByteBuf *out, const char *name, size_t len, bool first);

/* Appends a number as PostgreSQL printed it; NaN and infinities (not JSON numbers) as strings. */
extern void jsonl_number(ByteBuf *out, const char *s, size_t len);

/* Ends a row of ncolumns columns: "}" (or "{}" for none) and a line feed. */
extern void jsonl_row_end(ByteBuf *out, int ncolumns);

#endif							/* WIB_EXPORT_JSONL_H */
