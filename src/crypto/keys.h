/*
 * keys.h
 *		wib's key ring in the server: where keys come from and how the rest
 *		of wib gets them.
 *
 * Sources, first one set wins:
 *	 1. wib.keys, "<id>:<base64 of 32 bytes>, ..." (superuser-only, reloadable);
 *	 2. wib.key_file, an absolute path to a file of "<id> <base64>" lines that
 *		is a regular file owned by the server's OS user with mode 0600 or
 *		stricter (reloadable);
 *	 3. otherwise wib_keys in the data directory, generated on first use with
 *		one random key, id 1.
 * The key with the highest id is current: it seals and signs.  Every key of
 * the ring opens and verifies, so rotating is: add a key with a higher id,
 * reload, re-seal what was sealed under older ids, then drop them.
 */
#ifndef WIB_KEYS_H
#define WIB_KEYS_H

#include "crypto/keyring.h"
#include "crypto/vault.h"

/* One key of the ring, with the keys derived from it for each use. */
typedef struct VaultKey
{
	uint32		id;
	uint8		seal_key[VAULT_KEY_LEN];	/* AES-256-GCM key of the vault */
	uint8		token_key[KEYRING_KEY_LEN];	/* HMAC-SHA256 key of signed tokens */
} VaultKey;

/* Defines wib.keys and wib.key_file; called from _PG_init. */
extern void keys_define_settings(void);

/* The current key (highest id); raises when no key can be loaded. */
extern const VaultKey *keys_current(void);

/* The key of id; raises (with a hint) when it is not in the ring. */
extern const VaultKey *keys_lookup(uint32 id);

/* The key of id, or NULL when it is not in the ring; raises only when no ring can be loaded. */
extern const VaultKey *keys_find(uint32 id);

#endif							/* WIB_KEYS_H */
