/*
 * bytebuf.h
 *		A growable byte buffer for the backend-free writers (TeXML, CSV, JSON
 *		Lines): the caller decides where its memory comes from.
 *
 * Backend-free.  By default memory comes from malloc and bytebuf_free gives
 * it back.  In the server the glue passes an allocator on a memory context
 * (core/bytebuf_pg.h), so an error raised half-way through a document frees
 * the buffer with its context.  When memory cannot be had (or max would be
 * passed) the buffer is marked failed: later appends do nothing and the
 * writer using it reports the failure.  data is NUL-terminated whenever it
 * is not NULL.
 */
#ifndef WIB_BYTEBUF_H
#define WIB_BYTEBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/*
 * realloc-like: allocates size bytes when ptr is NULL, frees ptr when size is
 * 0 (returning NULL), else resizes.  Returns NULL when it cannot.
 */
typedef void *(*ByteBufAlloc) (void *ptr, size_t size, void *arg);

typedef struct ByteBuf
{
	char	   *data;
	size_t		len;			/* bytes written, the NUL not counted */
	size_t		cap;			/* bytes allocated, room for the NUL included */
	size_t		max;			/* largest cap allowed */
	bool		failed;
	ByteBufAlloc alloc;			/* NULL: libc realloc and free */
	void	   *arg;
} ByteBuf;

extern void bytebuf_init(ByteBuf *b, ByteBufAlloc alloc, void *arg, size_t max);
extern bool bytebuf_grow(ByteBuf *b, size_t more);
extern void bytebuf_reset(ByteBuf *b);
extern void bytebuf_free(ByteBuf *b);

/* Makes room for more bytes (and the NUL); false when the buffer has failed. */
static inline bool
bytebuf_reserve(ByteBuf *b, size_t more)
{
	return (!b->failed && b->cap - b->len > more) || bytebuf_grow(b, more);
}

/* Appends n bytes (p may be NULL when n is 0); inline because writers call it for every field. */
static inline void
bytebuf_append(ByteBuf *b, const void *p, size_t n)
{
	if (n > 0 && bytebuf_reserve(b, n))
	{
		memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
	}
}

/* Appends one byte. */
static inline void
bytebuf_putc(ByteBuf *b, char c)
{
	if (bytebuf_reserve(b, 1))
	{
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
	}
}

/* Appends a C string. */
static inline void
bytebuf_puts(ByteBuf *b, const char *s)
{
	bytebuf_append(b, s, strlen(s));
}

#endif							/* WIB_BYTEBUF_H */
