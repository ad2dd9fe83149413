/*
 * sink.h
 *		The buffered byte sink the export writers write through: a file or the
 *		rows of a set-returning function, chunked on whole lines.
 */
#ifndef WIB_EXPORT_SINK_H
#define WIB_EXPORT_SINK_H

#include "core/bytebuf.h"

/* Bytes gathered before a chunk is flushed (at the end of a line). */
#define EXPORT_SINK_CHUNK	(64 * 1024)

struct ExportSink;

/* Receives one chunk of whole lines; called at the end of a row once the buffer is full, and at the end. */
typedef void (*ExportSinkEmit) (struct ExportSink *sink, const char *data, int len);

typedef struct ExportSink
{
	ByteBuf		buf;			/* bytes not yet flushed (in the sink's memory context) */
	ExportSinkEmit emit;		/* where a chunk goes */
	void	   *target;			/* emit's state (file state, tuplestore) */
	int64		bytes;			/* bytes flushed so far */
	int64		chunks;			/* chunks flushed so far */
	int64		lines;			/* lines ended so far */
} ExportSink;

extern void sink_init(ExportSink *sink, ExportSinkEmit emit, void *target);
extern void sink_end_line(ExportSink *sink);
extern void sink_flush(ExportSink *sink);
extern void sink_free(ExportSink *sink);

#endif							/* WIB_EXPORT_SINK_H */
