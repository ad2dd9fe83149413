/*
 * keys.c
 *		The key ring of a backend: loaded lazily from wib.keys, wib.key_file
 *		or the generated data-directory file, and reloaded when they change.
 *
 * Keys live in TopMemoryContext and are wiped before they are freed; the
 * buffers used while parsing are wiped on every path, errors included.
 * Nothing here prints key material: parse errors name the entry or line, and
 * a log hook keeps the value of wib.keys out of the messages PostgreSQL logs
 * about it (a changed setting at reload, ALTER SYSTEM statements) and the
 * statements of the vault's and tokens' reports, which may hold plaintext.
 *
 * A configured source that cannot be used is an error, never a reason to
 * fall back to the generated key: sealing under an unexpected key would
 * strand data.  The generated file is used only when neither setting is set.
 */
#include "postgres.h"

#include <sys/stat.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "crypto/keyring.h"
#include "crypto/keys.h"
#include "crypto/keys_file.h"

#define KEYS_GENERATED_FILE	"wib_keys"
#define KEYS_MALFORMED_MSG	"wib.keys is malformed"

static char *keys_setting = NULL;
static char *key_file_setting = NULL;

/* wib was loaded by the postmaster, which then reports misplaced key files itself. */
static bool keys_preloaded = false;

/* A value of the setting in the configuration was refused when wib loaded. */
static bool keys_setting_refused = false;
static bool key_file_refused = false;

/* The ring, in TopMemoryContext; stale means reload before the next use. */
static VaultKey *ring = NULL;
static int	ring_count = 0;
static const VaultKey *ring_current = NULL;
static bool ring_stale = true;
static char ring_path[MAXPGPATH];	/* the file it came from, "" for wib.keys */
static struct stat ring_stat;

/* Parsing scratch space, wiped after every use. */
static Keyring keys_scratch;

static emit_log_hook_type prev_emit_log_hook = NULL;

/* Wipes and frees the loaded ring. */
static void
keys_ring_clear(void)
{
	if (ring != NULL)
	{
		explicit_bzero(ring, sizeof(VaultKey) * ring_count);
		pfree(ring);
	}
	ring = NULL;
	ring_count = 0;
	ring_current = NULL;
	ring_path[0] = '\0';
	ring_stale = true;
}

/* Check hook of wib.keys: the syntax, without ever echoing the value. */
static bool
keys_check_keys(char **newval, void **extra, GucSource source)
{
	char		reason[KEYRING_REASON_LEN];
	bool		ok;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	ok = keyring_parse_list(*newval, strlen(*newval), &keys_scratch, reason);
	keyring_wipe(&keys_scratch);
	if (!ok)
	{
		/* Without our own message PostgreSQL would quote the value. */
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg(KEYS_MALFORMED_MSG);
		GUC_check_errdetail("%s", keys_reason_detail(reason));
		GUC_check_errhint("wib.keys is a comma-separated list of <id>:<base64 of 32 bytes>.");
	}
	return ok;
}

/* Check hook of wib.key_file: empty or an absolute path. */
static bool
keys_check_key_file(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if ((*newval)[0] != '/' || strlen(*newval) >= MAXPGPATH)
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errdetail("wib.key_file must be an absolute path shorter than %d bytes.",
							MAXPGPATH);
		return false;
	}
	return true;
}

/* Assign hook of wib.keys: the ring is reloaded on next use. */
static void
keys_assign_keys(const char *newval, void *extra)
{
	keys_setting_refused = false;
	ring_stale = true;
}

/*
 * Assign hook of wib.key_file: the ring is reloaded on next use; the
 * postmaster (at start and at each reload) reports a file inside the data
 * directory, once for the whole server rather than once per backend.
 */
static void
keys_assign_key_file(const char *newval, void *extra)
{
	key_file_refused = false;
	ring_stale = true;
	if (!IsUnderPostmaster && newval != NULL && newval[0] != '\0')
		keys_file_warn_in_data_dir(newval, false);
}

/* ASCII case-insensitive "does s contain wib.keys". */
static bool
keys_mentions_setting(const char *s)
{
	static const char name[] = "wib.keys";

	for (; s != NULL && *s != '\0'; s++)
		if (pg_strncasecmp(s, name, sizeof(name) - 1) == 0)
			return true;
	return false;
}

/* True for the source files whose reports may come from a statement carrying secrets. */
static bool
keys_secret_source(const char *filename)
{
	return filename != NULL &&
		(strcmp(filename, "keys.c") == 0 || strcmp(filename, "keys_file.c") == 0 ||
		 strcmp(filename, "vault_sql.c") == 0 || strcmp(filename, "token_sql.c") == 0 ||
		 strcmp(filename, "download.c") == 0);
}

/*
 * Keeps secrets out of the server log: the value of wib.keys in the
 * postmaster's "parameter changed" message after a reload, in statements
 * naming it (ALTER SYSTEM) logged by log_statement and in the statement of an
 * error about it; and the statement (which may hold a plaintext or a token)
 * of any report of the key ring, the vault or the tokens.
 */
static void
keys_emit_log_hook(ErrorData *edata)
{
	if (edata->message_id != NULL && edata->message != NULL)
	{
		if (strcmp(edata->message_id, "parameter \"%s\" changed to \"%s\"") == 0 &&
			strstr(edata->message, "\"wib.keys\"") != NULL)
			edata->message = pstrdup("parameter \"wib.keys\" changed (value not shown)");
		else if (strstr(edata->message_id, "statement: %s") != NULL &&
				 keys_mentions_setting(edata->message))
			edata->message = pstrdup("statement: (not shown: it names wib.keys)");
	}
	if (!edata->hide_stmt &&
		(keys_secret_source(edata->filename) || keys_mentions_setting(debug_query_string)))
		edata->hide_stmt = true;
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/* True when the configuration gives the (not yet defined) setting name a non-empty value. */
static bool
keys_configured(const char *name)
{
	const char *value = GetConfigOption(name, true, false);

	return value != NULL && value[0] != '\0';
}

void
keys_define_settings(void)
{
	bool		keys_given;
	bool		file_given;

	/*
	 * A value in postgresql.conf that fails its check when wib loads leaves
	 * the setting empty, which would silently mean "use the generated key".
	 * Remember that it was configured, and refuse to load keys instead.
	 */
	keys_given = keys_configured("wib.keys");
	file_given = keys_configured("wib.key_file");

	DefineCustomStringVariable("wib.keys",
							   "wib's encryption and signing keys, as <id>:<base64 of 32 bytes>, comma-separated.",
							   "The key with the highest id seals and signs; every key opens and verifies. "
							   "Takes precedence over wib.key_file, which is to be preferred.",
							   &keys_setting,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   keys_check_keys, keys_assign_keys, NULL);
	DefineCustomStringVariable("wib.key_file",
							   "Absolute path of the file of \"<id> <base64 of 32 bytes>\" lines holding wib's keys.",
							   "Used when wib.keys is empty.  Must be a regular file owned by the server's "
							   "user with mode 0600 or stricter, outside the data directory.  When both are "
							   "empty, wib generates " KEYS_GENERATED_FILE " in the data directory.",
							   &key_file_setting,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							   keys_check_key_file, keys_assign_key_file, NULL);

	keys_setting_refused = keys_given && (keys_setting == NULL || keys_setting[0] == '\0');
	key_file_refused = file_given && (key_file_setting == NULL || key_file_setting[0] == '\0');

	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = keys_emit_log_hook;

	if (process_shared_preload_libraries_in_progress)
	{
		struct stat st;

		keys_preloaded = true;
		if ((keys_setting == NULL || keys_setting[0] == '\0') &&
			(key_file_setting == NULL || key_file_setting[0] == '\0') &&
			!keys_setting_refused && !key_file_refused &&
			stat(KEYS_GENERATED_FILE, &st) == 0)
			ereport(LOG,
					(errmsg("wib is using the key ring generated in the data directory, \"%s\"",
							KEYS_GENERATED_FILE),
					 errhint("Move it outside the data directory (mode 0600, owned by the server's user) and set wib.key_file to its path.")));
	}
}

/* Replaces the ring with the keys parsed into keys_scratch, deriving each use's key. */
static void
keys_install(const char *path, const struct stat *st)
{
	VaultKey   *fresh;
	const KeyringEntry *cur = keyring_current(&keys_scratch);
	int			n = keys_scratch.count;

	if (cur == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("wib has no key"),
				 errhint("Set wib.keys or wib.key_file and reload the configuration.")));
	fresh = MemoryContextAllocZero(TopMemoryContext, sizeof(VaultKey) * n);
	for (int i = 0; i < n; i++)
	{
		const KeyringEntry *e = &keys_scratch.entries[i];

		fresh[i].id = e->id;
		if (!keyring_derive(e->key, KEYRING_LABEL_VAULT, fresh[i].seal_key) ||
			!keyring_derive(e->key, KEYRING_LABEL_TOKEN, fresh[i].token_key))
		{
			explicit_bzero(fresh, sizeof(VaultKey) * n);
			pfree(fresh);
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not derive wib's keys")));
		}
	}
	keys_ring_clear();
	ring = fresh;
	ring_count = n;
	for (int i = 0; i < n; i++)
		if (fresh[i].id == cur->id)
			ring_current = &fresh[i];
	if (path != NULL)
	{
		strlcpy(ring_path, path, sizeof(ring_path));
		ring_stat = *st;
	}
	ring_stale = false;
}

/* Loads the ring from the first source that is set (see keys.h). */
static void
keys_load(void)
{
	PG_TRY();
	{
		char		reason[KEYRING_REASON_LEN];
		char		path[MAXPGPATH];
		struct stat st;

		if (keys_setting_refused || key_file_refused)
			ereport(ERROR,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("wib's keys are not loaded: %s was refused when wib was loaded",
							keys_setting_refused ? "wib.keys" : "wib.key_file"),
					 errhint("Correct it in the configuration and reload, or remove it and restart the server; the server log says what was wrong.")));
		if (keys_setting != NULL && keys_setting[0] != '\0')
		{
			if (!keyring_parse_list(keys_setting, strlen(keys_setting), &keys_scratch, reason))
				ereport(ERROR,
						(errcode(ERRCODE_CONFIG_FILE_ERROR),
						 errmsg(KEYS_MALFORMED_MSG),
						 errdetail("%s", keys_reason_detail(reason))));
			keys_install(NULL, NULL);
		}
		else
		{
			if (key_file_setting != NULL && key_file_setting[0] != '\0')
			{
				strlcpy(path, key_file_setting, sizeof(path));
				if (!keys_preloaded)
					keys_file_warn_in_data_dir(path, true);
			}
			else
			{
				snprintf(path, sizeof(path), "%s/%s", DataDir, KEYS_GENERATED_FILE);
				keys_file_generate(path);
			}
			keys_file_read(path, &keys_scratch, &st);
			keys_install(path, &st);
		}
	}
	PG_CATCH();
	{
		keyring_wipe(&keys_scratch);
		PG_RE_THROW();
	}
	PG_END_TRY();
	keyring_wipe(&keys_scratch);
}

/* The ring, reloaded first when a setting was reassigned or its file changed. */
static void
keys_ring(void)
{
	if (!ring_stale && ring_path[0] != '\0' && keys_file_changed(ring_path, &ring_stat))
		ring_stale = true;
	if (ring_stale)
	{
		keys_ring_clear();
		keys_load();
	}
	if (ring_count == 0 || ring_current == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("wib has no key"),
				 errhint("Set wib.keys or wib.key_file and reload the configuration.")));
}

const VaultKey *
keys_current(void)
{
	keys_ring();
	return ring_current;
}

const VaultKey *
keys_find(uint32 id)
{
	keys_ring();
	for (int i = 0; i < ring_count; i++)
		if (ring[i].id == id)
			return &ring[i];
	return NULL;
}

const VaultKey *
keys_lookup(uint32 id)
{
	const VaultKey *k = keys_find(id);
	StringInfoData ids;

	if (k != NULL)
		return k;
	initStringInfo(&ids);
	for (int i = 0; i < ring_count; i++)
		appendStringInfo(&ids, "%s%u", i > 0 ? ", " : "", ring[i].id);
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("key %u is not in wib's key ring", id),
			 errdetail("The ring holds key ids %s.", ids.data),
			 errhint("Add the key with id %u back to wib.keys or wib.key_file and reload the configuration.", id)));
	return NULL;				/* not reached */
}
