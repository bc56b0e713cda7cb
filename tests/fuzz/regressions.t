#!/usr/bin/env bash
# tests/fuzz/regressions.t - the fuzz targets' inputs replayed without
# fuzzing: each target (built with $(CC) and ASan+UBSan by `make
# fuzz-replay`, no clang needed) runs once over its seed corpus
# tests/fuzz/corpus/NAME/ and over tests/fuzz/regressions/NAME/, where
# every crash the fuzzers found is kept.  The Lua target runs again under
# valgrind (the Lua and lua-cjson libraries are not instrumented), and
# tests/fuzz/regressions/pamsh/*.json are served by the simulator to the
# real pamsh under valgrind.  tests/fuzz/copies-in-step checks that the
# code fuzz_luajson.c and fuzz_retry.c copy from core/ is still core's.
#
# FUZZ_REPLAY_DIR: where the replay binaries are (default build/fuzz);
# they are built here when missing.
. "$(dirname "$0")/../setup"

FUZZ=${FUZZ_REPLAY_DIR:-$TOP/build/fuzz}
targets=(jwt timeparse json luajson config retry url redact)

# build (a no-op when `make fuzz-replay` ran first); a make started by prove
# under make must not try to join the outer make's jobserver
if [[ -z ${FUZZ_REPLAY_DIR-} ]]; then
  if ! command -v make >/dev/null || ! command -v "${CC:-cc}" >/dev/null; then
    skip_all "no make or C compiler to build the replay binaries"
  fi
  if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$TOP" -s --no-print-directory \
       fuzz-replay >"$TMP/make.log" 2>&1; then
    cat "$TMP/make.log" >&2
    bail_out "make fuzz-replay failed"
  fi
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98

# the targets that copy code from core/ test what core/ runs
run "$PYTHON" "$TOP/tests/fuzz/copies-in-step" "$TOP"
ok "$RC" "the fuzz targets' copies of core/ code are in step with core/" || diag_run

have_valgrind=0
command -v valgrind >/dev/null && have_valgrind=1

for t in "${targets[@]}"; do
  inputs=()
  for d in "$TOP/tests/fuzz/corpus/$t" "$TOP/tests/fuzz/regressions/$t"; do
    [[ -d $d ]] && inputs+=("$d")
  done
  n=0
  ((${#inputs[@]})) && n=$(find "${inputs[@]}" -type f | wc -l)
  run --timeout 300 "$FUZZ/replay/fuzz_$t" ${inputs[@]+"${inputs[@]}"}
  ok "$RC" "fuzz_$t replays its $n input(s) cleanly" || diag_run
done

# Lua and lua-cjson under valgrind
if ((have_valgrind)); then
  run --timeout 300 valgrind -q --error-exitcode=99 --leak-check=no \
    "$FUZZ/plain/fuzz_luajson" "$TOP/tests/fuzz/corpus/luajson" \
    "$TOP/tests/fuzz/regressions/luajson"
  ok "$RC" "fuzz_luajson under valgrind: no invalid read or write" || diag_run
else
  skip "fuzz_luajson under valgrind" "valgrind is not installed"
fi

# the same bodies through the real pamsh (core/lpam.c, not the target's
# copy of its JSON code): a PAM response pamsh must decode without a
# memory error
bodies=("$TOP"/tests/fuzz/regressions/pamsh/*.json)
[[ -e ${bodies[0]} ]] || bodies=()
why=
if ((!have_valgrind)); then why="valgrind is not installed"
elif [[ ! -x $PAMSH ]]; then why="no pamsh binary at $PAMSH"
elif grep -qa __asan_init "$PAMSH"; then why="valgrind cannot run an ASan build (the plain run covers it)"
fi
if ((${#bodies[@]})) && [[ -z $why ]]; then
  sim_start
  printf 'local data = pam.get("/rest/folder/list")\nassert(type(data) == "table")\n' >"$TMP/get.lua"
  for b in "${bodies[@]}"; do
    simctl fault pam /xtam/rest/folder/list status status=200 "body=:$(<"$b")" count=1 >/dev/null
    run --timeout 120 valgrind -q --error-exitcode=99 --leak-check=no "$PAMSH" "$TMP/get.lua"
    ok "$RC" "pamsh decodes ${b##*/} under valgrind" || diag_run
  done
elif ((${#bodies[@]})); then
  for b in "${bodies[@]}"; do skip "pamsh decodes ${b##*/} under valgrind" "$why"; done
fi

done_testing
