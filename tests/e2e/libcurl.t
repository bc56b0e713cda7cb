#!/usr/bin/env bash
# libcurl is loaded at the first request, not at start (core/curl_load.c):
# a script that makes no request never maps it; one that does, does; when
# it cannot be loaded, what needs no network still works and a request
# fails with exit 5 and says why.  The test build's PAMSH_TEST_LIBCURL
# names a library that is not there; the production binary ignores it.
. "$(dirname "$0")/../setup"
HOOKS=${PAMSH_HOOKS_BIN:-$TOP/build/hooks/pamsh}
[ -x "$HOOKS" ] || bail_out "no test-hook build at $HOOKS (make build/hooks/pamsh)"

sim_start
mapped='io.open("/proc/self/maps"):read("a"):find("libcurl", 1, true) ~= nil'

run "$PAMSH" -e "print($mapped)"
is "$RC $OUT" "0 false" "a script without a request: libcurl not loaded"
run "$PAMSH" -e "local r = pam.unlock(42) print(r.name, $mapped)"
is "$RC $OUT" $'0 db-prod\ttrue' "after a request: libcurl loaded, the request answered"
run "$PAMSH" -e "local ok = pcall(imds_token) print(ok, $mapped)"
is "$RC $OUT" $'0 true\ttrue' "a token request loads it too"
run "$PAMSH" version
like "$RC $OUT" $'^0 pamsh .*\nlibcurl [0-9.]+ \\(TLS: ' "pamsh version loads it to tell its version"
if command -v objdump >/dev/null; then
  objdump -p "$PAMSH" | awk '$1 == "NEEDED" { print $2 }' | grep -q libcurl
  ok $(( ! $? )) "the binary does not link libcurl (no NEEDED entry)"
else
  skip "no NEEDED entry for libcurl" "objdump not installed"
fi

# libcurl missing (the test build looks for it under another name)
gone=$TMP/no-such-dir/libcurl.so.4
simctl reset-log
run env PAMSH_TEST_LIBCURL="$gone" "$HOOKS" -e 'print(1 + 1, pam.secret("x"))'
is "$RC $OUT" "0 2	[REDACTED]" "libcurl missing: a script without a request runs"
run env PAMSH_TEST_LIBCURL="$gone" "$HOOKS" -e 'pam.unlock(42)'
is "$RC" 5 "libcurl missing: a request fails with exit 5"
like "$ERR" "pamsh: cannot load libcurl: $gone: cannot open shared object file.*\(is the libcurl4 package installed\?\)" \
  "libcurl missing: the message says which library and what to install"
is "$(simctl count imds /metadata) $(simctl count pam /xtam)" "0 0" "libcurl missing: nothing was sent"
run env PAMSH_TEST_LIBCURL="$gone" "$HOOKS" -e '
  local ok, e = pcall(pam_request, "GET", "/rest/folder/list/1")
  print(ok, e.kind) print(pcall(pam_request, "GET", "/rest/folder/list/1"))'
like "$RC $OUT" $'^0 false\tnetwork\nfalse\t.*cannot load libcurl' "libcurl missing: a network error a script can catch, every time"
run env PAMSH_TEST_LIBCURL="$gone" "$HOOKS" version
is "$RC" 0 "libcurl missing: pamsh version still answers"
like "$OUT" $'\nlibcurl unavailable \\(TLS: none\\)\n' "libcurl missing: pamsh version says so"
if [[ $PAMSH -ef $HOOKS ]]; then
  skip "the production binary has no such switch" "PAMSH_BIN is a test build (check-asan)"
else
  run env PAMSH_TEST_LIBCURL="$gone" "$PAMSH" -e "local r = pam.unlock(42) print(r.name)"
  is "$RC $OUT" "0 db-prod" "the production binary has no such switch"
fi

done_testing
