/*
 * bytebuf_pg.h
 *		ByteBufs whose memory lives in a PostgreSQL memory context.
 */
#ifndef WIB_BYTEBUF_PG_H
#define WIB_BYTEBUF_PG_H

#include "core/bytebuf.h"

/* An empty buffer in CurrentMemoryContext, at most MaxAllocSize bytes. */
extern void bytebuf_init_pg(ByteBuf *b);

/* Raises "out of memory" (54000, as a full StringInfo does) when b has failed. */
extern void bytebuf_check_pg(const ByteBuf *b);

#endif							/* WIB_BYTEBUF_PG_H */
