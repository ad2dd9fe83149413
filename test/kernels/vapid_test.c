/*
 * vapid_test.c
 *		RFC 8292 VAPID: the RFC's example token verifies under its key and no
 *		altered spelling of it does; tokens signed here verify and carry the
 *		claims given; audiences of push endpoints; the Authorization header.
 *
 * Build: cc -I src -o vapid_test test/kernels/vapid_test.c src/push/vapid.c \
 *		src/push/vapid_json.c src/push/webpush_key.c src/crypto/codec.c -lcrypto
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/codec.h"
#include "push/vapid.h"

/* RFC 8292 sections 2.4 and 3.2. */
#define RFC_JWT "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE0NTM1MjM3NjgsInN1YiI6Im1haWx0bzpwdXNoQGV4YW1wbGUuY29tIn0.i3CYb7t4xfxCDquptFOepC9GAu_HLGkMlMuCGSK2rpiUfnK9ojFwDXb1JrErtmysazNjjvW2L9OkSSHzvoD1oA"
#define RFC_K	"BA1Hxzyi1RUM1b5wjxsn7nGxAszw2u61m164i3MrAIxHF6YK5h4SDYic-dRuU_RCPCfA5aq9ojSwk5Y2EmClBPs"

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

/* True when the audience of endpoint is want (NULL: must be refused). */
static int
audience_is(const char *endpoint, bool allow_http, const char *want)
{
	char		aud[VAPID_AUD_MAX];
	bool		ok = vapid_audience(endpoint, aud, sizeof(aud), allow_http);

	if (want == NULL ? !ok : (ok && strcmp(aud, want) == 0))
		return 1;
	printf("# %s: got %s, want %s\n", endpoint, ok ? aud : "(refused)", want ? want : "(refused)");
	return 0;
}

/* True when jwt verifies under pub. */
static int
verifies(const uint8_t *pub, const char *jwt)
{
	char		reason[VAPID_REASON_LEN] = "";

	return vapid_jwt_verify(pub, jwt, strlen(jwt), reason);
}

/* True when verification of jwt fails with a reason containing word. */
static int
refused(const uint8_t *pub, const char *jwt, const char *word)
{
	char		reason[VAPID_REASON_LEN] = "";

	if (vapid_jwt_verify(pub, jwt, strlen(jwt), reason))
		return 0;
	if (strstr(reason, word) == NULL)
		printf("# reason: %s\n", reason);
	return strstr(reason, word) != NULL;
}

/* A token of the given header and claims JSON with a signature of 64 zero bytes. */
static void
forge(const char *header, const char *claims, char *out)
{
	uint8_t		zero[64] = {0};
	size_t		n = codec_base64url_encode((const uint8_t *) header, strlen(header), out);

	out[n++] = '.';
	n += codec_base64url_encode((const uint8_t *) claims, strlen(claims), out + n);
	out[n++] = '.';
	codec_base64url_encode(zero, sizeof(zero), out + n);
}

int
main(void)
{
	uint8_t		rfc_k[65];
	uint8_t		priv[32];
	uint8_t		pub[65];
	uint8_t		other_priv[32];
	uint8_t		other_pub[65];
	char		jwt[VAPID_JWT_MAX];
	char		altered[VAPID_JWT_MAX];
	char		header[VAPID_AUTHORIZATION_MAX];
	char		reason[VAPID_REASON_LEN] = "";
	VapidClaims claims;
	const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *rfc_signed = strrchr(RFC_JWT, '.');
	size_t		len;
	int			ok;

	printf("1..18\n");
	codec_base64url_decode(RFC_K, strlen(RFC_K), rfc_k, sizeof(rfc_k));
	if (!webpush_keypair(priv, pub, reason) || !webpush_keypair(other_priv, other_pub, reason))
	{
		printf("Bail out! %s\n", reason);
		return 1;
	}

	/* the RFC's example */
	check(verifies(rfc_k, RFC_JWT), "the RFC 8292 example token verifies with its k");
	ok = 1;
	len = strlen(RFC_JWT);
	for (size_t i = 0; i < len; i++)
	{
		if (RFC_JWT[i] == '.')
			continue;
		strcpy(altered, RFC_JWT);
		altered[i] = strchr(alphabet, altered[i])[1] ? strchr(alphabet, altered[i])[1] : 'A';
		if (verifies(rfc_k, altered))
		{
			printf("# accepted with character %zu altered\n", i);
			ok = 0;
		}
	}
	check(ok, "the example with any one character altered does not verify");
	snprintf(altered, sizeof(altered), "%s=", RFC_JWT);
	ok = refused(rfc_k, altered, "base64url");
	snprintf(altered, sizeof(altered), " %s", RFC_JWT);
	ok = ok && refused(rfc_k, altered, "base64url");
	snprintf(altered, sizeof(altered), "%s.", RFC_JWT);
	check(ok && refused(rfc_k, altered, "three"),
		  "padding, whitespace and a fourth part are refused");
	check(refused(pub, RFC_JWT, "does not verify"), "the example does not verify with another key");
	check(vapid_jwt_claims(RFC_JWT, strlen(RFC_JWT), &claims, reason) &&
		  strcmp(claims.aud, "https://push.example.net") == 0 && claims.exp == 1453523768 &&
		  strcmp(claims.sub, "mailto:push@example.com") == 0,
		  "the example's claims decode to aud, exp and sub");

	/* tokens signed here */
	ok = vapid_jwt_sign(priv, "https://push.example.net", 1453523768, "mailto:push@example.com",
						jwt, sizeof(jwt), reason);
	check(ok && strncmp(jwt, RFC_JWT, rfc_signed - RFC_JWT + 1) == 0 &&
		  strlen(jwt) == strlen(RFC_JWT) && verifies(pub, jwt) && !verifies(other_pub, jwt),
		  "a token signed here has the RFC's header and claims, byte for byte, and verifies with its key only");
	ok = vapid_jwt_sign(priv, "https://fcm.googleapis.com", 1700000000,
						"mailto:ops\"desk\\@example.com\n", jwt, sizeof(jwt), reason) &&
		verifies(pub, jwt) && vapid_jwt_claims(jwt, strlen(jwt), &claims, reason);
	check(ok && strcmp(claims.aud, "https://fcm.googleapis.com") == 0 && claims.exp == 1700000000 &&
		  strcmp(claims.sub, "mailto:ops\"desk\\@example.com\n") == 0,
		  "quotes, backslashes and control characters in claims are escaped and come back");
	/* The largest exp the fuzz target builds (test/fuzz/corpus/vapid/exp_shift_overflow). */
	ok = vapid_jwt_sign(priv, "https://a.example", INT64_MAX, "mailto:a@example.com", jwt, sizeof(jwt), reason) &&
		verifies(pub, jwt) && vapid_jwt_claims(jwt, strlen(jwt), &claims, reason);
	check(ok && claims.exp == INT64_MAX, "an exp of 2^63 - 1 is signed and decodes back exactly");
	ok = !vapid_jwt_sign(priv, "https://a.example", 1700000000, "ops@example.com", jwt, sizeof(jwt), reason) &&
		strstr(reason, "sub") != NULL;
	ok = ok && !vapid_jwt_sign(priv, "", 1700000000, "mailto:a@example.com", jwt, sizeof(jwt), reason);
	ok = ok && !vapid_jwt_sign(priv, "https://a.example", 0, "mailto:a@example.com", jwt, sizeof(jwt), reason);
	check(ok && !vapid_jwt_sign(priv, "https://a.example", 1700000000, "https://example.com/contact",
								jwt, 100, reason),
		  "a sub that is no mailto:/https: URI, an empty aud, exp 0 and a short buffer are refused");
	memset(altered, 0, 32);
	check(!vapid_jwt_sign((const uint8_t *) altered, "https://a.example", 1700000000,
						  "mailto:a@example.com", jwt, sizeof(jwt), reason) &&
		  strstr(reason, "scalar") != NULL,
		  "signing with the zero scalar is refused");

	/* structure */
	forge("{\"typ\":\"JWT\",\"alg\":\"none\"}", "{\"aud\":\"https://a.example\"}", altered);
	ok = refused(rfc_k, altered, "ES256");
	forge("{\"typ\":\"JWT\",\"alg\":\"HS256\"}", "{}", altered);
	ok = ok && refused(rfc_k, altered, "ES256");
	forge("{\"alg\":\"ES256\",\"alg\":\"ES256\"}", "{}", altered);
	ok = ok && refused(rfc_k, altered, "header");
	forge("{\"typ\":\"JOSE+JSON\",\"alg\":\"ES256\"}", "{}", altered);
	check(ok && refused(rfc_k, altered, "typ"),
		  "alg none, alg HS256, a repeated alg and another typ are refused before the signature");
	forge("{\"alg\":\"ES256\"}", "[1]", altered);
	ok = refused(rfc_k, altered, "claims");
	forge("{\"alg\":\"ES256\"}", "{\"exp\":1,}", altered);
	ok = ok && refused(rfc_k, altered, "claims");
	{
		/* a NUL after the object: the decoded part is read whole */
		uint8_t		zero[64] = {0};
		size_t		n = codec_base64url_encode((const uint8_t *) "{\"alg\":\"ES256\"}\0x", 17,
											   altered);

		altered[n++] = '.';
		n += codec_base64url_encode((const uint8_t *) "{}", 2, altered + n);
		altered[n++] = '.';
		codec_base64url_encode(zero, sizeof(zero), altered + n);
		ok = ok && refused(rfc_k, altered, "header");
	}
	forge("{\"alg\":\"ES256\"}", "{\"exp\":1}", altered);
	check(ok && refused(rfc_k, altered, "does not verify"),
		  "claims that are not a JSON object and a header with bytes after its NUL are refused, a zero signature does not verify");
	strcpy(altered, RFC_JWT);
	strcpy(strrchr(altered, '.') + 1, "MEUCIQ");
	check(refused(rfc_k, altered, "64 bytes"), "a signature that is not 64 raw bytes is refused");

	/* audience */
	ok = audience_is("https://fcm.googleapis.com/fcm/send/abc:def", false, "https://fcm.googleapis.com") &&
		audience_is("https://updates.push.services.mozilla.com:443/wpush/v2/x?y=1#z", false,
					"https://updates.push.services.mozilla.com") &&
		audience_is("HTTPS://Push.Example.NET/x", false, "https://push.example.net") &&
		audience_is("https://push.example.net", false, "https://push.example.net") &&
		audience_is("https://push.example.net:/x", false, "https://push.example.net");
	check(ok, "the origin keeps scheme and host (lower case), drops path, query, fragment and port 443");
	ok = audience_is("https://127.0.0.1:8443/push/1", false, "https://127.0.0.1:8443") &&
		audience_is("https://[::1]:9443/push/1", false, "https://[::1]:9443") &&
		audience_is("https://host.example:00443/p", false, "https://host.example");
	check(ok, "a port other than the default is kept");
	ok = audience_is("http://127.0.0.1:8080/push/1", false, NULL) &&
		audience_is("http://127.0.0.1:8080/push/1", true, "http://127.0.0.1:8080") &&
		audience_is("http://127.0.0.1:80/push/1", true, "http://127.0.0.1") &&
		audience_is("ftp://push.example.net/", true, NULL) &&
		audience_is("//push.example.net/", true, NULL) &&
		audience_is("push.example.net/x", true, NULL);
	check(ok, "http only when allowed; other schemes and relative URLs are refused");
	ok = audience_is("https:///x", false, NULL) &&
		audience_is("https://user:pw@push.example.net/", false, NULL) &&
		audience_is("https://push.example.net:99999/", false, NULL) &&
		audience_is("https://push.example.net:0/", false, NULL) &&
		audience_is("https://push.example.net:8a/", false, NULL) &&
		audience_is("https://push example.net/", false, NULL) &&
		audience_is("https://[::1/", false, NULL) &&
		audience_is("https://[fe80::g]/", false, NULL);
	{
		char		small[20];

		ok = ok && !vapid_audience("https://push.example.net/", small, sizeof(small), false);
	}
	check(ok, "no host, user information, bad ports, spaces, bad IPv6 literals and a short buffer are refused");

	/* the header */
	memcpy(pub, rfc_k, sizeof(pub));
	pub[0] = 0x03;
	len = vapid_authorization(RFC_JWT, rfc_k, header, sizeof(header));
	check(len == strlen(header) &&
		  strcmp(header, "vapid t=" RFC_JWT ", k=" RFC_K) == 0 &&
		  vapid_authorization(RFC_JWT, rfc_k, header, len) == 0 &&
		  vapid_authorization(RFC_JWT, pub, header, sizeof(header)) == 0,
		  "Authorization is \"vapid t=<jwt>, k=<key>\"; a short buffer or a bad key give 0");

	printf("# %d failed\n", failures);
	return failures == 0 ? 0 : 1;
}
