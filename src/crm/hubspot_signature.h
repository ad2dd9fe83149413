/*
 * hubspot_signature.h
 *		HubSpot's v3 request signature on inbound webhooks:
 *		X-HubSpot-Signature-v3 = base64(HMAC-SHA256(client secret,
 *		method + URI + raw body + X-HubSpot-Request-Timestamp)), the timestamp
 *		in milliseconds and at most five minutes old.
 *
 * Before signing, HubSpot decodes these percent-encodings in the URI (and
 * only these): %3A : %2F / %3F ? %40 @ %21 ! %24 $ %27 ' %28 ( %29 ) %2A *
 * %2C , %3B ;  (either case of the hex digits).
 *
 * Backend-free (OpenSSL only): no allocation, never raises, so it can be
 * fuzzed outside the server.  The check compares in constant time and says
 * which part failed without echoing any of the request.
 */
#ifndef WIB_CRM_HUBSPOT_SIGNATURE_H
#define WIB_CRM_HUBSPOT_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HUBSPOT_SIG_LEN			45		/* 44 base64 characters + NUL */
#define HUBSPOT_SIG_URI_MAX		8192	/* longest URI accepted */
#define HUBSPOT_SIG_WINDOW_MS	(5 * 60 * 1000)

typedef enum HubspotSigStatus
{
	HUBSPOT_SIG_OK = 0,
	HUBSPOT_SIG_MISSING,		/* no signature or no timestamp */
	HUBSPOT_SIG_BAD_TIMESTAMP,	/* the timestamp is not a number of milliseconds */
	HUBSPOT_SIG_STALE,			/* the timestamp is outside the window */
	HUBSPOT_SIG_TOO_LONG,		/* the URI is longer than HUBSPOT_SIG_URI_MAX */
	HUBSPOT_SIG_MISMATCH,		/* the signature does not match */
	HUBSPOT_SIG_FAILED			/* OpenSSL failed */
} HubspotSigStatus;

/* A short sentence saying what a status means. */
extern const char *hubspot_sig_status_reason(HubspotSigStatus status);

/*
 * Writes the v3 signature of a request into out (HUBSPOT_SIG_LEN bytes,
 * NUL-terminated): method and uri are text (the URI as requested, decoded
 * here as HubSpot does), body any bytes, ts the timestamp header as sent.
 */
extern HubspotSigStatus hubspot_sig_v3(const uint8_t *secret, size_t secret_len,
									   const char *method, size_t method_len,
									   const char *uri, size_t uri_len,
									   const uint8_t *body, size_t body_len,
									   const char *ts, size_t ts_len,
									   char out[HUBSPOT_SIG_LEN]);

/*
 * Checks a request's signature header sig against its method, URI, raw body
 * and timestamp header ts, the timestamp within window_ms of now_ms (Unix
 * milliseconds) either way.  HUBSPOT_SIG_OK only when all hold.
 */
extern HubspotSigStatus hubspot_sig_v3_check(const uint8_t *secret, size_t secret_len,
											 const char *method, size_t method_len,
											 const char *uri, size_t uri_len,
											 const uint8_t *body, size_t body_len,
											 const char *ts, size_t ts_len,
											 const char *sig, size_t sig_len,
											 int64_t now_ms, int64_t window_ms);

#endif							/* WIB_CRM_HUBSPOT_SIGNATURE_H */
