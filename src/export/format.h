/*
 * format.h
 *		Values both export writers spell the same way: ISO 8601 timestamps and
 *		canonical UUIDs.
 *
 * Backend-free (libc only), never raises.
 */
#ifndef WIB_EXPORT_FORMAT_H
#define WIB_EXPORT_FORMAT_H

#include <stdbool.h>
#include <stdint.h>

/* Room a formatted timestamp or UUID needs, NUL included. */
#define EXPORT_TIME_LEN		40
#define EXPORT_UUID_LEN		37

/* A broken-down timestamp; year 0 is 1 BC, negative years before it. */
typedef struct ExportTime
{
	int			year;
	int			mon;			/* 1-12 */
	int			mday;
	int			hour;
	int			min;
	int			sec;
	int			usec;			/* 0-999999 */
} ExportTime;

/*
 * Writes t as ISO 8601 (2026-11-24T04:17:37.5Z when utc) into out
 * (EXPORT_TIME_LEN bytes) and returns the length.  Years outside 0000-9999
 * get a sign and as many digits as they need (ISO 8601's expanded years).
 */
extern int	export_format_time(const ExportTime *t, bool utc, char *out);

/* Writes 16 bytes as a UUID's 8-4-4-4-12 lower-case hex into out (EXPORT_UUID_LEN bytes); returns 36. */
extern int	export_format_uuid(const uint8_t *u, char *out);

#endif							/* WIB_EXPORT_FORMAT_H */
