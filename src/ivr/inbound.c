/*
 * inbound.c
 *		wib.ivr_webhook: the entry point of every Telnyx callback, and the
 *		whole answer to an inbound call, in C.
 *
 * An inbound call is the hot path of the IVR: Telnyx waits for the TeXML
 * while the caller hears ringing.  So the steps that every callback takes
 * (signature, dialled number, replay check) and the inbound answer (toll-fraud
 * cap, spike detection, the call log row, the menu) run here, without a
 * procedural language in between: the lookups read the tables' unique
 * indexes directly (src/ivr/index_read.c), the writes are two saved plans.
 * A gather or a status callback, past the common steps, is answered by
 * wib.ivr_callback_answer (SQL), whose logic is the menu's.
 *
 * Order of the checks, each refusing with nothing written: the signature
 * (WB301, WB007) before anything is parsed; the dialled number "To" (22023,
 * WB305); the replay check (WB306), an insert of the signature's hash; then
 * kind and CallSid (22023).  The caller's own tenant context is restored on
 * return by the function's SET clauses.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "core/errors.h"
#include "core/rate_limit.h"
#include "ivr/flow.h"
#include "ivr/index_read.h"
#include "ivr/ivr_settings.h"
#include "ivr/request.h"
#include "ivr/spike.h"
#include "ivr/texml.h"
#include "ivr/texml_rules.h"

PG_FUNCTION_INFO_V1(wib_ivr_route);
PG_FUNCTION_INFO_V1(wib_ivr_webhook);

/* Where a callback goes: its organization and number. */
typedef struct IvrRoute
{
	pg_uuid_t	org;
	pg_uuid_t	number_id;
	char	   *to;
} IvrRoute;

/* Plans kept for the life of the backend (names schema-qualified). */
static SPIPlanPtr replay_plan = NULL;
static SPIPlanPtr call_log_plan = NULL;
static SPIPlanPtr answer_plan = NULL;
static SPIPlanPtr spike_plan = NULL;

/* A saved plan of sql, prepared on first use.  SPI is connected. */
static SPIPlanPtr
inbound_plan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, types);

		if (p == NULL || SPI_keepplan(p) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg_internal("could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result))));
		*plan = p;
	}
	return *plan;
}

/*
 * Verifies a callback and finds where it goes: the signature first, then the
 * dialled number "To" looked up in wib.inbound_number_routes.
 */
static void
inbound_route(const char *body, int len, const char *signature, const char *ts, IvrRoute *route)
{
	StringInfoData to;
	Datum		values[2];
	bool		nulls[2];

	ivr_request_verify(body, len, signature, ts);
	initStringInfo(&to);
	if (!form_find(body, len, "To", &to) || !texml_is_e164(to.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid To"),
				 errdetail("To must be the dialled E.164 number.")));
	if (!index_read_route(to.data, values, nulls))
		ereport(ERROR,
				(errcode(ERRCODE_WIB_IVR_NUMBER_UNKNOWN),
				 errmsg("dialled number %s is not provisioned", to.data)));
	memcpy(&route->org, DatumGetUUIDP(values[0]), sizeof(pg_uuid_t));
	memcpy(&route->number_id, DatumGetUUIDP(values[1]), sizeof(pg_uuid_t));
	route->to = to.data;
}

/* Argument n as a C string, or NULL. */
static char *
inbound_arg(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/*
 * wib.ivr_route(raw_body, signature, ts, OUT organization_id, OUT number_id,
 * OUT to_number): the organization and number a signed callback's dialled
 * number belongs to (WB007, WB301, 22023, WB305).
 */
Datum
wib_ivr_route(PG_FUNCTION_ARGS)
{
	bytea	   *body = PG_ARGISNULL(0) ? NULL : PG_GETARG_BYTEA_PP(0);
	IvrRoute	route;
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	pg_uuid_t  *org = palloc(sizeof(pg_uuid_t));
	pg_uuid_t  *number = palloc(sizeof(pg_uuid_t));

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("wib.ivr_route must be called in a context that accepts a record")));
	inbound_route(body ? VARDATA_ANY(body) : NULL, body ? VARSIZE_ANY_EXHDR(body) : 0,
				  inbound_arg(fcinfo, 1), inbound_arg(fcinfo, 2), &route);
	*org = route.org;
	*number = route.number_id;
	values[0] = UUIDPGetDatum(org);
	values[1] = UUIDPGetDatum(number);
	values[2] = CStringGetTextDatum(route.to);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/*
 * Refuses a callback this entry point already accepted: the SHA-256 of
 * kind || '|' || signature is inserted once (WB306 the second time).
 */
static void
inbound_check_replay(const char *kind, const char *signature)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	bytea	   *hash = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	Oid			types[1] = {BYTEAOID};
	Datum		values[1];

	SET_VARSIZE(hash, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) kind, strlen(kind)) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) "|", 1) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) signature, strlen(signature)) < 0 ||
		pg_cryptohash_final(ctx, (uint8 *) VARDATA(hash), PG_SHA256_DIGEST_LENGTH) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg_internal("could not hash a Telnyx signature")));
	pg_cryptohash_free(ctx);
	values[0] = PointerGetDatum(hash);
	if (SPI_execute_plan(inbound_plan(&replay_plan,
									  "INSERT INTO wib.ivr_callback_signatures (signature_hash) VALUES ($1)"
									  " ON CONFLICT (signature_hash) DO NOTHING", 1, types),
						 values, NULL, false, 0) != SPI_OK_INSERT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg_internal("could not record a Telnyx signature")));
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_IVR_CALLBACK_REPLAYED),
				 errmsg("Telnyx callback refused: this signature was already accepted"),
				 errdetail("A signed callback is accepted once; a repeat within its time window is a replay.")));
}

/* Reports a spike of calls on the number as ivr.call_spike (wib.ivr_call_spike). */
static void
inbound_report_spike(const IvrRoute *route, const IvrSpike *spike)
{
	Oid			types[6] = {UUIDOID, UUIDOID, TEXTOID, INT4OID, FLOAT8OID, TIMESTAMPTZOID};
	Datum		values[6];

	values[0] = UUIDPGetDatum(&route->org);
	values[1] = UUIDPGetDatum(&route->number_id);
	values[2] = CStringGetTextDatum(route->to);
	values[3] = Int32GetDatum(spike->calls);
	values[4] = Float8GetDatum(spike->baseline);
	values[5] = TimestampTzGetDatum((TimestampTz) spike->interval_start);
	if (SPI_execute_plan(inbound_plan(&spike_plan, "SELECT wib.ivr_call_spike($1, $2, $3, $4, $5, $6)", 6, types),
						 values, NULL, false, 0) != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg_internal("could not report a call spike")));
}

/*
 * The answer to an inbound call: over the toll-fraud cap <Reject busy>, a
 * number not active or without a menu <Reject rejected>, otherwise its menu
 * with the disclosure first; the call is logged once per CallSid either way.
 */
static text *
inbound_answer(const IvrRoute *route, const char *body, int len, const char *sid)
{
	Datum		number[2];
	bool		number_nulls[2];
	const char *final = NULL;
	text	   *doc = NULL;
	StringInfoData from;
	IvrSpike	spike;
	TimestampTz now = GetCurrentTimestamp();
	Oid			types[8] = {UUIDOID, UUIDOID, TEXTOID, TEXTOID, TEXTOID, UUIDOID, TEXTOID, TEXTOID};
	Datum		values[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	char	   *key;
	bool		has_menu;

	if (!index_read_number(&route->org, &route->number_id, number, number_nulls))
		ereport(ERROR,
				(errcode(ERRCODE_WIB_IVR_NUMBER_UNKNOWN),
				 errmsg("dialled number %s is not provisioned", route->to)));
	has_menu = !number_nulls[1];

	key = psprintf("ivr:%s", route->to);
	if (ivr_calls_per_minute > 0 &&
		!rate_limit_hit(RATE_NS_INTERNAL, &route->org, key, strlen(key),
						ivr_calls_per_minute, 60 * USECS_PER_SEC, NULL))
	{
		final = "rejected";
		doc = flow_reject_document("busy");
	}
	else if (number_nulls[0] || strcmp(TextDatumGetCString(number[0]), "active") != 0 || !has_menu)
	{
		final = "rejected";
		doc = flow_reject_document("rejected");
	}
	if (ivr_spike_count(route->to, now, &spike))
		inbound_report_spike(route, &spike);

	initStringInfo(&from);
	values[0] = UUIDPGetDatum(&route->org);
	values[1] = UUIDPGetDatum(&route->number_id);
	values[2] = CStringGetTextDatum(sid);
	if (form_find(body, len, "From", &from))
		values[3] = DirectFunctionCall2(text_left, CStringGetTextDatum(from.data), Int32GetDatum(32));
	else
		nulls[3] = 'n';
	values[4] = CStringGetTextDatum(route->to);
	if (final == NULL && has_menu)
		values[5] = number[1];
	else
		nulls[5] = 'n';
	if (final != NULL)
	{
		values[6] = CStringGetTextDatum(final);
		values[7] = CStringGetTextDatum("rejected");
	}
	else
	{
		nulls[6] = 'n';
		values[7] = CStringGetTextDatum("in_progress");
	}
	if (SPI_execute_plan(inbound_plan(&call_log_plan,
									  "INSERT INTO wib.inbound_call_log AS l (organization_id, number_id, call_sid, from_number,"
									  " to_number, menu_id, current_menu_id, final_action, status, ended_at)"
									  " VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, CASE WHEN $7 IS NULL THEN NULL ELSE now() END)"
									  " ON CONFLICT (organization_id, call_sid) DO NOTHING", 8, types),
						 values, nulls, false, 0) != SPI_OK_INSERT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg_internal("could not log an inbound call")));
	if (doc == NULL)
		doc = flow_menu_document(&route->org, DatumGetUUIDP(number[1]), 0, true);
	return doc;
}

/* A gather or status callback, answered by wib.ivr_callback_answer. */
static text *
inbound_callback(const char *kind, bytea *raw_body, const IvrRoute *route, const char *sid)
{
	Oid			types[4] = {TEXTOID, BYTEAOID, UUIDOID, TEXTOID};
	Datum		values[4];
	bool		isnull;
	Datum		doc;

	values[0] = CStringGetTextDatum(kind);
	values[1] = PointerGetDatum(raw_body);
	values[2] = UUIDPGetDatum(&route->number_id);
	values[3] = CStringGetTextDatum(sid);
	if (SPI_execute_plan(inbound_plan(&answer_plan, "SELECT wib.ivr_callback_answer($1, $2, $3, $4)", 4, types),
						 values, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg_internal("could not answer a Telnyx callback")));
	doc = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? NULL : DatumGetTextPP(doc);
}

/*
 * wib.ivr_webhook(kind, raw_body, signature, ts): the platform's Telnyx route
 * calls this with the raw callback and returns the TeXML it answers.
 */
Datum
wib_ivr_webhook(PG_FUNCTION_ARGS)
{
	char	   *kind = inbound_arg(fcinfo, 0);
	bytea	   *raw_body = PG_ARGISNULL(1) ? NULL : PG_GETARG_BYTEA_PP(1);
	char	   *signature = inbound_arg(fcinfo, 2);
	char	   *ts = inbound_arg(fcinfo, 3);
	const char *body = raw_body ? VARDATA_ANY(raw_body) : NULL;
	int			len = raw_body ? VARSIZE_ANY_EXHDR(raw_body) : 0;
	IvrRoute	route;
	StringInfoData sid;
	text	   *doc;

	/* Nothing is parsed before the signature is checked (inside inbound_route). */
	inbound_route(body, len, signature, ts, &route);
	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg_internal("SPI_connect failed")));

	/*
	 * A signed callback is accepted once per entry point.  (Telnyx signs the
	 * timestamp and body only, so two callbacks to different entry points may
	 * share a signature; a repeat to the same one is a replay.)
	 */
	inbound_check_replay(kind ? kind : "", signature);
	if (kind == NULL || (strcmp(kind, "inbound") != 0 && strcmp(kind, "gather") != 0 && strcmp(kind, "status") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid kind"),
				 errdetail("kind must be inbound, gather or status.")));
	initStringInfo(&sid);
	if (!form_find(body, len, "CallSid", &sid) || sid.len == 0 || pg_mbstrlen(sid.data) > 200)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid CallSid"),
				 errdetail("CallSid must be a non-empty string of at most 200 characters.")));

	/* Act for the number's organization (the SET clauses restore the caller's context). */
	(void) set_config_option("wib.org_id",
							 DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&route.org))),
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);

	if (strcmp(kind, "inbound") == 0)
		doc = inbound_answer(&route, body, len, sid.data);
	else
		doc = inbound_callback(kind, raw_body, &route, sid.data);
	/* The document outlives SPI: copied into the caller's context. */
	if (doc != NULL)
		doc = (text *) DatumGetPointer(SPI_datumTransfer(PointerGetDatum(doc), false, -1));
	SPI_finish();
	if (doc == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(doc);
}
