# mk/valgrind.mk - the end-to-end tests with pamsh under valgrind memcheck
#
#   make check-valgrind   tests/e2e and tests/lua, with build/pamsh and
#                         build/hooks/pamsh run by tests/valgrind/run; then
#                         tests/valgrind/report: zero errors and zero
#                         definite leaks in every pamsh process, or it fails
#
# PAMSH_BIN, PAMSH_HOOKS_BIN and PATH (for `#!/usr/bin/env pamsh` scripts)
# point at two small wrappers under build/valgrind/.  One log per process
# goes to build/valgrind/logs/ (emptied at the start of each run).
# tests/valgrind/pamsh.supp holds the suppressions, each with its reason.
# TEST_SLOWDOWN tells the tests' timing bounds (tests/setup: took_under,
# faultmatrix.t: under) how much slower a process is here; no other
# assertion changes.
#
# Not run: package.t and dist.t, which build packages and never start
# pamsh.  VALGRIND_JOBS (2) tests run at a time.

VALGRIND_DIR   := $(BUILD)/valgrind
VALGRIND_JOBS  ?= 2
VALGRIND_SLOWDOWN ?= 4
VALGRIND_TESTS ?= tests/lua \
  $(filter-out tests/e2e/package.t tests/e2e/dist.t,$(sort $(wildcard tests/e2e/*.t)))

.PHONY: check-valgrind

check-valgrind: $(BUILD)/pamsh $(HOOKS)/pamsh
	@command -v valgrind >/dev/null || { \
	  echo "check-valgrind: valgrind not found (make deps installs it)" >&2; exit 1; }
	@rm -rf $(VALGRIND_DIR)/logs
	@mkdir -p $(VALGRIND_DIR)/bin $(VALGRIND_DIR)/hooks $(VALGRIND_DIR)/logs
	@# policy.t runs pamsh as nobody: its log must be creatable too
	@chmod 1777 $(VALGRIND_DIR)/logs
	@for w in bin:$(BUILD)/pamsh hooks:$(HOOKS)/pamsh; do \
	  f=$(VALGRIND_DIR)/$${w%%:*}/pamsh; \
	  printf '#!/bin/sh\nexec "%s" "%s" "$$@"\n' \
	    "$(CURDIR)/tests/valgrind/run" "$(CURDIR)/$${w#*:}" > $$f.tmp && \
	  chmod 755 $$f.tmp && mv $$f.tmp $$f || exit 1; \
	done
	@rc=0; \
	PATH="$(CURDIR)/$(VALGRIND_DIR)/bin:$$PATH" \
	  PAMSH_BIN="$(CURDIR)/$(VALGRIND_DIR)/bin/pamsh" \
	  PAMSH_HOOKS_BIN="$(CURDIR)/$(VALGRIND_DIR)/hooks/pamsh" \
	  VALGRIND_LOG_DIR="$(CURDIR)/$(VALGRIND_DIR)/logs" \
	  TEST_SLOWDOWN=$(VALGRIND_SLOWDOWN) PTY_TIMEOUT=$$((10 * $(VALGRIND_SLOWDOWN))) \
	  prove -r --timer -j$(VALGRIND_JOBS) $(VALGRIND_TESTS) || rc=1; \
	tests/valgrind/report $(VALGRIND_DIR)/logs || rc=1; \
	exit $$rc
