# mk/lint.mk - static analysis of the C sources
#
#   make lint            cppcheck and clang-tidy over core/*.c core/identity/*.c
#   make lint-cppcheck   cppcheck only (seconds)
#   make lint-tidy       clang-tidy only (one file per job: make -j2 lint-tidy)
#
# Both must be clean.  What is switched off, and each single false positive
# that is suppressed, is listed with its reason in .clang-tidy,
# mk/clang-tidy-suppressions and mk/cppcheck-suppressions.  clang-tidy
# results are kept per file (build/lint/) and redone only when the file, a
# header in core/ or the configuration changes.

LINT_DIR   := $(BUILD)/lint
LINT_SRC   := $(sort $(wildcard core/*.c core/identity/*.c))
CPPCHECK   ?= cppcheck
CLANG_TIDY ?= $(firstword $(shell command -v clang-tidy-14 clang-tidy 2>/dev/null) clang-tidy)

# the build's flags (PAMSH_VERSION as the build defines it), plus a header
# that marks Lua's error functions noreturn for the analyzer only
LINT_FLAGS := -std=c11 -D_GNU_SOURCE -DPAMSH_VERSION='"lint"' -Icore -I$(BUILD) \
              $(shell pkg-config --cflags $(PKG) inih 2>/dev/null) \
              -include mk/lint-lua-noreturn.h

CPPCHECK_FLAGS := --std=c11 --enable=warning,style,performance,portability \
                  --library=posix --inline-suppr --error-exitcode=1 --quiet \
                  --suppressions-list=mk/cppcheck-suppressions \
                  -D_GNU_SOURCE '-DPAMSH_VERSION="lint"' -Icore -I$(BUILD)

LINT_TIDY_OK := $(patsubst %.c,$(LINT_DIR)/tidy/%.ok,$(LINT_SRC))
LINT_DEPS    := .clang-tidy mk/clang-tidy-suppressions mk/clang-tidy-filter \
                mk/lint-lua-noreturn.h $(wildcard core/*.h core/identity/*.h)

.PHONY: lint lint-cppcheck lint-tidy

lint: lint-cppcheck lint-tidy
	@echo "lint: clean (cppcheck, clang-tidy over $(words $(LINT_SRC)) files)"

lint-cppcheck:
	@command -v $(CPPCHECK) >/dev/null || { \
	  echo "lint: cppcheck not found (make deps installs it)" >&2; exit 1; }
	$(CPPCHECK) $(CPPCHECK_FLAGS) $(LINT_SRC)

lint-tidy: $(LINT_TIDY_OK)

$(LINT_DIR)/tidy/%.ok: %.c $(LINT_DEPS)
	@command -v $(CLANG_TIDY) >/dev/null || { \
	  echo "lint: clang-tidy not found (make deps installs it)" >&2; exit 1; }
	@mkdir -p $(@D)
	@echo "clang-tidy $<"
	@CLANG_TIDY=$(CLANG_TIDY) mk/clang-tidy-filter mk/clang-tidy-suppressions $< -- \
	  $(LINT_FLAGS) > $@.out 2>&1; rc=$$?; \
	  if [ $$rc -ne 0 ]; then cat $@.out >&2; rm -f $@; exit 1; fi; mv $@.out $@

# for the main check target (see the README's Static analysis section)
CHECK_TARGETS += lint
