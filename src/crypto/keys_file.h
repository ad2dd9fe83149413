/*
 * keys_file.h
 *		Key files of the key ring (keys.c): reading, generating, watching.
 */
#ifndef WIB_KEYS_FILE_H
#define WIB_KEYS_FILE_H

#include <sys/stat.h>

#include "crypto/keyring.h"

/*
 * Reads the key file at path into ring: raises, naming the problem, unless
 * it is a regular file owned by the server's user with mode 0600 or
 * stricter that parses.  st receives the file's identity.
 */
extern void keys_file_read(const char *path, Keyring *ring, struct stat *st);

/* Creates the key file at path with one random key (id 1) unless it exists. */
extern void keys_file_generate(const char *path);

/* True when the file at path is gone, replaced or changed since it had identity was. */
extern bool keys_file_changed(const char *path, const struct stat *was);

/*
 * Logs that the key file at path lies inside the data directory, if it
 * does; with once, at most once per process for the same path.
 */
extern void keys_file_warn_in_data_dir(const char *path, bool once);

/* A kernel's reason as a detail sentence: capitalized, with a period (palloc'd). */
extern char *keys_reason_detail(const char *reason);

#endif							/* WIB_KEYS_FILE_H */
