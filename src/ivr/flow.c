/*
 * flow.c
 *		The TeXML documents of the inbound call flow: a menu (disclosure,
 *		greeting, option labels inside a Gather) and the documents that end
 *		a menu (transfer, voicemail, survey, hangup, reject).
 *
 * Which document to answer is decided by wib.ivr_webhook (SQL); what the
 * document says is written here with the checked writer of texml.c.
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/uuid.h"

#include "core/tenancy.h"
#include "ivr/flow.h"
#include "ivr/ivr_settings.h"
#include "ivr/menu_cache.h"
#include "ivr/menu_read.h"
#include "ivr/texml.h"

PG_FUNCTION_INFO_V1(wib_texml_render_menu);
PG_FUNCTION_INFO_V1(wib_texml_action);

/* Writes <Say voice language>text</Say>; nothing for NULL or empty text. */
static void
flow_say(TexmlWriter *w, const char *text, const char *voice, const char *language)
{
	if (text == NULL || text[0] == '\0')
		return;
	texml_open(w, "Say");
	texml_attr(w, "voice", voice);
	texml_attr(w, "language", language);
	texml_text(w, text);
	texml_close(w);
}

/* The URL a Gather or Record posts back to, from wib.ivr_callback_url. */
static char *
flow_callback(const char *kind)
{
	return ivr_callback(kind);
}

/*
 * The menu of org as a TeXML document.  The disclosure comes first (when
 * asked for: the renderer alone gives it on attempt 0), then on a retry the
 * invalid-choice prompt, then a Gather holding the greeting and the option
 * labels, then a Redirect to the gather URL so that silence comes back as a
 * gather without digits (a retry).  org NULL: no organization, so no menu.
 * Served from the session's cache when nothing it depends on has changed.
 */
text *
flow_menu_document(const pg_uuid_t *org, const pg_uuid_t *menu_id, int attempt, bool disclosure)
{
	MenuData	m;
	StringInfoData valid;
	TexmlWriter w;
	char	   *doc;
	int			len;
	char	   *gather_url;
	MenuCacheKey key;
	uint64		generation = 0;
	bool		use_cache;

	if (attempt < 0 || attempt > 100)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid attempt"),
				 errdetail("attempt must be between 0 and 100.")));
	gather_url = flow_callback("gather");

	/* The cached document, when nothing it depends on has changed. */
	memset(&key, 0, sizeof(key));
	use_cache = org != NULL && menu_cache_usable(&generation);
	if (use_cache)
	{
		text	   *hit;

		key.userid = GetUserId();
		key.org = *org;
		key.menu = *menu_id;
		key.attempt = attempt;
		key.disclosure = disclosure;
		hit = menu_cache_get(&key, generation, gather_url);
		if (hit != NULL)
			return hit;
	}

	/* With the cache, a fresh snapshot taken after the generation was noted. */
	if (org == NULL || !menu_read(org, menu_id, use_cache, &m))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("IVR menu %s does not exist",
						DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(menu_id)))),
				 errdetail("No menu with this id belongs to the organization in context.")));

	/* Checked again here: the table's CHECKs could have been loosened. */
	texml_check_voice(m.voice);
	texml_check_language(m.language);

	initStringInfo(&valid);
	for (int i = 0; i < m.noptions; i++)
		if (m.digits[i] != NULL)
			appendStringInfoString(&valid, m.digits[i]);

	texml_begin(&w);
	if (disclosure)
		flow_say(&w, m.disclosure_text, m.voice, m.language);
	if (attempt > 0)
		flow_say(&w, m.invalid_prompt, m.voice, m.language);

	texml_open(&w, "Gather");
	texml_attr(&w, "action", gather_url);
	texml_attr(&w, "method", "POST");
	texml_attr_int(&w, "timeout", m.timeout_seconds, 1, 120);
	texml_attr(&w, "numDigits", "1");
	texml_attr(&w, "input", "dtmf");
	if (valid.len > 0)
		texml_attr(&w, "validDigits", valid.data);
	if (m.greeting_type != NULL && strcmp(m.greeting_type, "audio_url") == 0 && m.greeting_audio_url != NULL)
	{
		texml_check_url(m.greeting_audio_url, "greeting_audio_url", false);
		texml_open(&w, "Play");
		texml_text(&w, m.greeting_audio_url);
		texml_close(&w);
	}
	else
		flow_say(&w, m.greeting_text, m.voice, m.language);
	for (int i = 0; i < m.noptions; i++)
		flow_say(&w, m.labels[i], m.voice, m.language);
	texml_close(&w);

	texml_open(&w, "Redirect");
	texml_attr(&w, "method", "POST");
	texml_text(&w, gather_url);
	texml_close(&w);
	doc = texml_finish(&w, &len);
	if (use_cache)
		menu_cache_put(&key, generation, gather_url, doc, len);
	return cstring_to_text_with_len(doc, len);
}

/*
 * wib.texml_render_menu(menu_id uuid, attempt integer DEFAULT 0) and the
 * flow's wib.ivr_menu_texml(menu_id, attempt, disclosure): a menu of the
 * organization in context (flow_menu_document).
 */
Datum
wib_texml_render_menu(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *menu_id;
	int			attempt;
	bool		disclosure;
	const char *org_text;
	pg_uuid_t	org;
	bool		has_org;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid menu_id"),
				 errdetail("menu_id must be the id of an IVR menu.")));
	menu_id = PG_GETARG_UUID_P(0);
	attempt = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1);
	disclosure = (PG_NARGS() > 2 && !PG_ARGISNULL(2)) ? PG_GETARG_BOOL(2) : attempt == 0;
	org_text = GetConfigOption("wib.org_id", true, false);
	has_org = org_text != NULL && org_text[0] != '\0' && tenancy_parse_uuid(org_text, &org);
	PG_RETURN_TEXT_P(flow_menu_document(has_org ? &org : NULL, menu_id, attempt, disclosure));
}

/* A TeXML document that rejects the call, with reason (rejected or busy). */
text *
flow_reject_document(const char *reason)
{
	TexmlWriter w;
	char	   *doc;
	int			len;

	texml_begin(&w);
	texml_open(&w, "Reject");
	texml_attr(&w, "reason", reason);
	doc = texml_finish(&w, &len);
	return cstring_to_text_with_len(doc, len);
}

/* Argument n as a C string, or NULL. */
static char *
flow_arg(FunctionCallInfo fcinfo, int n)
{
	if (PG_NARGS() <= n || PG_ARGISNULL(n))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/*
 * wib.texml_action(kind, say, target, voice, language): the document that
 * carries out a menu action.
 *	transfer	[Say] <Dial action=status timeout=30><Number>target</Number></Dial>
 *	voicemail	Say <Record action=status maxLength=300 playBeep finishOnKey=# timeout=5/> <Hangup/>
 *	survey		Say (the survey disclaimer, required) <Redirect method=POST>target</Redirect>
 *	hangup		[Say] <Hangup/>
 *	reject		<Reject reason=target/> (target busy or rejected)
 *	empty		<Response/>
 */
Datum
wib_texml_action(PG_FUNCTION_ARGS)
{
	char	   *kind = flow_arg(fcinfo, 0);
	char	   *say = flow_arg(fcinfo, 1);
	char	   *target = flow_arg(fcinfo, 2);
	char	   *voice = flow_arg(fcinfo, 3);
	char	   *language = flow_arg(fcinfo, 4);
	TexmlWriter w;
	char	   *doc;
	int			len;

	if (kind == NULL)
		kind = "";
	if (voice == NULL)
		voice = "woman";
	if (language == NULL)
		language = "en-US";
	texml_check_voice(voice);
	texml_check_language(language);

	texml_begin(&w);
	if (strcmp(kind, "transfer") == 0)
	{
		texml_check_e164(target, "target");
		flow_say(&w, say, voice, language);
		texml_open(&w, "Dial");
		texml_attr(&w, "action", flow_callback("status"));
		texml_attr_int(&w, "timeout", 30, 5, 120);
		texml_open(&w, "Number");
		texml_text(&w, target);
		texml_close(&w);
		texml_close(&w);
	}
	else if (strcmp(kind, "voicemail") == 0)
	{
		flow_say(&w, say, voice, language);
		texml_open(&w, "Record");
		texml_attr(&w, "action", flow_callback("status"));
		texml_attr_int(&w, "maxLength", 300, 1, 14400);
		texml_attr(&w, "playBeep", "true");
		texml_attr(&w, "finishOnKey", "#");
		texml_attr_int(&w, "timeout", 5, 0, 120);
		texml_close(&w);
		texml_open(&w, "Hangup");
		texml_close(&w);
	}
	else if (strcmp(kind, "survey") == 0)
	{
		if (say == NULL || say[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid survey_disclaimer"),
					 errdetail("A survey must be preceded by its disclaimer.")));
		if (target == NULL)
			target = "";
		texml_check_url(target, "target", false);
		flow_say(&w, say, voice, language);
		texml_open(&w, "Redirect");
		texml_attr(&w, "method", "POST");
		texml_text(&w, target);
		texml_close(&w);
	}
	else if (strcmp(kind, "hangup") == 0)
	{
		flow_say(&w, say, voice, language);
		texml_open(&w, "Hangup");
		texml_close(&w);
	}
	else if (strcmp(kind, "reject") == 0)
	{
		if (target == NULL || (strcmp(target, "busy") != 0 && strcmp(target, "rejected") != 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid target"),
					 errdetail("A reject reason must be busy or rejected.")));
		PG_RETURN_TEXT_P(flow_reject_document(target));
	}
	else if (strcmp(kind, "empty") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid kind"),
				 errdetail("kind must be transfer, voicemail, survey, hangup, reject or empty.")));
	doc = texml_finish(&w, &len);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(doc, len));
}

PG_FUNCTION_INFO_V1(wib_texml_announce);

/*
 * wib.texml_announce(doc, say, voice, language): doc (a document of this
 * writer) with <Say>say</Say> as its first verb, for an option's tts_text
 * said before the option's action.  Empty or NULL say: doc unchanged.
 */
Datum
wib_texml_announce(PG_FUNCTION_ARGS)
{
	static const char head[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response";
	text	   *doc_text;
	char	   *doc;
	int			len;
	const char *rest;
	int			rest_len;
	char	   *say = flow_arg(fcinfo, 1);
	char	   *voice = flow_arg(fcinfo, 2);
	char	   *language = flow_arg(fcinfo, 3);
	char	   *say_doc;
	int			say_len;
	StringInfoData buf;
	TexmlWriter w;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	doc_text = PG_GETARG_TEXT_PP(0);
	doc = VARDATA_ANY(doc_text);
	len = VARSIZE_ANY_EXHDR(doc_text);
	rest = doc + sizeof(head) - 1;
	rest_len = len - (int) (sizeof(head) - 1);
	if (rest_len < 2 || memcmp(doc, head, sizeof(head) - 1) != 0 ||
		!((rest_len == 2 && memcmp(rest, "/>", 2) == 0) ||
		  (rest_len >= 12 && rest[0] == '>' && memcmp(rest + rest_len - 11, "</Response>", 11) == 0)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid doc"),
				 errdetail("doc must be a TeXML document of wib's writer, starting with its <Response> element.")));
	if (say == NULL || say[0] == '\0')
		PG_RETURN_TEXT_P(doc_text);
	if (voice == NULL)
		voice = "woman";
	if (language == NULL)
		language = "en-US";
	texml_check_voice(voice);
	texml_check_language(language);

	/* The Say as a document of its own, then doc's verbs after it. */
	texml_begin(&w);
	flow_say(&w, say, voice, language);
	say_doc = texml_finish(&w, &say_len);
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, say_doc, say_len - (int) strlen("</Response>"));
	if (rest[0] == '/')
		appendStringInfoString(&buf, "</Response>");	/* <Response/>: nothing else */
	else
		appendBinaryStringInfo(&buf, rest + 1, rest_len - 1);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}
