/*
 * hubspot_signature_test.c
 *		HubSpot's v3 webhook signature: vectors computed independently (Python's
 *		hmac and base64), the URI decodings HubSpot applies (and only those),
 *		the five-minute window both ways, every refusal, and that any change to
 *		method, URI, body, timestamp or secret is refused.
 *
 * Build: cc -I src -o hubspot_signature_test test/kernels/hubspot_signature_test.c \
 *            src/crm/hubspot_signature.c src/crypto/hmac.c src/crypto/codec.c -lcrypto
 */
#include <stdio.h>
#include <string.h>

#include "crm/hubspot_signature.h"

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

#define S(x) (x), strlen(x)

static const char *secret = "wib-test-secret";
static const char *uri = "https://hooks.example.com/crm/hubspot?org=a:b";
static const char *body = "[{\"eventId\":1}]";
static const char *ts = "1764411300123";
static const int64_t now_ms = 1764411300123LL + 1000;

/* The signature of a request, computed here. */
static void
sign(const char *sec, const char *method, const char *u, const char *b, const char *t, char *out)
{
	hubspot_sig_v3((const unsigned char *) sec, strlen(sec), S(method), S(u),
				   (const unsigned char *) b, strlen(b), S(t), out);
}

/* The check of a request with signature sig at now. */
static HubspotSigStatus
verify(const char *sec, const char *method, const char *u, const char *b, const char *t,
	   const char *sig, int64_t now)
{
	return hubspot_sig_v3_check((const unsigned char *) sec, strlen(sec), S(method), S(u),
								(const unsigned char *) b, strlen(b), t, t ? strlen(t) : 0,
								sig, sig ? strlen(sig) : 0, now, HUBSPOT_SIG_WINDOW_MS);
}

int
main(void)
{
	char		sig[HUBSPOT_SIG_LEN];
	char		other[HUBSPOT_SIG_LEN];
	char		longuri[HUBSPOT_SIG_URI_MAX + 8];
	char		mutated[64];

	/* Vectors computed with Python: base64(hmac.new(secret, method+uri+body+ts, sha256)). */
	sign("yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", "POST", "https://www.example.com/webhook_uri",
		 "{\"example_field\":\"example_value\"}", "1700000000000", sig);
	check(strcmp(sig, "rQEKkaNUiu+1qGF//O/pw4BCzstSqO1PyUnGICmf+7o=") == 0,
		  "v3_signature_matches_an_independent_hmac_of_method_uri_body_timestamp");
	sign(secret, "POST", uri, body, ts, sig);
	check(strcmp(sig, "/s0/qM6l/htIHuzWA4bKTy/jHSPr7qrEz61e1ajdcbU=") == 0,
		  "v3_signature_of_a_uri_with_a_query_matches_the_independent_vector");
	sign(secret, "GET", "https://hooks.example.com/x", "", ts, other);
	check(strcmp(other, "o99lAAFM7QNtSkdc8mF06cGzBvcJ6MpbvhikNJebuZg=") == 0,
		  "v3_signature_of_a_request_without_body_matches_the_independent_vector");

	/* HubSpot decodes %3A and friends, in either case, before signing; nothing else. */
	sign(secret, "POST", "https://hooks.example.com/crm/hubspot?org=a%3Ab", body, ts, other);
	check(strcmp(sig, other) == 0, "percent_encoded_colon_is_decoded_before_signing");
	sign(secret, "POST", "https://hooks.example.com/crm/hubspot?org=a%3ab", body, ts, other);
	check(strcmp(sig, other) == 0, "lower_case_hex_is_decoded_too");
	sign(secret, "POST", "https%3A%2F%2Fhooks.example.com%2Fcrm%2Fhubspot%3Forg=a%3Ab", body, ts, other);
	check(strcmp(sig, other) == 0, "slashes_question_mark_and_colon_are_decoded");
	sign(secret, "POST", "https://hooks.example.com/crm/hubspot?org=a%20b", body, ts, sig);
	sign(secret, "POST", "https://hooks.example.com/crm/hubspot?org=a b", body, ts, other);
	check(strcmp(sig, other) != 0, "other_encodings_such_as_space_are_signed_as_sent");
	sign(secret, "POST", "https://h.example/%2", body, ts, sig);
	check(strlen(sig) == 44, "a_truncated_percent_at_the_end_is_signed_as_sent");

	/* The check. */
	sign(secret, "POST", uri, body, ts, sig);
	check(verify(secret, "POST", uri, body, ts, sig, now_ms) == HUBSPOT_SIG_OK, "genuine_request_is_accepted");
	check(verify(secret, "POST", uri, body, ts, sig, 1764411300123LL - HUBSPOT_SIG_WINDOW_MS) == HUBSPOT_SIG_OK,
		  "a_timestamp_exactly_five_minutes_ahead_is_still_accepted");
	check(verify(secret, "POST", uri, body, ts, sig, 1764411300123LL + HUBSPOT_SIG_WINDOW_MS + 1) == HUBSPOT_SIG_STALE,
		  "a_timestamp_older_than_five_minutes_is_stale");
	check(verify(secret, "POST", uri, body, ts, sig, 1764411300123LL - HUBSPOT_SIG_WINDOW_MS - 1) == HUBSPOT_SIG_STALE,
		  "a_timestamp_more_than_five_minutes_in_the_future_is_stale");
	check(verify(secret, "PUT", uri, body, ts, sig, now_ms) == HUBSPOT_SIG_MISMATCH, "other_method_is_refused");
	check(verify(secret, "POST", "https://hooks.example.com/crm/hubspot?org=a:c", body, ts, sig, now_ms) == HUBSPOT_SIG_MISMATCH,
		  "other_uri_is_refused");
	check(verify(secret, "POST", uri, "[{\"eventId\":2}]", ts, sig, now_ms) == HUBSPOT_SIG_MISMATCH,
		  "other_body_is_refused");
	check(verify(secret, "POST", uri, body, "1764411300124", sig, now_ms) == HUBSPOT_SIG_MISMATCH,
		  "other_timestamp_is_refused");
	check(verify("wib-test-secreT", "POST", uri, body, ts, sig, now_ms) == HUBSPOT_SIG_MISMATCH,
		  "other_secret_is_refused");
	strcpy(mutated, sig);
	mutated[10] ^= 1;
	check(verify(secret, "POST", uri, body, ts, mutated, now_ms) == HUBSPOT_SIG_MISMATCH, "a_flipped_bit_is_refused");
	mutated[10] ^= 1;
	mutated[43] = '\0';
	check(verify(secret, "POST", uri, body, ts, mutated, now_ms) == HUBSPOT_SIG_MISMATCH, "a_truncated_signature_is_refused");
	check(verify(secret, "POST", uri, body, ts, "", now_ms) == HUBSPOT_SIG_MISSING, "an_empty_signature_is_missing");
	check(verify(secret, "POST", uri, body, NULL, sig, now_ms) == HUBSPOT_SIG_MISSING, "a_missing_timestamp_is_missing");
	check(verify(secret, "POST", uri, body, "17644113OO123", sig, now_ms) == HUBSPOT_SIG_BAD_TIMESTAMP,
		  "a_timestamp_with_letters_is_malformed");
	check(verify(secret, "POST", uri, body, "-1764411300123", sig, now_ms) == HUBSPOT_SIG_BAD_TIMESTAMP,
		  "a_negative_timestamp_is_malformed");
	check(verify(secret, "POST", uri, body, "1234567890123456", sig, now_ms) == HUBSPOT_SIG_BAD_TIMESTAMP,
		  "a_timestamp_of_sixteen_digits_is_malformed");
	memset(longuri, 'a', sizeof(longuri) - 1);
	longuri[sizeof(longuri) - 1] = '\0';
	check(verify(secret, "POST", longuri, body, ts, sig, now_ms) == HUBSPOT_SIG_TOO_LONG, "an_overlong_uri_is_refused");
	check(strlen(hubspot_sig_status_reason(HUBSPOT_SIG_STALE)) > 0 &&
		  strstr(hubspot_sig_status_reason(HUBSPOT_SIG_MISMATCH), "secret") != NULL,
		  "every_status_has_a_reason");

	printf("1..%d\n", test_no);
	return failures ? 1 : 0;
}
