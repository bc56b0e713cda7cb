/* test_redact.c - header, form, JSON and JWT redaction. */
#include "redact.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JWT "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
#define R REDACTED

struct name_case {
  const char *name;
  int want;
};

static const struct name_case name_cases[] = {
  { "password", 1 }, { "Password", 1 }, { "userPassword", 1 },
  { "PASSWD", 1 }, { "client_secret", 1 }, { "api_key", 1 },
  { "access_token", 1 }, { "passphrase", 1 }, { "pin", 1 },
  { "credentials", 1 }, { "Cookie", 1 }, { "authorization", 1 },
  { "azure", 1 }, { "client_assertion", 1 }, { "ticket", 1 },
  { "x-xsrf-token", 1 },
  { "user", 0 }, { "userName", 0 }, { "custom", 0 }, { "expires_on", 0 },
  { "resource", 0 }, { "metadata", 0 }, { "", 0 }, { "pa", 0 },
  { "passw0rd", 0 },
};

struct red_case {
  const char *in;
  const char *want;
};

static const struct red_case header_cases[] = {
  { "Cookie: JSESSIONID=abc; XSRF-TOKEN=def\r\n",
    "Cookie: JSESSIONID=" R "; XSRF-TOKEN=" R "\r\n" },
  { "cookie: a=1;b=2", "cookie: a=" R ";b=" R },
  { "Cookie: justvalue", "Cookie: " R },
  { "Cookie: a=; b=2\n", "Cookie: a=; b=" R "\n" },
  { "Cookie: a=\"quoted value\"", "Cookie: a=" R },
  { "Set-Cookie: JSESSIONID=abc123; Path=/xtam; HttpOnly\r\n",
    "Set-Cookie: JSESSIONID=" R "; Path=/xtam; HttpOnly\r\n" },
  { "set-cookie: XSRF-TOKEN=x1; Path=/; Secure",
    "set-cookie: XSRF-TOKEN=" R "; Path=/; Secure" },
  { "Set-Cookie: a=b; Path=/; Expires=Wed, 21 Oct 2025 07:28:00 GMT",
    "Set-Cookie: a=" R "; Path=/; Expires=Wed, 21 Oct 2025 07:28:00 GMT" },
  { "Set-Cookie: SESSION=x", "Set-Cookie: SESSION=" R },
  { "Authorization: Bearer " JWT "\r\n", "Authorization: " R "\r\n" },
  { "authorization: Basic dXNlcjpwYXNz", "authorization: " R },
  { "Authorization:   Bearer opaque\r\n", "Authorization:   " R "\r\n" },
  { "Authorization:", "Authorization:" },
  { "Proxy-Authorization: Basic abc\r\n", "Proxy-Authorization: " R "\r\n" },
  { "X-XSRF-TOKEN: 1234-abcd\n", "X-XSRF-TOKEN: " R "\n" },
  { "x-identity-header: 3f2e1d\r\n", "x-identity-header: " R "\r\n" },
  { "Secret: s3cr3t", "Secret: " R },
  { "X-Api-Key: abc", "X-Api-Key: " R },
  { "Metadata: true\r\n", "Metadata: true\r\n" },
  { "Content-Type: application/json\r\n",
    "Content-Type: application/json\r\n" },
  { "Access-Control-Allow-Credentials: true",
    "Access-Control-Allow-Credentials: true" },
  { "Access-Control-Allow-Headers: Authorization, X-XSRF-TOKEN",
    "Access-Control-Allow-Headers: Authorization, X-XSRF-TOKEN" },
  { "X-Azure-Ref: 0abcDEF", "X-Azure-Ref: 0abcDEF" },
  { "Location: https://pam/xtam/login?ticket=ST-1-abc&service=https%3A%2F%2Fx"
    "\r\n",
    "Location: https://pam/xtam/login?ticket=" R "&service=https%3A%2F%2Fx"
    "\r\n" },
  { "location: /xtam/landing?token=" JWT, "location: /xtam/landing?token=" R },
  { "Location: /xtam/cb#access_token=abc&state=1",
    "Location: /xtam/cb#access_token=" R "&state=1" },
  { "Location: /xtam/rest/x?page=2", "Location: /xtam/rest/x?page=2" },
  { "X-Debug: got " JWT " ok", "X-Debug: got " R " ok" },
  { "WWW-Authenticate: Bearer realm=\"pam\", error=\"invalid_token\"",
    "WWW-Authenticate: Bearer realm=\"pam\", error=\"invalid_token\"" },
  { "HTTP/1.1 302 Found\r\n", "HTTP/1.1 302 Found\r\n" },
  { "GET /xtam/rest/x?password=abc HTTP/1.1\r\n",
    "GET /xtam/rest/x?password=" R " HTTP/1.1\r\n" },
  { "GET http://h:80/x?pin=1234 HTTP/1.1", "GET http://h:80/x?pin=" R
    " HTTP/1.1" },
  { "", "" },
  { "\r\n", "\r\n" },
  { ":", ":" },
};

static const struct red_case text_cases[] = {
  /* forms */
  { "a=1&password=x&azure=" JWT, "a=1&password=" R "&azure=" R },
  { "grant_type=client_credentials&client_assertion=" JWT "&scope=x",
    "grant_type=client_credentials&client_assertion=" R "&scope=x" },
  { "user=bob&Passwd=p%40ss+word&next=/", "user=bob&Passwd=" R "&next=/" },
  { "password=", "password=" },
  { "password=&x=1", "password=&x=1" },
  { "login failed: password=\"a b\" user=x",
    "login failed: password=\"" R "\" user=x" },
  { "password='a b' x", "password='" R "' x" },
  { "https://pam/x?api_key=abc#frag", "https://pam/x?api_key=" R "#frag" },
  { "resource=https%3A%2F%2Fpam&client_id=abc",
    "resource=https%3A%2F%2Fpam&client_id=abc" },
  /* JSON */
  { "{\"userName\":\"bob\",\"password\":\"S3cr3t\",\"pin\":1234}",
    "{\"userName\":\"bob\",\"password\":\"" R "\",\"pin\":\"" R "\"}" },
  { "{ \"Password\" : \"a b\" }", "{ \"Password\" : \"" R "\" }" },
  { "{\"access_token\":\"abc\",\"token_type\":\"Bearer\","
    "\"expires_on\":\"1700000000\"}",
    "{\"access_token\":\"" R "\",\"token_type\":\"" R "\","
    "\"expires_on\":\"1700000000\"}" },
  { "{\"password\":\"\"}", "{\"password\":\"\"}" },
  { "{\"password\":\"ab\\\"c\"}", "{\"password\":\"" R "\"}" },
  { "{\"password\":\"ab\\\\\",\"u\":1}", "{\"password\":\"" R "\",\"u\":1}" },
  { "{\"password\":\"abc", "{\"password\":\"" R },           /* truncated */
  { "{\"client_secret\":-1.5e3}", "{\"client_secret\":\"" R "\"}" },
  { "{\"keys\":[\"a\",\"b\"],\"x\":1}",
    "{\"keys\":[\"" R "\",\"" R "\"],\"x\":1}" },
  { "{\"tokens\": [ 1 , \"b\" ]}",
    "{\"tokens\": [ \"" R "\" , \"" R "\" ]}" },
  { "{\"keys\":[],\"x\":[1]}", "{\"keys\":[],\"x\":[1]}" },
  { "{\"passwordExpired\":false,\"tokenInfo\":{\"a\":1},\"secret\":null}",
    "{\"passwordExpired\":false,\"tokenInfo\":{\"a\":1},\"secret\":null}" },
  { "{\"credentials\":{\"user\":\"u\",\"password\":\"p\"}}",
    "{\"credentials\":{\"user\":\"u\",\"password\":\"" R "\"}}" },
  { "{\"custom\":\"hello\",\"note\":\"key=v\"}",
    "{\"custom\":\"hello\",\"note\":\"key=" R "\"}" },
  { "{\"custom\":\"" JWT "\"}", "{\"custom\":\"" R "\"}" },
  { "{\"custom\":{\"label\":\"x\",\"value\":\"plain\"}}",
    "{\"custom\":{\"label\":\"x\",\"value\":\"plain\"}}" },
  { "{\"body\":\"user=a&password=b\"}",
    "{\"body\":\"user=a&password=" R "\"}" },
  /* JSON inside a JSON string */
  { "{\"body\":\"{\\\"Password\\\":\\\"S3cr3t\\\"}\"}",
    "{\"body\":\"{\\\"Password\\\":\\\"" R "\\\"}\"}" },
  { "{\"body\":\"{\\\"Password\\\":\\\"a\\\\\\\"b\\\",\\\"u\\\":1}\"}",
    "{\"body\":\"{\\\"Password\\\":\\\"" R "\\\",\\\"u\\\":1}\"}" },
  { "{\"body\":\"{\\\"Password\\\":\\\"a\\\\\\\\\\\"}\"}",
    "{\"body\":\"{\\\"Password\\\":\\\"" R "\\\"}\"}" },
  { "{\"b\":\"{\\\"pin\\\":42}\"}",
    "{\"b\":\"{\\\"pin\\\":\\\"" R "\\\"}\"}" },
  { "{\"body\":\"{\\n  \\\"password\\\":\\n  \\\"x\\\"\\n}\"}",
    "{\"body\":\"{\\n  \\\"password\\\":\\n  \\\"" R "\\\"\\n}\"}" },
  { "{\"body\":\"{\\\"password\\\":\\\"abc\"}",       /* outer ends first */
    "{\"body\":\"{\\\"password\\\":\\\"" R "\"}" },
  /* two levels deep */
  { "{\"a\":\"{\\\"b\\\":\\\"{\\\\\\\"secret\\\\\\\":\\\\\\\"x\\\\\\\"}\\\"}\"}",
    "{\"a\":\"{\\\"b\\\":\\\"{\\\\\\\"secret\\\\\\\":\\\\\\\"" R
    "\\\\\\\"}\\\"}\"}" },
  { "\"password\":\\\"x\\\" rest", "\"password\":\\\"" R "\\\" rest" },
  { "msg=\"password=\\\"x y\\\"\"", "msg=\"password=\\\"" R "\\\"\"" },
  /* JWTs in free text */
  { "token expired: " JWT ".", "token expired: " R "." },
  { "Bearer " JWT, "Bearer " R },
  { "xx" JWT "yy", "xx" R },
  { "unsecured eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. next",
    "unsecured " R " next" },
  { "eyJeyJeyJ.eyJ", "eyJeyJeyJ.eyJ" },
  /* left alone */
  { "plain text: a=b, c: d", "plain text: a=b, c: d" },
  { "Error: invalid pin", "Error: invalid pin" },
  { "", "" },
  { "\xff\xfe password=x \xc3", "\xff\xfe password=" R " \xc3" },
};

/* Deterministic junk from an alphabet that exercises every rule. */
static unsigned long rng = 12345;
static unsigned rnd(void)
{
  rng = rng * 6364136223846793005UL + 1442695040888963407UL;
  return (unsigned)(rng >> 33);
}

void test_redact(void)
{
  for (size_t i = 0; i < sizeof name_cases / sizeof name_cases[0]; i++) {
    const struct name_case *c = &name_cases[i];
    is_int(redact_name_is_secret(c->name, strlen(c->name)), c->want,
           c->name);
  }
  ok(!redact_name_is_secret(NULL, 3), "redact_name_is_secret(NULL)");
  ok(!redact_name_is_secret("password", 7), "name length is honoured");

  for (size_t i = 0; i < sizeof header_cases / sizeof header_cases[0]; i++) {
    const struct red_case *c = &header_cases[i];
    char *got = redact_header_line(c->in, strlen(c->in));
    is_str(got, c->want, c->in);
    free(got);
  }
  for (size_t i = 0; i < sizeof text_cases / sizeof text_cases[0]; i++) {
    const struct red_case *c = &text_cases[i];
    char *got = redact_text(c->in, strlen(c->in));
    is_str(got, c->want, c->in);
    free(got);
  }

  {
    char *got = redact_text(NULL, 5);
    is_str(got, "", "redact_text(NULL)");
    free(got);
    got = redact_header_line(NULL, 0);
    is_str(got, "", "redact_header_line(NULL)");
    free(got);
  }
  {
    /* Bytes after a NUL are still processed and copied. */
    static const char in[] = "a\0password=x&b=" JWT;
    static const char want[] = "a\0password=" R "&b=" R;
    char *got = redact_text(in, sizeof in - 1);
    ok(got && memcmp(got, want, sizeof want) == 0, "NUL inside the input");
    free(got);
    /* len bounds the input. */
    got = redact_text("password=abc", 11);
    is_str(got, "password=" R, "redact_text honours len");
    free(got);
    got = redact_header_line("Metadata: true\r\nX", 16);
    is_str(got, "Metadata: true\r\n", "redact_header_line honours len");
    free(got);
  }
  {
    /* A key longer than the look-back window is still judged by its end. */
    size_t n = 2000;
    char *in = malloc(n + 32);
    memset(in, 'a', n);
    in[0] = '{';
    in[1] = '"';
    strcpy(in + n, "_password\":\"x\"}");
    char *got = redact_text(in, strlen(in));
    ok(got && strstr(got, "\"" R "\"}") != NULL, "very long key");
    free(got);
    free(in);
  }
  {
    /* Hostile input: must stay linear and never crash. */
    size_t n = 1 << 20;
    char *in = malloc(n + 1);
    int good = in != NULL;
    static const char *const pats[] = { "eyJ", "\\\"", "\"pin\":", "=",
                                        "\\", "\"", "pin=", "[" };
    clock_t t0 = clock();
    for (size_t p = 0; good && p < sizeof pats / sizeof pats[0]; p++) {
      size_t k = strlen(pats[p]);
      for (size_t i = 0; i < n; i++)
        in[i] = pats[p][i % k];
      char *got = redact_text(in, n);
      good = got != NULL;
      free(got);
      got = redact_header_line(in, n);
      good = good && got != NULL;
      free(got);
    }
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    ok(good, "1 MiB hostile patterns handled");
    ok(secs < 20.0, "hostile patterns stay fast (%.2fs)", secs);

    static const char alpha[] = "\"\\:=&[],{} eyJ.a0-pin\n'#";
    good = in != NULL;
    for (int round = 0; good && round < 3000; round++) {
      size_t len = rnd() % 200;
      for (size_t i = 0; i < len; i++)
        in[i] = alpha[rnd() % (sizeof alpha - 1)];
      char *got = redact_text(in, len);
      char *got2 = redact_header_line(in, len);
      good = got != NULL && got2 != NULL;
      free(got);
      free(got2);
    }
    ok(good, "random junk handled");
    free(in);
  }
}

/* CAS tickets in paths, Location headers and bodies */
void test_redact_cas(void) {
  static const struct { const char *in, *want; } cases[] = {
    {"POST /cas/v1/tickets/TGT-1-AbCdEfGh123-cas01 HTTP/1.1",
     "POST /cas/v1/tickets/TGT-[REDACTED] HTTP/1.1"},
    {"ST-7-xYzXyZ0123456789-cas01", "ST-[REDACTED]"},
    {"GET /xtam/?ticket=ST-7-xYzXyZ0123456789 HTTP/1.1", "GET /xtam/?ticket=[REDACTED] HTTP/1.1"},
    {"PT-3-aaaaaaaaaaaa", "PT-[REDACTED]"},
    {"TEST-1-abcdefghijk", "TEST-1-abcdefghijk"},
    {"HOST-12345678", "HOST-12345678"},
    {"ST-short", "ST-short"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *got = redact_text(cases[i].in, strlen(cases[i].in));
    is_str(got, cases[i].want, cases[i].in);
    free(got);
  }
  const char *loc = "Location: https://pam/cas/v1/tickets/TGT-1-AbCdEfGh123-cas01\r\n";
  char *h = redact_header_line(loc, strlen(loc));
  is_str(h, "Location: https://pam/cas/v1/tickets/TGT-[REDACTED]\r\n", "CAS ticket in a Location header");
  free(h);
}

void test_redact_form(void) {
  static const struct { const char *in, *want; } cases[] = {
    {"name=n&custom=%7B%22Host%22%3A%22h%22%2C%22Password%22%3A%22S3cr3t%22%7D",
     "name=n&custom={\"Host\":\"h\",\"Password\":\"[REDACTED]\"}"},
    {"username=bob&password=hunter2", "username=bob&password=[REDACTED]"},
    {"azure=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "azure=[REDACTED]"},
    {"service=https%3A%2F%2Fpam%2Fxtam%2F", "service=https://pam/xtam/"},
    {"a=%ZZ&b=1", "a=%ZZ&b=1"},
    {"flag&x=1+2", "flag&x=1 2"},
    {"", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *got = redact_form(cases[i].in, strlen(cases[i].in));
    is_str(got, cases[i].want, cases[i].in);
    free(got);
  }
}
