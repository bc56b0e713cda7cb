# mk/fuzz.mk - libFuzzer targets for the pure parsers (tests/fuzz/fuzz_*.c)
#
#   make fuzz               build, then run each target FUZZ_SECONDS (60) s
#   make fuzz-short         the same, FUZZ_SHORT_SECONDS (20) s each: for CI
#   make fuzz-NAME          one target (FUZZ_SECONDS), e.g. make fuzz-redact
#   make fuzz-build         just build build/fuzz/fuzz_* (clang, libFuzzer,
#                           ASan+UBSan)
#   make fuzz-replay        build build/fuzz/replay/fuzz_* with $(CC) and
#                           ASan+UBSan: replay files, no fuzzing, no clang
#   make fuzz-regress       replay the seed corpora and tests/fuzz/regressions/
#                           (tests/fuzz/regressions.t, also run by prove)
#   make fuzz-merge         merge what the runs found (build/fuzz/corpus/)
#                           into the seed corpora, minimised
#
# Runs write new inputs to build/fuzz/corpus/NAME and crashes to
# build/fuzz/artifacts/NAME/; the seed corpora in tests/fuzz/corpus/ are
# only read.  A crash: copy it to tests/fuzz/regressions/NAME/, fix, and
# the replay keeps it fixed.

FUZZ_DIR           := $(BUILD)/fuzz
FUZZ_TARGETS       := jwt timeparse json luajson config retry url redact
FUZZ_SECONDS       ?= 60
FUZZ_SHORT_SECONDS ?= 20
# extra libFuzzer flags for the runs, e.g. FUZZ_FLAGS=-jobs=2
FUZZ_FLAGS         ?=

ifeq ($(origin FUZZ_CC),undefined)
FUZZ_CC := $(firstword $(shell command -v clang-14 clang 2>/dev/null))
endif

FUZZ_SAN    := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := $(BASE_CFLAGS) -O1 -g -fno-omit-frame-pointer -Itests/fuzz \
               $(shell pkg-config --cflags inih 2>/dev/null)
FUZZ_LIBS   := -lm

# the core objects each target links (no libcurl, no Lua unless said)
FUZZ_CORE_jwt       := jwt b64 json timeparse
FUZZ_CORE_timeparse := timeparse
FUZZ_CORE_json      := json
FUZZ_CORE_luajson   :=
FUZZ_CORE_config    := config
FUZZ_CORE_retry     := backoff timeparse
FUZZ_CORE_url       := url
FUZZ_CORE_redact    := redact jwt b64 json url
FUZZ_EXTRA_luajson  := $(LUA_LIBDIR)/liblua5.4-cjson.a $(LUA_LIBDIR)/liblua5.4.a -ldl
# config.c parses the config file with libinih: the config target links it
FUZZ_EXTRA_config   := $(shell pkg-config --libs inih 2>/dev/null)

FUZZ_BINS   := $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_TARGETS))
REPLAY_BINS := $(addprefix $(FUZZ_DIR)/replay/fuzz_,$(FUZZ_TARGETS))

.PHONY: fuzz fuzz-short fuzz-build fuzz-replay fuzz-regress fuzz-merge \
        fuzz-check-cc $(addprefix fuzz-,$(FUZZ_TARGETS))

fuzz-check-cc:
	@if [ -z "$(FUZZ_CC)" ]; then \
	  echo "fuzz: clang not found (make deps installs clang and libclang-rt-14-dev)" >&2; \
	  exit 1; fi

# libFuzzer builds
$(FUZZ_DIR)/obj/%.o: core/%.c | fuzz-check-cc
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/obj/fuzz_%.o: tests/fuzz/fuzz_%.c | fuzz-check-cc
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -MMD -MP -c -o $@ $<

# replay builds: $(CC) with the suite's sanitizers and a plain main()
$(FUZZ_DIR)/replay/obj/%.o: core/%.c
	@mkdir -p $(@D)
	$(CC) $(FUZZ_CFLAGS) $(SAN_FLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/replay/obj/fuzz_%.o: tests/fuzz/fuzz_%.c
	@mkdir -p $(@D)
	$(CC) $(FUZZ_CFLAGS) $(SAN_FLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/replay/obj/replay_main.o: tests/fuzz/replay_main.c tests/fuzz/fuzz.h
	@mkdir -p $(@D)
	$(CC) $(FUZZ_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

# luajson without sanitizers, for valgrind: Lua and lua-cjson come as
# uninstrumented static libraries, so ASan cannot see their writes (the
# fix_integers Lua-stack overflow was one); valgrind can
$(FUZZ_DIR)/plain/fuzz_luajson: tests/fuzz/fuzz_luajson.c tests/fuzz/replay_main.c tests/fuzz/fuzz.h core/redact.h
	@mkdir -p $(@D)
	$(CC) $(FUZZ_CFLAGS) -O1 -o $@ tests/fuzz/fuzz_luajson.c tests/fuzz/replay_main.c \
	  $(FUZZ_EXTRA_luajson) $(FUZZ_LIBS)

define FUZZ_TARGET_RULES
$(FUZZ_DIR)/fuzz_$(1): $(FUZZ_DIR)/obj/fuzz_$(1).o $(addprefix $(FUZZ_DIR)/obj/,$(addsuffix .o,$(FUZZ_CORE_$(1))))
	$$(FUZZ_CC) $$(FUZZ_SAN) -o $$@ $$^ $$(FUZZ_EXTRA_$(1)) $$(FUZZ_LIBS)

$(FUZZ_DIR)/replay/fuzz_$(1): $(FUZZ_DIR)/replay/obj/fuzz_$(1).o $(FUZZ_DIR)/replay/obj/replay_main.o \
                              $(addprefix $(FUZZ_DIR)/replay/obj/,$(addsuffix .o,$(FUZZ_CORE_$(1))))
	$$(CC) $$(SAN_FLAGS) -o $$@ $$^ $$(FUZZ_EXTRA_$(1)) $$(FUZZ_LIBS)

fuzz-$(1): $(FUZZ_DIR)/fuzz_$(1)
	tests/fuzz/run-fuzz -d $(FUZZ_DIR) -t $$(FUZZ_SECONDS) $$(FUZZ_FLAGS) -- $(1)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_TARGET_RULES,$(t))))

fuzz-build: $(FUZZ_BINS)

fuzz-replay: $(REPLAY_BINS) $(FUZZ_DIR)/plain/fuzz_luajson

fuzz: fuzz-build
	tests/fuzz/run-fuzz -d $(FUZZ_DIR) -t $(FUZZ_SECONDS) $(FUZZ_FLAGS) -- $(FUZZ_TARGETS)

fuzz-short: fuzz-build
	tests/fuzz/run-fuzz -d $(FUZZ_DIR) -t $(FUZZ_SHORT_SECONDS) $(FUZZ_FLAGS) -- $(FUZZ_TARGETS)

fuzz-regress: fuzz-replay
	FUZZ_REPLAY_DIR="$(CURDIR)/$(FUZZ_DIR)/replay" prove tests/fuzz/regressions.t

fuzz-merge: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  [ -d $(FUZZ_DIR)/corpus/$$t ] || continue; \
	  mkdir -p tests/fuzz/corpus/$$t; \
	  $(FUZZ_DIR)/fuzz_$$t -merge=1 -timeout=10 tests/fuzz/corpus/$$t \
	    $(FUZZ_DIR)/corpus/$$t 2>&1 | grep -E '^MERGE-OUTER: [0-9]+ new files' || exit 1; \
	done

# for the main check target (see the README's Fuzzing section)
CHECK_TARGETS += fuzz-short

-include $(wildcard $(FUZZ_DIR)/obj/*.d $(FUZZ_DIR)/replay/obj/*.d)
