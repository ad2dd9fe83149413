/*
 * keyring_test.c
 *		The key ring's text forms (wib.keys and key files), the current key,
 *		reasons that never quote key text, and the derived keys (known
 *		answers computed independently as HKDF-Expand, RFC 5869).
 *
 * Build: cc -I src -o keyring_test test/kernels/keyring_test.c src/crypto/keyring.c src/crypto/hmac.c src/crypto/codec.c -lcrypto
 */
#include <stdio.h>
#include <string.h>

#include "crypto/codec.h"
#include "crypto/keyring.h"

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

/* The bytes 0..31 and 255..224, in base64. */
#define K_UP	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define K_DOWN	"//79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA="

static Keyring ring;

/* Parses list; true when it fails with a reason containing want and not the secret text. */
static int
list_fails(const char *list, const char *want, const char *secret)
{
	char		reason[KEYRING_REASON_LEN];

	reason[0] = '\0';
	if (keyring_parse_list(list, strlen(list), &ring, reason))
		return 0;
	if (strstr(reason, want) == NULL || (secret != NULL && strstr(reason, secret) != NULL))
	{
		fprintf(stderr, "# reason: %s\n", reason);
		return 0;
	}
	return ring.count == 0;
}

/* The same for a key file. */
static int
file_fails(const char *text, size_t len, const char *want)
{
	char		reason[KEYRING_REASON_LEN];

	reason[0] = '\0';
	if (keyring_parse_file(text, len, &ring, reason))
		return 0;
	if (strstr(reason, want) == NULL)
	{
		fprintf(stderr, "# reason: %s\n", reason);
		return 0;
	}
	return ring.count == 0;
}

int
main(void)
{
	char		reason[KEYRING_REASON_LEN];
	char		line[KEYRING_LINE_LEN];
	char		hex[CODEC_HEX_LEN(32)];
	uint8_t		up[32];
	uint8_t		derived[32];
	const char *list;
	const char *file;

	printf("1..16\n");
	for (int i = 0; i < 32; i++)
		up[i] = (uint8_t) i;

	list = "1:" K_UP ", 3:" K_DOWN;
	check(keyring_parse_list(list, strlen(list), &ring, reason) && ring.count == 2 &&
		  keyring_find(&ring, 1) && memcmp(keyring_find(&ring, 1)->key, up, 32) == 0 &&
		  keyring_find(&ring, 3) && keyring_find(&ring, 3)->key[0] == 0xff &&
		  keyring_find(&ring, 2) == NULL,
		  "a wib.keys list parses, with blanks after commas");
	list = " 12 : " K_DOWN " ,2:" K_UP "\t,\t7:" K_UP;
	check(keyring_parse_list(list, strlen(list), &ring, reason) && ring.count == 3 &&
		  keyring_current(&ring)->id == 12,
		  "the current key is the highest id, wherever it is listed");
	check(keyring_parse_list("2147483647:" K_UP, 11 + 44, &ring, reason) &&
		  keyring_current(&ring)->id == 2147483647u,
		  "id 2147483647 is accepted");
	check(list_fails("0:" K_UP, "id must be an integer", NULL) &&
		  list_fails("2147483648:" K_UP, "id must be an integer", NULL) &&
		  list_fails("01:" K_UP, "id must be an integer", NULL) &&
		  list_fails("-1:" K_UP, "id must be an integer", NULL) &&
		  list_fails("x:" K_UP, "entry 1", NULL),
		  "ids 0, 2147483648, 01, -1 and x are refused");
	check(list_fails("1:" K_UP ",1:" K_DOWN, "key id 1 is listed twice", NULL),
		  "a duplicate id is refused");
	check(list_fails("1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", "entry 1: key 1 is not the base64 of 32 bytes",
					 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg") &&
		  list_fails("1:" K_UP ",2:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==", "entry 2: key 2",
					 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ") &&
		  list_fails("1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8*", "not the base64", "AAECAwQF") &&
		  list_fails("1:" K_UP ",2:" K_UP "x", "entry 2", "AAECAwQF"),
		  "keys of 31 or 34 bytes or bad base64 are refused without quoting them");
	check(list_fails("1:" K_UP ",", "entry 2: expected", NULL) &&
		  list_fails("", "no key is listed", NULL) &&
		  list_fails(" \t ", "no key is listed", NULL) &&
		  list_fails(K_UP, "entry 1: expected", "AAECAwQF") &&
		  list_fails("1 " K_UP, "entry 1: expected", "AAECAwQF"),
		  "empty entries, empty lists and entries without a colon are refused");
	{
		char		many[KEYRING_MAX * 60 + 60];
		size_t		o = 0;

		for (int i = 1; i <= KEYRING_MAX + 1; i++)
			o += (size_t) snprintf(many + o, sizeof(many) - o, "%s%d:%s", i > 1 ? "," : "", i, K_UP);
		check(list_fails(many, "more than 64 keys", NULL),
			  "a 65th key is refused");
	}
	check(!keyring_parse_list("1:" K_UP "\0" "2:" K_UP, 2 + 44 + 1 + 2 + 44, &ring, reason) &&
		  strstr(reason, "NUL") != NULL,
		  "a NUL byte inside the list is refused");

	file = "# wib keys\n\n1 " K_UP "\r\n  3\t" K_DOWN "   # newest\n#2 " K_UP "\n";
	check(keyring_parse_file(file, strlen(file), &ring, reason) && ring.count == 2 &&
		  keyring_current(&ring)->id == 3 && keyring_find(&ring, 2) == NULL,
		  "a key file with comments, blank lines, CRLF and tabs parses");
	check(file_fails("# nothing\n\n", 11, "no key is listed") &&
		  file_fails("1 " K_UP " extra\n", strlen("1 " K_UP " extra\n"), "line 1: expected") &&
		  file_fails("\n1\n", 3, "line 2: expected") &&
		  file_fails("1:" K_UP "\n", strlen("1:" K_UP "\n"), "line 1: expected") &&
		  file_fails("1 " K_UP "\n1 " K_DOWN "\n", 2 * (2 + 44 + 1), "line 2: key id 1 is listed twice") &&
		  file_fails("1 " K_UP "\0", 2 + 44 + 1, "NUL"),
		  "key files with no key, extra fields, a missing key, the list syntax, duplicates or NUL are refused");

	/* The generated file's line reads back. */
	keyring_format_line(1, up, line);
	check(strcmp(line, "1 " K_UP "\n") == 0 &&
		  keyring_parse_file(line, strlen(line), &ring, reason) &&
		  memcmp(keyring_current(&ring)->key, up, 32) == 0,
		  "a formatted key-file line reads back");

	keyring_wipe(&ring);
	check(ring.count == 0 && ring.entries[0].id == 0 && ring.entries[0].key[0] == 0 &&
		  ring.entries[1].key[31] == 0 && keyring_current(&ring) == NULL,
		  "wiping empties the ring and zeroes its keys");

	/* Known answers: HMAC-SHA256(master, label || 0x01) computed with Python's hmac. */
	check(keyring_derive(up, KEYRING_LABEL_VAULT, derived) &&
		  codec_hex_encode(derived, 32, hex) &&
		  strcmp(hex, "37c8774f8f51e55c217b627c2b7dec3f1719f7dd9d2e00ea5e22247f37afb39d") == 0,
		  "the vault key derived from a master key matches HKDF-Expand");
	check(keyring_derive(up, KEYRING_LABEL_TOKEN, derived) &&
		  codec_hex_encode(derived, 32, hex) &&
		  strcmp(hex, "f80a4734b8baa24ab4f2f2b2cd3578470fbd6836db01113f9106aa7b7d60895d") == 0,
		  "the token key derived from a master key matches HKDF-Expand, and differs from the vault key");
	check(keyring_parse_list("5:" K_UP, 2 + 44, &ring, reason) && !list_fails("5:" K_UP, "", NULL) &&
		  !keyring_parse_list("5:", 2, &ring, reason) && ring.count == 0,
		  "a failed parse leaves an empty ring behind");
	return failures == 0 ? 0 : 1;
}
