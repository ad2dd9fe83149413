/*
 * files.c
 *		Export settings, and reading and removing the files of completed exports.
 *
 * Files live in wib.export_directory (relative paths are inside the data
 * directory) under a storage key the extension chose: <job id>.csv or
 * <job id>.jsonl.  Keys are checked so that no caller can reach another path.
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "common/file_perm.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "core/errors.h"
#include "export/files.h"
#include "export/s3_client.h"
#include "export/storage_channel.h"

char	   *export_directory = NULL;
static char *export_download_base_url = NULL;
static int	export_ttl_seconds = 86400;
static int	export_rate_limit = 20;
static int	export_max_chunk = 8 * 1024 * 1024;

/* Defines the export settings (called from _PG_init). */
void
exports_define_settings(void)
{
	DefineCustomStringVariable("wib.export_directory",
							   "Directory where export files are written.",
							   "A relative path is inside the data directory.",
							   &export_directory,
							   "wib_exports",
							   PGC_SIGHUP,
							   0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("wib.export_ttl",
							"How long a completed export file is kept before it expires.",
							NULL,
							&export_ttl_seconds,
							86400, 60, 30 * 86400,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.export_rate_limit",
							"Exports an organization may request per hour.",
							NULL,
							&export_rate_limit,
							20, 1, 100000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.export_max_chunk",
							"Largest chunk wib.export_read returns.",
							NULL,
							&export_max_chunk,
							8 * 1024 * 1024, 1024, 64 * 1024 * 1024,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);
	DefineCustomStringVariable("wib.export_download_base_url",
							   "Start of the download links wib.export_download_url returns for exports kept in local files.",
							   "The signed token is appended to it (for example https://app.example.com/exports/download?token=). Empty: the token alone.",
							   &export_download_base_url,
							   "",
							   PGC_SIGHUP,
							   0,
							   NULL, NULL, NULL);
	s3_define_settings();
	storage_channel_define_settings();
}

/* The export directory, created (mode 0700) when missing. */
char *
export_directory_path(void)
{
	char	   *dir = export_directory;

	if (dir == NULL || dir[0] == '\0')
		dir = "wib_exports";
	if (mkdir(dir, pg_dir_create_mode) != 0 && errno != EEXIST)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_EXPORT_FILE),
				 errmsg("could not create export directory \"%s\": %m", dir),
				 errhint("Set wib.export_directory to a directory the server can write.")));
	return dir;
}

/* True when s starts with 36 characters of a UUID's lower-case text. */
static bool
is_uuid_text(const char *s)
{
	int			i;

	for (i = 0; i < 36; i++)
	{
		char		c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (c != '-')
				return false;
		}
		else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

/*
 * The path of a storage key "<organization id>/<job id>.csv|.jsonl"; refuses
 * any other key, so no caller reaches a path the extension did not make.
 * With create_dir, the organization's directory is created when missing.
 */
char *
export_file_path(const char *storage_key, bool create_dir)
{
	const char *dir = export_directory_path();
	size_t		len = strlen(storage_key);

	if (len < 73 || !is_uuid_text(storage_key) || storage_key[36] != '/' ||
		!is_uuid_text(storage_key + 37) ||
		(strcmp(storage_key + 73, ".csv") != 0 && strcmp(storage_key + 73, ".jsonl") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid storage_key"),
				 errdetail("A storage key is <organization id>/<job id>.csv or .jsonl.")));
	if (create_dir)
	{
		char	   *org_dir = psprintf("%s/%.36s", dir, storage_key);

		if (mkdir(org_dir, pg_dir_create_mode) != 0 && errno != EEXIST)
			ereport(ERROR,
					(errcode(ERRCODE_WIB_EXPORT_FILE),
					 errmsg("could not create export directory \"%s\": %m", org_dir)));
	}
	return psprintf("%s/%s", dir, storage_key);
}

/*
 * wib.export_file_read(storage_key, offset, length): up to length bytes of an
 * export file from offset (empty past the end).  Internal: the API checks the
 * job belongs to the organization in context first.
 */
PG_FUNCTION_INFO_V1(wib_export_file_read);
Datum
wib_export_file_read(PG_FUNCTION_ARGS)
{
	char	   *path = export_file_path(text_to_cstring(PG_GETARG_TEXT_PP(0)), false);
	int64		offset = PG_GETARG_INT64(1);
	int32		length = PG_GETARG_INT32(2);
	bytea	   *result;
	int			fd;
	ssize_t		got = 0;

	if (offset < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid offset"),
				 errdetail("offset must be zero or more, not %lld.", (long long) offset)));
	if (length < 1 || length > export_max_chunk)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid length"),
				 errdetail("length must be between 1 and %d (wib.export_max_chunk), not %d.",
						   export_max_chunk, length)));

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_EXPORT_EXPIRED),
				 errmsg("export file is gone"),
				 errdetail("The file of this export no longer exists.")));
	result = (bytea *) palloc(VARHDRSZ + length);
	while (got < length)
	{
		ssize_t		n = pg_pread(fd, VARDATA(result) + got, length - got, offset + got);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read export file: %m")));
		}
		if (n == 0)
			break;
		got += n;
	}
	CloseTransientFile(fd);
	SET_VARSIZE(result, VARHDRSZ + got);
	PG_RETURN_BYTEA_P(result);
}

/* wib.export_file_remove(storage_key): removes an export file; false when it was already gone. */
PG_FUNCTION_INFO_V1(wib_export_file_remove);
Datum
wib_export_file_remove(PG_FUNCTION_ARGS)
{
	char	   *path = export_file_path(text_to_cstring(PG_GETARG_TEXT_PP(0)), false);

	if (unlink(path) != 0)
	{
		if (errno == ENOENT)
			PG_RETURN_BOOL(false);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not remove export file: %m")));
	}
	PG_RETURN_BOOL(true);
}
