/*
 * bytebuf.c
 *		Growth and release of a ByteBuf (see bytebuf.h).
 */
#include "core/bytebuf.h"

#include <stdint.h>
#include <stdlib.h>

#define BYTEBUF_INITIAL 1024

/* libc's realloc and free in ByteBufAlloc form. */
static void *
bytebuf_libc_alloc(void *ptr, size_t size, void *arg)
{
	if (size == 0)
	{
		free(ptr);
		return NULL;
	}
	return realloc(ptr, size);
}

/*
 * Prepares an empty buffer (nothing allocated yet).  alloc NULL means malloc;
 * max 0 means no limit beyond what size_t holds.
 */
void
bytebuf_init(ByteBuf *b, ByteBufAlloc alloc, void *arg, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : SIZE_MAX / 2;
	b->failed = false;
	b->alloc = alloc ? alloc : bytebuf_libc_alloc;
	b->arg = arg;
}

/*
 * Grows the buffer so that more bytes and a NUL fit after len, doubling so
 * that appending stays linear; false (and failed) when it cannot.
 */
bool
bytebuf_grow(ByteBuf *b, size_t more)
{
	size_t		need;
	size_t		cap;
	char	   *data;

	if (b->failed)
		return false;
	if (more > b->max || b->len + 1 > b->max - more)
	{
		b->failed = true;
		return false;
	}
	need = b->len + more + 1;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : BYTEBUF_INITIAL;
	if (cap > b->max)
		cap = b->max;
	while (cap < need)
		cap = cap > b->max / 2 ? b->max : cap * 2;
	data = b->alloc(b->data, cap, b->arg);
	if (data == NULL)
	{
		b->failed = true;
		return false;
	}
	if (b->data == NULL)
		data[0] = '\0';
	b->data = data;
	b->cap = cap;
	return true;
}

/* Empties the buffer, keeping its memory (and its failure, if any). */
void
bytebuf_reset(ByteBuf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Gives the memory back; the buffer is empty (and usable) afterwards. */
void
bytebuf_free(ByteBuf *b)
{
	if (b->data != NULL)
		b->alloc(b->data, 0, b->arg);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = false;
}
