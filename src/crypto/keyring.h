/*
 * keyring.h
 *		The key ring's text forms and key derivation, apart from the server.
 *
 * Two spellings of the same ring: the setting wib.keys,
 *
 *		<id>:<base64 of 32 bytes>, <id>:<base64 of 32 bytes>, ...
 *
 * and a key file with one key per line,
 *
 *		# comment
 *		<id> <base64 of 32 bytes>
 *
 * Ids are integers from 1 to 2147483647, each listed once; the highest is the
 * current key.  Every key of the ring is a master key from which the vault's
 * AES key and the tokens' HMAC key are derived (keyring_derive), so one key
 * never serves two algorithms.
 *
 * Backend-free (libc and OpenSSL only), never raises.  Reasons never contain
 * key text: a typo in a key must not put the rest of it in a log.
 */
#ifndef WIB_KEYRING_H
#define WIB_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYRING_KEY_LEN		32
#define KEYRING_MAX			64
#define KEYRING_ID_MAX		2147483647u
#define KEYRING_REASON_LEN	128

/* Labels of the keys derived from each master key. */
#define KEYRING_LABEL_VAULT	"wib vault aes-256-gcm v1"
#define KEYRING_LABEL_TOKEN	"wib token hmac-sha256 v1"

typedef struct KeyringEntry
{
	uint32_t	id;
	uint8_t		key[KEYRING_KEY_LEN];
} KeyringEntry;

typedef struct Keyring
{
	int			count;
	KeyringEntry entries[KEYRING_MAX];
} Keyring;

/*
 * Parses len bytes of a wib.keys value into ring (wiped first).  False, with
 * ring wiped and a reason naming the entry, when it holds no key or an entry
 * is malformed, duplicated or one too many.
 */
extern bool keyring_parse_list(const char *text, size_t len, Keyring *ring, char *reason);

/* The same for the contents of a key file; reasons name the line. */
extern bool keyring_parse_file(const char *text, size_t len, Keyring *ring, char *reason);

/* The entry of id, or NULL. */
extern const KeyringEntry *keyring_find(const Keyring *ring, uint32_t id);

/* The entry with the highest id (the key that seals and signs), or NULL when empty. */
extern const KeyringEntry *keyring_current(const Keyring *ring);

/* Wipes every key of ring and empties it. */
extern void keyring_wipe(Keyring *ring);

/*
 * The 32-byte key for label derived from master: HKDF-Expand (RFC 5869) of
 * one block, HMAC-SHA256(master, label || 0x01).  Skipping HKDF-Extract is
 * sound because master keys are uniformly random.
 */
extern bool keyring_derive(const uint8_t master[KEYRING_KEY_LEN], const char *label,
						   uint8_t out[KEYRING_KEY_LEN]);

/* Characters keyring_format_line needs, NUL included. */
#define KEYRING_LINE_LEN	(10 + 1 + 44 + 1 + 1)

/* Writes the key-file line "<id> <base64 key>\n" into out; returns its length. */
extern size_t keyring_format_line(uint32_t id, const uint8_t key[KEYRING_KEY_LEN], char *out);

#endif							/* WIB_KEYRING_H */
