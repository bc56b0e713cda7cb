# pamsh - GNU make.  `make`, `make check`, `make demo`, `make install`.
# Everything generated lives under build/.

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   := build
ASAN    := $(BUILD)/asan
# test builds: PAMSH_TEST_HOOKS lets tests shrink retry waits
# (PAMSH_TEST_TIME_SCALE); the installed binary has no such switch
HOOKS   := $(BUILD)/hooks

CC      ?= gcc
PKG     := lua5.4 lua5.4-cjson libcurl openssl libedit inih
# git describe in a checkout, else the VERSION file (tarballs)
VERSION := $(shell sh packaging/version)

BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g \
               -DPAMSH_VERSION='"$(VERSION)"' -Icore -I$(BUILD) \
               $(shell pkg-config --cflags $(PKG) 2>/dev/null)
CFLAGS  ?= -O2
LUA_LIBDIR := $(shell pkg-config --variable=libdir lua5.4 2>/dev/null)
# Lua and lua-cjson linked statically (one self-contained binary); -E keeps
# the Lua C API visible to C modules a user script may require.
# libcurl is not linked: core/curl_load.c loads it at the first request
# (its dependency tree would cost every start some 4.5 ms)
LIBS    := $(LUA_LIBDIR)/liblua5.4-cjson.a $(LUA_LIBDIR)/liblua5.4.a \
           $(shell pkg-config --libs openssl libedit inih 2>/dev/null) -lm -ldl
LDFLAGS ?=
LINK    := -Wl,-E

SAN_FLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=undefined

CORE_SRC := $(filter-out core/embed.c core/main.c,$(wildcard core/*.c core/identity/*.c))
PURE_SRC := core/json.c core/b64.c core/jwt.c core/redact.c core/url.c core/timeparse.c core/err.c \
            core/backoff.c
LUA_SRC  := $(sort $(wildcard lua/*.lua lua/*/*.lua))
UNIT_SRC := $(wildcard tests/unit/*.c)

OBJ       := $(patsubst core/%.c,$(BUILD)/obj/%.o,$(CORE_SRC) core/main.c) $(BUILD)/obj/embedded.o
ASAN_OBJ  := $(patsubst core/%.c,$(ASAN)/obj/%.o,$(CORE_SRC) core/main.c) $(ASAN)/obj/embedded.o
HOOKS_OBJ := $(patsubst core/%.c,$(HOOKS)/obj/%.o,$(CORE_SRC) core/main.c) $(HOOKS)/obj/embedded.o

.PHONY: all check check-plain check-asan demo deps install uninstall clean
all: $(BUILD)/pamsh

$(BUILD)/embed: core/embed.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -o $@ $<

$(BUILD)/embedded.c: $(BUILD)/embed $(LUA_SRC)
	$(BUILD)/embed $(LUA_SRC) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/embedded.o: $(BUILD)/embedded.c core/runtime.h
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: core/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/pamsh: $(OBJ)
	$(CC) $(LDFLAGS) $(LINK) -o $@ $(OBJ) $(LIBS)

$(BUILD)/test-unit: $(UNIT_SRC) $(PURE_SRC) $(wildcard core/*.h tests/unit/*.h)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -Itests/unit -o $@ $(UNIT_SRC) $(PURE_SRC) -lm

# the same with test hooks
$(HOOKS)/obj/embedded.o: $(BUILD)/obj/embedded.o
	@mkdir -p $(@D)
	cp $< $@

$(HOOKS)/obj/%.o: core/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -DPAMSH_TEST_HOOKS -MMD -MP -c -o $@ $<

$(HOOKS)/pamsh: $(HOOKS_OBJ)
	$(CC) $(LDFLAGS) $(LINK) -o $@ $(HOOKS_OBJ) $(LIBS)

# instrumented with AddressSanitizer + UndefinedBehaviorSanitizer, with hooks
$(ASAN)/obj/embedded.o: $(BUILD)/embedded.c core/runtime.h
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(ASAN)/obj/%.o: core/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) -DPAMSH_TEST_HOOKS -MMD -MP -c -o $@ $<

$(ASAN)/pamsh: $(ASAN_OBJ)
	$(CC) $(SAN_FLAGS) $(LINK) -o $@ $(ASAN_OBJ) $(LIBS)

$(ASAN)/test-unit: $(UNIT_SRC) $(PURE_SRC) $(wildcard core/*.h tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) -Itests/unit -o $@ $(UNIT_SRC) $(PURE_SRC) -lm

# feature makefiles (fuzzing, lint, packaging, ...): each adds its own
# targets and may append to EXTRA_LIBS / CHECK_TARGETS
-include $(sort $(wildcard mk/*.mk))

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/obj/*/*.d $(ASAN)/obj/*.d \
                    $(ASAN)/obj/*/*.d $(HOOKS)/obj/*.d $(HOOKS)/obj/*/*.d)

deps:
	@vendor/install-deps

# The suite: C unit tests, Lua tests run by the binary, end-to-end tests
# through the binary against the simulator.  Run plain, then under
# ASan+UBSan.
TESTS := tests/unit tests/lua tests/e2e
PROVE := prove -r --timer -j2

# then the feature makefiles' steps (CHECK_TARGETS: static analysis, a
# short run of each fuzzer), so that CI's `make check` runs them all
check: deps
	@$(MAKE) --no-print-directory check-plain
	@$(MAKE) --no-print-directory check-asan
	@$(MAKE) --no-print-directory $(CHECK_TARGETS)

# the fuzz regressions (tests/fuzz) are replayed once, by their own
# ASan+UBSan build: not again in check-asan
check-plain: $(BUILD)/pamsh $(HOOKS)/pamsh $(BUILD)/test-unit
	PATH="$(CURDIR)/$(BUILD):$$PATH" PAMSH_BIN="$(CURDIR)/$(BUILD)/pamsh" \
	  PAMSH_HOOKS_BIN="$(CURDIR)/$(HOOKS)/pamsh" \
	  UNIT_BIN="$(CURDIR)/$(BUILD)/test-unit" $(PROVE) $(TESTS) tests/fuzz

check-asan: $(ASAN)/pamsh $(ASAN)/test-unit
	PATH="$(CURDIR)/$(ASAN):$$PATH" PAMSH_BIN="$(CURDIR)/$(ASAN)/pamsh" \
	  PAMSH_HOOKS_BIN="$(CURDIR)/$(ASAN)/pamsh" \
	  UNIT_BIN="$(CURDIR)/$(ASAN)/test-unit" \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98 \
	  $(PROVE) $(TESTS)

demo: deps
	@$(MAKE) --no-print-directory all
	tests/sim/with-sim $(BUILD)/pamsh scripts/demo.lua

install: $(BUILD)/pamsh
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BUILD)/pamsh $(DESTDIR)$(PREFIX)/bin/pamsh

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/pamsh

clean:
	rm -rf $(BUILD)
