/* main.c - runs every unit test group and reports through TAP. */
#define TAP_IMPLEMENTATION
#include "tap.h"

void test_json(void);
void test_jwt(void);
void test_redact(void);
void test_url(void);
void test_timeparse(void);
void test_backoff(void);
void test_redact_cas(void);
void test_redact_form(void);

int main(void)
{
  test_json();
  test_jwt();
  test_redact();
  test_url();
  test_timeparse();
  test_backoff();
  test_redact_cas();
  test_redact_form();
  return done_testing();
}
