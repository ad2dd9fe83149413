/*
 * push_deliver.c
 *		The Web Push channel of the deliverer (src/workers/channel.c): claims
 *		due pushes with a lease, encrypts each for its subscription (RFC 8291,
 *		a fresh key and salt per message), authorizes it with a VAPID token
 *		(RFC 8292) cached per push service, and records what the service
 *		answered.
 *
 * Everything a request needs is prepared at claim, in the claim's
 * transaction, so nothing runs while the engine sends (no start callback).
 * A push whose message cannot be built (a key the kernel refuses) fails at
 * claim without being sent.  Like webhooks, a push sent but not recorded
 * (the deliverer died) is sent again when its lease ends: at least once, and
 * the payload carries the push's id for the service worker to drop repeats.
 */
#include "postgres.h"

#include <openssl/crypto.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/uuid.h"

#include "crypto/codec.h"
#include "http/engine.h"
#include "http/http_settings.h"
#include "push/push_deliver.h"
#include "workers/channel.h"
#include "push/push_settings.h"
#include "push/vapid.h"
#include "push/webpush.h"

#define PUSH_HEADERS_MAX	6
#define RESPONSE_KEPT		512		/* bytes of a push service's answer recorded */
#define VAPID_KEYS_MAX		8		/* keys one pass may use (current and retired) */
#define TOKEN_CACHE_SIZE	64		/* push services whose token is kept */
#define TOKEN_MARGIN_MAX	300		/* a token is renewed this long before exp, at most */

/* One claimed push and the request that sends it. */
typedef struct Push
{
	pg_uuid_t	organization_id;
	pg_uuid_t	id;
	int32		attempt;
	const char *headers[PUSH_HEADERS_MAX];
} Push;

/* A VAPID key of the pass, opened from the vault. */
typedef struct VapidKey
{
	int32		id;
	uint8		priv[WEBPUSH_PRIVATE_LEN];
	uint8		pub[WEBPUSH_PUBLIC_LEN];
	char		subject[VAPID_SUB_MAX];
} VapidKey;

/* A signed token for one push service, reused until shortly before it expires. */
typedef struct TokenEntry
{
	int32		key_id;			/* 0: unused */
	int64		exp;
	char		aud[VAPID_AUD_MAX];
	char		sub[VAPID_SUB_MAX];
	char		header[VAPID_AUTHORIZATION_MAX + 16];
} TokenEntry;

static VapidKey vapid_keys[VAPID_KEYS_MAX];
static int	vapid_key_count = 0;
static TokenEntry *token_cache = NULL;

/* Wipes the keys a pass opened. */
static void
forget_keys(void)
{
	OPENSSL_cleanse(vapid_keys, sizeof(vapid_keys));
	vapid_key_count = 0;
}

/* Opens the VAPID keys with the given ids (the claim's) into vapid_keys. */
static void
load_keys(const int32 *ids, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	Oid			types[1] = {INT4ARRAYOID};
	Datum		values[1];

	forget_keys();
	for (int i = 0; i < n; i++)
		elems[i] = Int32GetDatum(ids[i]);
	values[0] = PointerGetDatum(construct_array(elems, n, INT4OID, 4, true, TYPALIGN_INT));
	if (SPI_execute_with_args("SELECT k.id, k.public_key, "
							  "wib.vault_open_bytes(k.private_key, NULL, 'vapid_keys.private_key', k.id::text), "
							  "k.subject FROM wib.vapid_keys k WHERE k.id = ANY ($1)",
							  1, types, values, NULL, true, VAPID_KEYS_MAX) != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("wib deliverer could not read the VAPID keys")));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		bytea	   *pub = DatumGetByteaPP(SPI_getbinval(tup, desc, 2, &isnull));
		bytea	   *priv = DatumGetByteaPP(SPI_getbinval(tup, desc, 3, &isnull));
		char	   *subject = SPI_getvalue(tup, desc, 4);
		VapidKey   *k = &vapid_keys[vapid_key_count];

		if (VARSIZE_ANY_EXHDR(pub) != WEBPUSH_PUBLIC_LEN || VARSIZE_ANY_EXHDR(priv) != WEBPUSH_PRIVATE_LEN ||
			subject == NULL || strlen(subject) >= VAPID_SUB_MAX)
			continue;
		k->id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		memcpy(k->pub, VARDATA_ANY(pub), WEBPUSH_PUBLIC_LEN);
		memcpy(k->priv, VARDATA_ANY(priv), WEBPUSH_PRIVATE_LEN);
		OPENSSL_cleanse(VARDATA_ANY(priv), WEBPUSH_PRIVATE_LEN);
		strlcpy(k->subject, subject, VAPID_SUB_MAX);
		vapid_key_count++;
	}
}

/* The key of the pass with this id, or NULL. */
static const VapidKey *
find_key(int32 id)
{
	for (int i = 0; i < vapid_key_count; i++)
		if (vapid_keys[i].id == id)
			return &vapid_keys[i];
	return NULL;
}

/*
 * The Authorization header line for a push service (aud) under a key: the
 * cached token while it has more than a margin to live, else a new one
 * (expiring wib.vapid_token_lifetime from now) replacing the entry that
 * expires first.  NULL with a reason when signing fails.
 */
static const char *
authorization(const VapidKey *key, const char *aud, char *reason)
{
	int64		now = (int64) time(NULL);
	int64		margin = Min(TOKEN_MARGIN_MAX, push_jwt_lifetime / 4);
	TokenEntry *victim = NULL;
	char		jwt[VAPID_JWT_MAX];
	size_t		len;

	if (token_cache == NULL)
		token_cache = MemoryContextAllocZero(TopMemoryContext, sizeof(TokenEntry) * TOKEN_CACHE_SIZE);
	for (int i = 0; i < TOKEN_CACHE_SIZE; i++)
	{
		TokenEntry *e = &token_cache[i];

		if (e->key_id == key->id && strcmp(e->aud, aud) == 0 && strcmp(e->sub, key->subject) == 0 &&
			e->exp - now > margin)
			return e->header;
		if (victim == NULL || e->key_id == 0 || (victim->key_id != 0 && e->exp < victim->exp))
			victim = e;
	}
	victim->key_id = 0;
	if (!vapid_jwt_sign(key->priv, aud, now + push_jwt_lifetime, key->subject, jwt, sizeof(jwt), reason))
		return NULL;
	strcpy(victim->header, "Authorization: ");
	len = vapid_authorization(jwt, key->pub, victim->header + strlen("Authorization: "),
							  sizeof(victim->header) - strlen("Authorization: "));
	if (len == 0)
	{
		snprintf(reason, WEBPUSH_REASON_LEN, "the VAPID token does not fit in the Authorization header");
		return NULL;
	}
	strlcpy(victim->aud, aud, sizeof(victim->aud));
	strlcpy(victim->sub, key->subject, sizeof(victim->sub));
	victim->exp = now + push_jwt_lifetime;
	victim->key_id = key->id;
	return victim->header;
}

/* Bytes of zero padding after len bytes of plaintext: up to the next wib.push_padding block. */
static size_t
padding_for(size_t len)
{
	size_t		block = (size_t) push_pad_block;
	size_t		used = len + 1;
	size_t		pad;

	if (block == 0)
		return 0;
	pad = (used + block - 1) / block * block - used;
	return Min(pad, WEBPUSH_MAX_PLAINTEXT - len);
}

/*
 * Builds the request of one claimed row in mcxt: the encrypted body and
 * the headers.  False with a reason when the push cannot be sent.
 */
static bool
prepare_push(HeapTuple tup, TupleDesc desc, MemoryContext mcxt, Push *p, HttpRequest *req, char *reason)
{
	bool		isnull;
	char	   *endpoint = SPI_getvalue(tup, desc, 4);
	char	   *p256dh_text = SPI_getvalue(tup, desc, 5);
	Datum		auth_datum = SPI_getbinval(tup, desc, 6, &isnull);
	bytea	   *auth = isnull ? NULL : DatumGetByteaPP(auth_datum);
	char	   *payload = SPI_getvalue(tup, desc, 7);
	char	   *urgency = SPI_getvalue(tup, desc, 8);
	char	   *topic = SPI_getvalue(tup, desc, 9);
	int32		key_id = DatumGetInt32(SPI_getbinval(tup, desc, 10, &isnull));
	const VapidKey *key = find_key(key_id);
	uint8		ua_public[WEBPUSH_PUBLIC_LEN];
	char		aud[VAPID_AUD_MAX];
	const char *auth_header;
	size_t		len;
	size_t		pad;
	size_t		body_len;
	uint8	   *body;
	int			nheaders = 0;
	bool		ok;

	if (endpoint == NULL || p256dh_text == NULL || payload == NULL || auth == NULL ||
		VARSIZE_ANY_EXHDR(auth) != WEBPUSH_AUTH_LEN)
	{
		snprintf(reason, WEBPUSH_REASON_LEN, "the subscription's keys could not be read");
		return false;
	}
	if (key == NULL)
	{
		snprintf(reason, WEBPUSH_REASON_LEN, "VAPID key %d could not be opened", key_id);
		return false;
	}
	if (codec_base64url_decode(p256dh_text, strlen(p256dh_text), ua_public, sizeof(ua_public)) !=
		WEBPUSH_PUBLIC_LEN)
	{
		snprintf(reason, WEBPUSH_REASON_LEN, "the subscription's p256dh key is not 65 bytes of base64url");
		return false;
	}
	if (!vapid_audience(endpoint, aud, sizeof(aud), http_allow_http))
	{
		snprintf(reason, WEBPUSH_REASON_LEN, "the endpoint has no origin a VAPID token can name");
		return false;
	}
	if ((auth_header = authorization(key, aud, reason)) == NULL)
		return false;

	len = strlen(payload);
	if (len > WEBPUSH_MAX_PLAINTEXT)
	{
		snprintf(reason, WEBPUSH_REASON_LEN, "the notification of %zu bytes does not fit in one push message", len);
		return false;
	}
	pad = padding_for(len);
	body_len = WEBPUSH_PADDED_LEN(len, pad);
	body = MemoryContextAlloc(mcxt, body_len);
	ok = webpush_encrypt_padded(ua_public, (const uint8 *) VARDATA_ANY(auth), (const uint8 *) payload, len,
								pad, NULL, body, body_len, &body_len, NULL, reason);
	OPENSSL_cleanse(VARDATA_ANY(auth), WEBPUSH_AUTH_LEN);
	if (!ok)
		return false;

	p->organization_id = *DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull));
	p->id = *DatumGetUUIDP(SPI_getbinval(tup, desc, 2, &isnull));
	p->attempt = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
	p->headers[nheaders++] = MemoryContextStrdup(mcxt, psprintf("TTL: %d", push_ttl_seconds));
	p->headers[nheaders++] = MemoryContextStrdup(mcxt, psprintf("Urgency: %s", urgency ? urgency : "normal"));
	if (topic != NULL)
		p->headers[nheaders++] = MemoryContextStrdup(mcxt, psprintf("Topic: %s", topic));
	p->headers[nheaders++] = "Content-Encoding: aes128gcm";
	p->headers[nheaders++] = "Content-Type: application/octet-stream";
	p->headers[nheaders++] = MemoryContextStrdup(mcxt, auth_header);

	/* A tenant's URL: guarded.  Only the head of the answer is kept. */
	http_request_init(req, "POST", MemoryContextStrdup(mcxt, endpoint));
	req->headers = p->headers;
	req->nheaders = nheaders;
	req->body = (const char *) body;
	req->body_len = body_len;
	req->max_response = RESPONSE_KEPT;
	req->truncate_ok = true;
	return true;
}

/* Marks pushes that could not be prepared failed, in the claim's transaction. */
static void
fail_pushes(Datum *orgs, Datum *ids, Datum *errors, int n)
{
	Oid			types[3] = {UUIDARRAYOID, UUIDARRAYOID, TEXTARRAYOID};
	Datum		values[3];

	values[0] = PointerGetDatum(construct_array(orgs, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
	values[1] = PointerGetDatum(construct_array(ids, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
	values[2] = PointerGetDatum(construct_array(errors, n, TEXTOID, -1, false, TYPALIGN_INT));
	if (SPI_execute_with_args("SELECT wib.push_fail($1, $2, $3)", 3, types, values, NULL, false, 0) != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("wib deliverer could not record failed pushes")));
}

/* The channel's claim: leases due pushes, then encrypts and authorizes each. */
static int
push_claim(int max_items, int lease_seconds, MemoryContext mcxt, void **items, HttpRequest *requests)
{
	Oid			types[2] = {INT4OID, INT4OID};
	Datum		values[2] = {Int32GetDatum(max_items), Int32GetDatum(lease_seconds)};
	SPITupleTable *claimed;
	int			n;
	int			sent = 0;
	int			nfailed = 0;
	int32	   *key_ids;
	int			nkeys = 0;
	Push	   *pushes;
	Datum	   *failed_orgs;
	Datum	   *failed_ids;
	Datum	   *failed_errors;

	if (SPI_execute_with_args("SELECT * FROM wib.push_claim($1, pg_catalog.make_interval(secs => $2))",
							  2, types, values, NULL, false, 0) != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("wib deliverer could not claim pushes")));
	n = (int) SPI_processed;
	claimed = SPI_tuptable;
	pushes = (Push *) MemoryContextAllocZero(mcxt, sizeof(Push) * Max(n, 1));
	*items = pushes;
	if (n == 0)
		return 0;

	/* The VAPID keys the claimed pushes were subscribed under. */
	key_ids = palloc(sizeof(int32) * n);
	for (int i = 0; i < n; i++)
	{
		bool		isnull;
		int32		id = DatumGetInt32(SPI_getbinval(claimed->vals[i], claimed->tupdesc, 10, &isnull));
		bool		seen = false;

		for (int j = 0; j < nkeys; j++)
			seen = seen || key_ids[j] == id;
		if (!seen && nkeys < VAPID_KEYS_MAX)
			key_ids[nkeys++] = id;
	}
	load_keys(key_ids, nkeys);

	failed_orgs = palloc(sizeof(Datum) * n);
	failed_ids = palloc(sizeof(Datum) * n);
	failed_errors = palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = claimed->vals[i];
		char		reason[WEBPUSH_REASON_LEN];

		CHECK_FOR_INTERRUPTS();
		reason[0] = '\0';
		if (prepare_push(tup, claimed->tupdesc, mcxt, &pushes[sent], &requests[sent], reason))
			sent++;
		else
		{
			bool		isnull;

			failed_orgs[nfailed] = SPI_getbinval(tup, claimed->tupdesc, 1, &isnull);
			failed_ids[nfailed] = SPI_getbinval(tup, claimed->tupdesc, 2, &isnull);
			failed_errors[nfailed] = CStringGetTextDatum(reason[0] ? reason : "the push could not be prepared");
			nfailed++;
		}
	}
	forget_keys();
	if (nfailed > 0)
		fail_pushes(failed_orgs, failed_ids, failed_errors, nfailed);
	return sent;
}

/* The channel's record: every outcome in one call of wib.push_record. */
static void
push_record(void *items, HttpRequest *reqs, int n)
{
	Push	   *p = (Push *) items;
	Datum	   *orgs = palloc(sizeof(Datum) * n);
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum	   *attempts = palloc(sizeof(Datum) * n);
	Datum	   *statuses = palloc(sizeof(Datum) * n);
	Datum	   *errors = palloc(sizeof(Datum) * n);
	bool	   *error_nulls = palloc(sizeof(bool) * n);
	Datum	   *bodies = palloc(sizeof(Datum) * n);
	Datum	   *durations = palloc(sizeof(Datum) * n);
	Datum	   *retry_after = palloc(sizeof(Datum) * n);
	bool	   *retry_nulls = palloc(sizeof(bool) * n);
	int			dims[1] = {n};
	int			lbs[1] = {1};
	Oid			types[8] = {UUIDARRAYOID, UUIDARRAYOID, INT4ARRAYOID, INT4ARRAYOID,
	TEXTARRAYOID, TEXTARRAYOID, INT4ARRAYOID, INT4ARRAYOID};
	Datum		values[8];

	for (int i = 0; i < n; i++)
	{
		const HttpResult *res = &reqs[i].result;

		orgs[i] = UUIDPGetDatum(&p[i].organization_id);
		ids[i] = UUIDPGetDatum(&p[i].id);
		attempts[i] = Int32GetDatum(p[i].attempt);
		statuses[i] = Int32GetDatum((int32) res->status);
		error_nulls[i] = res->error[0] == '\0';
		errors[i] = error_nulls[i] ? (Datum) 0 : CStringGetTextDatum(res->error);
		bodies[i] = channel_response_text(&reqs[i]);
		durations[i] = Int32GetDatum(res->duration_ms);
		retry_nulls[i] = res->retry_after_seconds < 0;
		retry_after[i] = Int32GetDatum(Max(res->retry_after_seconds, 0));
	}
	values[0] = PointerGetDatum(construct_array(orgs, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
	values[1] = PointerGetDatum(construct_array(ids, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
	values[2] = PointerGetDatum(construct_array(attempts, n, INT4OID, 4, true, TYPALIGN_INT));
	values[3] = PointerGetDatum(construct_array(statuses, n, INT4OID, 4, true, TYPALIGN_INT));
	values[4] = PointerGetDatum(construct_md_array(errors, error_nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
	values[5] = PointerGetDatum(construct_array(bodies, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[6] = PointerGetDatum(construct_array(durations, n, INT4OID, 4, true, TYPALIGN_INT));
	values[7] = PointerGetDatum(construct_md_array(retry_after, retry_nulls, 1, dims, lbs, INT4OID, 4, true, TYPALIGN_INT));
	if (SPI_execute_with_args("SELECT wib.push_record($1, $2, $3, $4, $5, $6, $7, $8)",
							  8, types, values, NULL, false, 0) != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("wib deliverer could not record push results")));
}

/* The channel's release: pushes leased by a deliverer that died are due at once. */
static void
push_release(void)
{
	SPI_execute("SELECT wib.push_release_leases()", false, 0);
}

static int
push_channel_batch_size(void)
{
	return push_batch_size;
}

const DeliveryChannel push_channel = {
	.name = "push",
	.batch_size = push_channel_batch_size,
	.claim = push_claim,
	.record = push_record,
	.release = push_release,
};
