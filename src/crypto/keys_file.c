/*
 * keys_file.c
 *		Key files: reading one safely, generating the data directory's, and
 *		noticing that one changed or sits in the data directory.
 *
 * A key file is read only when the open file (not the path, which could be
 * swapped in between) is a regular file of the server's user with no group
 * or world access.  The read buffer is wiped on every path, errors included.
 */
#include "postgres.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "miscadmin.h"
#include "storage/fd.h"

#include "crypto/keyring.h"
#include "crypto/keys_file.h"

#define KEYS_FILE_MAX		(64 * 1024)

static char keys_file_buf[KEYS_FILE_MAX + 1];

/* The key file this process last reported as inside the data directory. */
static char keys_warned_path[MAXPGPATH];

/* Copies a kernel reason into a detail sentence: capitalized, with a period. */
char *
keys_reason_detail(const char *reason)
{
	char	   *d = psprintf("%s.", reason);

	d[0] = (char) toupper((unsigned char) d[0]);
	return d;
}

/* True when path (resolved) lies inside the data directory. */
static bool
keys_in_data_dir(const char *path)
{
	char		real_path[PATH_MAX];
	char		real_data[PATH_MAX];
	size_t		n;

	if (DataDir == NULL || realpath(DataDir, real_data) == NULL)
		return false;
	if (realpath(path, real_path) == NULL)
		strlcpy(real_path, path, sizeof(real_path));
	n = strlen(real_data);
	return strncmp(real_path, real_data, n) == 0 &&
		(real_path[n] == '/' || real_path[n] == '\0');
}

/* Logs that a configured key file sits in the data directory (at most once per path with once). */
void
keys_file_warn_in_data_dir(const char *path, bool once)
{
	if ((once && strcmp(keys_warned_path, path) == 0) || !keys_in_data_dir(path))
		return;
	strlcpy(keys_warned_path, path, sizeof(keys_warned_path));
	ereport(LOG,
			(errmsg("wib.key_file \"%s\" is inside the data directory", path),
			 errdetail("Backups and copies of the data directory then carry the keys that protect the secrets stored in it."),
			 errhint("Move the file outside the data directory and set wib.key_file to its new path.")));
}

/* Closes fd (when open), wipes the buffer and raises a configuration error about the key file path. */
static void
keys_file_error(int fd, const char *path, const char *msg, const char *detail, const char *hint)
{
	if (fd >= 0)
		close(fd);
	explicit_bzero(keys_file_buf, sizeof(keys_file_buf));
	ereport(ERROR,
			(errcode(ERRCODE_CONFIG_FILE_ERROR),
			 errmsg("key file \"%s\" %s", path, msg),
			 detail ? errdetail("%s", detail) : 0,
			 hint ? errhint("%s", hint) : 0));
}

/* Closes fd (when open), wipes the buffer and raises the file access error of errno about path. */
static void
keys_file_access_error(int fd, const char *what, const char *path)
{
	int			save_errno = errno;

	if (fd >= 0)
		close(fd);
	explicit_bzero(keys_file_buf, sizeof(keys_file_buf));
	errno = save_errno;
	ereport(ERROR,
			(errcode_for_file_access(),
			 errmsg("could not %s key file \"%s\": %m", what, path)));
}

/*
 * Reads the key file at path into ring after checking, on the open
 * file itself, that it is a regular file of the server's user with no group
 * or world access; st receives its identity for change detection.  The
 * descriptor is closed on every path (this may run outside a transaction).
 */
void
keys_file_read(const char *path, Keyring *ring, struct stat *st)
{
	int			fd;
	size_t		len = 0;
	bool		parsed;
	char		reason[KEYRING_REASON_LEN];

	/* O_NONBLOCK: a FIFO planted at the path must not hang the backend. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		keys_file_access_error(-1, "open", path);
	if (fstat(fd, st) != 0)
		keys_file_access_error(fd, "stat", path);
	if (!S_ISREG(st->st_mode))
		keys_file_error(fd, path, "is not a regular file", NULL, NULL);
	if (st->st_uid != geteuid())
		keys_file_error(fd, path, "is not owned by the database server's operating system user",
						psprintf("It is owned by user ID %u; the server runs as user ID %u.",
								 (unsigned) st->st_uid, (unsigned) geteuid()),
						"Change its owner to the user that runs the server.");
	if ((st->st_mode & 07777 & ~(S_IRUSR | S_IWUSR)) != 0)
		keys_file_error(fd, path, "has group or world access",
						psprintf("Its permissions are %04o; they must be 0600 or stricter.",
								 (unsigned) (st->st_mode & 07777)),
						"Run chmod 600 on it.");
	if (st->st_size > KEYS_FILE_MAX)
		keys_file_error(fd, path, "is too large",
						psprintf("It has %lld bytes; a key file has at most %d.",
								 (long long) st->st_size, KEYS_FILE_MAX),
						NULL);
	for (;;)
	{
		ssize_t		n = read(fd, keys_file_buf + len, sizeof(keys_file_buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			keys_file_access_error(fd, "read", path);
		if (n == 0)
			break;
		len += (size_t) n;
		if (len > KEYS_FILE_MAX)
			keys_file_error(fd, path, "is too large", NULL, NULL);
	}
	close(fd);
	parsed = keyring_parse_file(keys_file_buf, len, ring, reason);
	explicit_bzero(keys_file_buf, len);
	if (!parsed)
		keys_file_error(-1, path, "is malformed", keys_reason_detail(reason),
						"Each line is \"<id> <base64 of 32 bytes>\"; \"#\" starts a comment.");
}

/*
 * Creates wib_keys in the data directory with one random key (id 1) unless
 * it exists.  The file is written under a temporary name and linked into
 * place, so a concurrent backend either wins or sees a complete file, and a
 * key that may already have sealed data is never replaced.
 */
void
keys_file_generate(const char *path)
{
	uint8		key[KEYRING_KEY_LEN];
	char		text[512];
	char		tmp[MAXPGPATH];
	struct stat st;
	int			fd;
	int			len;
	bool		created;

	if (stat(path, &st) == 0)
		return;
	if (errno != ENOENT)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat key file \"%s\": %m", path)));

	if (!pg_strong_random(key, sizeof(key)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random key")));
	len = snprintf(text, sizeof(text),
				   "# wib key ring, generated on first use.  Lines are \"<id> <base64 of 32 bytes>\";\n"
				   "# the highest id seals and signs, every id opens and verifies.\n"
				   "# Move this file outside the data directory (mode 0600, owned by the server's\n"
				   "# user) and point wib.key_file at it: copies of the data directory carry it.\n");
	len += (int) keyring_format_line(1, key, text + len);
	explicit_bzero(key, sizeof(key));

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, MyProcPid);
	(void) unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
	if (fd < 0)
	{
		explicit_bzero(text, sizeof(text));
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create key file \"%s\": %m", tmp)));
	}
	if (write(fd, text, len) != len || pg_fsync(fd) != 0)
	{
		int			save_errno = errno;

		explicit_bzero(text, sizeof(text));
		close(fd);
		(void) unlink(tmp);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write key file \"%s\": %m", tmp)));
	}
	explicit_bzero(text, sizeof(text));
	close(fd);

	created = link(tmp, path) == 0;
	if (!created && errno != EEXIST)
	{
		int			save_errno = errno;

		(void) unlink(tmp);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create key file \"%s\": %m", path)));
	}
	(void) unlink(tmp);
	if (!created)
		return;					/* another backend was first: use its key */
	fsync_fname(DataDir, true);
	ereport(LOG,
			(errmsg("wib generated its key ring in the data directory, \"%s\"", path),
			 errdetail("Backups and copies of the data directory carry this key along with the secrets it protects."),
			 errhint("Move the file outside the data directory (mode 0600, owned by the server's user) and set wib.key_file to its new path.")));
}

/* True when the file at path is gone, replaced or changed since it had identity was. */
bool
keys_file_changed(const char *path, const struct stat *was)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return true;
	return st.st_dev != was->st_dev || st.st_ino != was->st_ino ||
		st.st_size != was->st_size ||
		st.st_mtim.tv_sec != was->st_mtim.tv_sec ||
		st.st_mtim.tv_nsec != was->st_mtim.tv_nsec ||
		st.st_ctim.tv_sec != was->st_ctim.tv_sec ||
		st.st_ctim.tv_nsec != was->st_ctim.tv_nsec;
}
