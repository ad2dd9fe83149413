/*
 * bytebuf_test.c
 *		The growable buffer under the backend-free writers: appends of any
 *		size, a NUL always after the data, a limit that fails the buffer
 *		instead of passing it, an allocator that fails, reset and free.
 *
 * Build: cc -I src -o bytebuf_test test/kernels/bytebuf_test.c src/core/bytebuf.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytebuf.h"

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

static int	allocations = 0;

/* An allocator that refuses once it has given out two blocks. */
static void *
stingy_alloc(void *ptr, size_t size, void *arg)
{
	if (size == 0)
	{
		free(ptr);
		return NULL;
	}
	if (++allocations > 2)
		return NULL;
	return realloc(ptr, size);
}

int
main(void)
{
	ByteBuf		b;
	char		big[5000];
	int			ok;

	printf("1..7\n");

	bytebuf_init(&b, NULL, NULL, 0);
	bytebuf_append(&b, NULL, 0);
	check(b.data == NULL && b.len == 0 && !b.failed,
		  "appending nothing (from a NULL pointer) allocates nothing and does not fail");

	memset(big, 'x', sizeof(big));
	bytebuf_puts(&b, "<a>");
	bytebuf_putc(&b, 'y');
	bytebuf_append(&b, big, sizeof(big));
	ok = b.len == 4 + sizeof(big) && b.cap > b.len && b.data[b.len] == '\0' &&
		memcmp(b.data, "<a>y", 4) == 0 && b.data[4 + sizeof(big) - 1] == 'x';
	check(ok, "appends of every size keep the bytes in order with a NUL after them");

	bytebuf_reset(&b);
	check(b.len == 0 && b.data != NULL && b.data[0] == '\0' && b.cap > 0,
		  "reset empties the buffer and keeps its memory");
	bytebuf_free(&b);
	check(b.data == NULL && b.len == 0 && b.cap == 0, "free gives the memory back");

	bytebuf_init(&b, NULL, NULL, 16);
	bytebuf_append(&b, big, 15);
	ok = !b.failed && b.len == 15;
	bytebuf_putc(&b, 'z');
	check(ok && b.failed && b.len == 15 && b.data[15] == '\0',
		  "a buffer never passes its limit (NUL included): it fails and keeps what it had");
	bytebuf_append(&b, "abc", 3);
	check(b.failed && b.len == 15, "a failed buffer ignores later appends");
	bytebuf_free(&b);

	bytebuf_init(&b, stingy_alloc, NULL, 0);
	for (int i = 0; i < 10 && !b.failed; i++)
		bytebuf_append(&b, big, sizeof(big));
	check(b.failed && b.len == 3 * sizeof(big) && allocations == 3,
		  "an allocator that refuses fails the buffer, which keeps what it had");
	bytebuf_free(&b);

	printf("# %d failed\n", failures);
	return failures ? 1 : 0;
}
