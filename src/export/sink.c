/*
 * sink.c
 *		One buffered sink for both export writers, so the formatting code exists
 *		once whatever the destination.
 *
 * Writers append bytes to the sink's ByteBuf and mark the end of each line;
 * the sink hands its buffer to the target only at a line end and only once
 * it holds at least EXPORT_SINK_CHUNK bytes, so every chunk a set-returning
 * function returns is made of whole lines and memory stays at one chunk
 * (plus the longest row).
 */
#include "postgres.h"

#include "core/bytebuf_pg.h"
#include "export/sink.h"

/* Prepares a sink that hands chunks to emit(target), in CurrentMemoryContext. */
void
sink_init(ExportSink *sink, ExportSinkEmit emit, void *target)
{
	bytebuf_init_pg(&sink->buf);
	bytebuf_reserve(&sink->buf, EXPORT_SINK_CHUNK + 1024);
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
	bytebuf_check_pg(&sink->buf);
	sink->lines++;
	if (sink->buf.len >= EXPORT_SINK_CHUNK)
		sink_flush(sink);
}

/* Hands whatever is buffered to the target (call at the end of the output). */
void
sink_flush(ExportSink *sink)
{
	bytebuf_check_pg(&sink->buf);
	if (sink->buf.len == 0)
		return;
	sink->emit(sink, sink->buf.data, (int) sink->buf.len);
	sink->bytes += sink->buf.len;
	sink->chunks++;
	bytebuf_reset(&sink->buf);

	/* A huge row may have grown the buffer: give the memory back. */
	if (sink->buf.cap > 4 * EXPORT_SINK_CHUNK)
	{
		bytebuf_free(&sink->buf);
		bytebuf_reserve(&sink->buf, EXPORT_SINK_CHUNK + 1024);
	}
}

/* Frees the sink's buffer. */
void
sink_free(ExportSink *sink)
{
	bytebuf_free(&sink->buf);
}
