/*
 * sink.c
 *		One buffered sink for both export writers, so the formatting code exists
 *		once whatever the destination.
 *
 * Writers append bytes and mark the end of each line; the sink hands its
 * buffer to the target only at a line end and only once it holds at least
 * EXPORT_SINK_CHUNK bytes, so every chunk a set-returning function returns is
 * made of whole lines and memory stays at one chunk (plus the longest row).
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "export/sink.h"

/* Prepares a sink that hands chunks to emit(target). */
void
sink_init(ExportSink *sink, ExportSinkEmit emit, void *target)
{
	initStringInfo(&sink->buf);
	enlargeStringInfo(&sink->buf, EXPORT_SINK_CHUNK + 1024);
	sink->emit = emit;
	sink->target = target;
	sink->bytes = 0;
	sink->chunks = 0;
	sink->lines = 0;
}

/* Marks the end of a line: flushes when a chunk's worth is buffered. */
void
sink_end_line(ExportSink *sink)
{
	sink->lines++;
	if (sink->buf.len >= EXPORT_SINK_CHUNK)
		sink_flush(sink);
}

/* Hands whatever is buffered to the target (call at the end of the output). */
void
sink_flush(ExportSink *sink)
{
	if (sink->buf.len == 0)
		return;
	sink->emit(sink, sink->buf.data, sink->buf.len);
	sink->bytes += sink->buf.len;
	sink->chunks++;
	resetStringInfo(&sink->buf);

	/* A huge row may have grown the buffer: give the memory back. */
	if (sink->buf.maxlen > 4 * EXPORT_SINK_CHUNK)
	{
		MemoryContext cxt = GetMemoryChunkContext(sink->buf.data);

		pfree(sink->buf.data);
		sink->buf.data = MemoryContextAlloc(cxt, EXPORT_SINK_CHUNK + 1024);
		sink->buf.maxlen = EXPORT_SINK_CHUNK + 1024;
		resetStringInfo(&sink->buf);
	}
}
