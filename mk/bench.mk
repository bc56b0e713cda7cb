# mk/bench.mk - `make bench` (not part of `make check`): pamsh against the
# curl loop operators run today, Python's http.client and wrk (the
# ceiling), on a local nginx with fixed answers.  See tests/bench/bench.py.
#
#   make bench            install what is missing, build, measure; the table
#                         on stdout and in build/bench.md
#   make bench-profile    where a sequential request's time goes (callgrind,
#                         perf stat): build/bench-profile.md
#
# BENCH_N=2000 requests a way, BENCH_REPEAT=5, BENCH_WRK_SECONDS=2,
# BENCH_WRK_REPEAT=3, BENCH_STARTUP_RUNS=200, BENCH_RSS_N=5000,
# BENCH_PROFILE_N=500 (exported to the runner when set).  Loopback only;
# about a minute on 2 cores (the curl loop is most of it).

BENCH_PYTHON ?= /usr/bin/python3
export BENCH_N BENCH_REPEAT BENCH_WRK_SECONDS BENCH_WRK_REPEAT BENCH_STARTUP_RUNS \
       BENCH_RSS_N BENCH_PROFILE_N

.PHONY: bench bench-profile
bench: deps
	@vendor/install-bench-deps
	@$(MAKE) --no-print-directory all
	$(BENCH_PYTHON) tests/bench/bench.py --pamsh $(BUILD)/pamsh --out $(BUILD)/bench.md \
	  --cc "$(CC)" --link-libs "$(LIBS)"

bench-profile: deps
	@vendor/install-bench-deps --profile
	@$(MAKE) --no-print-directory all
	$(BENCH_PYTHON) tests/bench/bench.py --pamsh $(BUILD)/pamsh --profile \
	  --out $(BUILD)/bench-profile.md
