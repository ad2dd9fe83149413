/*
 * bytebuf_pg.c
 *		The memory-context allocator of ByteBufs used inside the server: an
 *		error raised while a writer fills one frees it with the context.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "core/bytebuf_pg.h"

/* ByteBufAlloc on the memory context arg; palloc raises rather than return NULL. */
static void *
bytebuf_pg_alloc(void *ptr, size_t size, void *arg)
{
	if (size == 0)
	{
		if (ptr != NULL)
			pfree(ptr);
		return NULL;
	}
	if (ptr == NULL)
		return MemoryContextAlloc((MemoryContext) arg, size);
	return repalloc(ptr, size);
}

/* An empty buffer in CurrentMemoryContext (see bytebuf_pg.h). */
void
bytebuf_init_pg(ByteBuf *b)
{
	bytebuf_init(b, bytebuf_pg_alloc, CurrentMemoryContext, MaxAllocSize);
}

/* Raises the error of a full StringInfo when b could not grow. */
void
bytebuf_check_pg(const ByteBuf *b)
{
	if (b->failed)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("out of memory"),
				 errdetail("Cannot enlarge string buffer containing %zu bytes.", b->len)));
}
