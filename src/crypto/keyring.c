/*
 * keyring.c
 *		Parsing wib.keys and key files, and deriving the per-purpose keys.
 *
 * Both parsers are strict (canonical ids, base64 of exactly 32 bytes, no
 * duplicate ids): a ring that parses is the ring the operator wrote.
 */
#include "crypto/keyring.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/codec.h"
#include "crypto/hmac.h"

/* True for the blanks allowed around ids and keys. */
static bool
keyring_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Narrows [*s, *s + *len) to drop leading and trailing blanks. */
static void
keyring_trim(const char **s, size_t *len)
{
	while (*len > 0 && keyring_blank(**s))
	{
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && keyring_blank((*s)[*len - 1]))
		(*len)--;
}

/* An id: a canonical decimal from 1 to KEYRING_ID_MAX. */
static bool
keyring_parse_id(const char *s, size_t len, uint32_t *id)
{
	uint64_t	v = 0;

	if (len == 0 || len > 10 || s[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t) (s[i] - '0');
	}
	if (v > KEYRING_ID_MAX)
		return false;
	*id = (uint32_t) v;
	return true;
}

/*
 * Adds the key (id text, base64 text) to ring; what names the entry or line
 * in the reason.  The key text is never copied into the reason.
 */
static bool
keyring_add(Keyring *ring, const char *id_text, size_t id_len,
			const char *key_text, size_t key_len, const char *what, char *reason)
{
	uint32_t	id;
	uint8_t		key[KEYRING_KEY_LEN + 1];
	int			n;

	if (!keyring_parse_id(id_text, id_len, &id))
	{
		snprintf(reason, KEYRING_REASON_LEN,
				 "%s: the id must be an integer from 1 to %u", what, KEYRING_ID_MAX);
		return false;
	}
	if (keyring_find(ring, id) != NULL)
	{
		snprintf(reason, KEYRING_REASON_LEN, "%s: key id %u is listed twice", what, id);
		return false;
	}
	if (ring->count >= KEYRING_MAX)
	{
		snprintf(reason, KEYRING_REASON_LEN, "%s: more than %d keys", what, KEYRING_MAX);
		return false;
	}
	n = codec_base64_decode(key_text, key_len, key, KEYRING_KEY_LEN);
	if (n != KEYRING_KEY_LEN)
	{
		OPENSSL_cleanse(key, sizeof(key));
		snprintf(reason, KEYRING_REASON_LEN,
				 "%s: key %u is not the base64 of %d bytes", what, id, KEYRING_KEY_LEN);
		return false;
	}
	ring->entries[ring->count].id = id;
	memcpy(ring->entries[ring->count].key, key, KEYRING_KEY_LEN);
	ring->count++;
	OPENSSL_cleanse(key, sizeof(key));
	return true;
}

/* Common end of both parsers: a ring with no key is an error too. */
static bool
keyring_finish(Keyring *ring, bool ok, char *reason)
{
	if (ok && ring->count == 0)
	{
		snprintf(reason, KEYRING_REASON_LEN, "no key is listed");
		ok = false;
	}
	if (!ok)
		keyring_wipe(ring);
	return ok;
}

bool
keyring_parse_list(const char *text, size_t len, Keyring *ring, char *reason)
{
	const char *all = text;
	size_t		all_len = len;
	size_t		start = 0;
	int			entry = 0;
	bool		ok = true;

	keyring_wipe(ring);
	if (memchr(text, '\0', len) != NULL)
	{
		snprintf(reason, KEYRING_REASON_LEN, "the list contains a NUL byte");
		return keyring_finish(ring, false, reason);
	}
	keyring_trim(&all, &all_len);
	if (all_len == 0)
		return keyring_finish(ring, true, reason);	/* "no key is listed" */
	for (size_t i = 0; ok && i <= len; i++)
	{
		const char *item;
		size_t		item_len;
		const char *colon;
		const char *id_text;
		size_t		id_len;
		const char *key_text;
		size_t		key_len;
		char		what[32];

		if (i < len && text[i] != ',')
			continue;
		item = text + start;
		item_len = i - start;
		start = i + 1;
		entry++;
		snprintf(what, sizeof(what), "entry %d", entry);
		keyring_trim(&item, &item_len);
		colon = memchr(item, ':', item_len);
		if (colon == NULL)
		{
			snprintf(reason, KEYRING_REASON_LEN,
					 "%s: expected <id>:<base64 of %d bytes>", what, KEYRING_KEY_LEN);
			ok = false;
			break;
		}
		id_text = item;
		id_len = (size_t) (colon - item);
		key_text = colon + 1;
		key_len = item_len - id_len - 1;
		keyring_trim(&id_text, &id_len);
		keyring_trim(&key_text, &key_len);
		ok = keyring_add(ring, id_text, id_len, key_text, key_len, what, reason);
	}
	return keyring_finish(ring, ok, reason);
}

bool
keyring_parse_file(const char *text, size_t len, Keyring *ring, char *reason)
{
	size_t		start = 0;
	int			line = 0;
	bool		ok = true;

	keyring_wipe(ring);
	if (memchr(text, '\0', len) != NULL)
	{
		snprintf(reason, KEYRING_REASON_LEN, "the file contains a NUL byte");
		return keyring_finish(ring, false, reason);
	}
	for (size_t i = 0; ok && i <= len; i++)
	{
		const char *l;
		size_t		l_len;
		const char *hash;
		size_t		sep;
		size_t		key_start;
		char		what[32];

		if (i < len && text[i] != '\n')
			continue;
		l = text + start;
		l_len = i - start;
		start = i + 1;
		line++;
		if (l_len > 0 && l[l_len - 1] == '\r')
			l_len--;
		/* '#' never occurs in base64: it starts a comment wherever it is. */
		if ((hash = memchr(l, '#', l_len)) != NULL)
			l_len = (size_t) (hash - l);
		keyring_trim(&l, &l_len);
		if (l_len == 0)
			continue;
		snprintf(what, sizeof(what), "line %d", line);
		for (sep = 0; sep < l_len && !keyring_blank(l[sep]); sep++)
			;
		for (key_start = sep; key_start < l_len && keyring_blank(l[key_start]); key_start++)
			;
		if (sep == l_len || memchr(l + key_start, ' ', l_len - key_start) != NULL ||
			memchr(l + key_start, '\t', l_len - key_start) != NULL)
		{
			snprintf(reason, KEYRING_REASON_LEN,
					 "%s: expected \"<id> <base64 of %d bytes>\"", what, KEYRING_KEY_LEN);
			ok = false;
			break;
		}
		ok = keyring_add(ring, l, sep, l + key_start, l_len - key_start, what, reason);
	}
	return keyring_finish(ring, ok, reason);
}

const KeyringEntry *
keyring_find(const Keyring *ring, uint32_t id)
{
	for (int i = 0; i < ring->count; i++)
		if (ring->entries[i].id == id)
			return &ring->entries[i];
	return NULL;
}

const KeyringEntry *
keyring_current(const Keyring *ring)
{
	const KeyringEntry *best = NULL;

	for (int i = 0; i < ring->count; i++)
		if (best == NULL || ring->entries[i].id > best->id)
			best = &ring->entries[i];
	return best;
}

void
keyring_wipe(Keyring *ring)
{
	OPENSSL_cleanse(ring, sizeof(*ring));
	ring->count = 0;
}

bool
keyring_derive(const uint8_t master[KEYRING_KEY_LEN], const char *label,
			   uint8_t out[KEYRING_KEY_LEN])
{
	static const uint8_t counter = 0x01;
	HmacPart	parts[2];

	parts[0].data = label;
	parts[0].len = strlen(label);
	parts[1].data = &counter;
	parts[1].len = 1;
	return hmac_sha256(master, KEYRING_KEY_LEN, parts, 2, out);
}

size_t
keyring_format_line(uint32_t id, const uint8_t key[KEYRING_KEY_LEN], char *out)
{
	int			n = snprintf(out, KEYRING_LINE_LEN, "%u ", (unsigned) id);
	size_t		o = (size_t) n;

	o += codec_base64_encode(key, KEYRING_KEY_LEN, out + o);
	out[o++] = '\n';
	out[o] = '\0';
	return o;
}
