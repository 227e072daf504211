# Overmind: one binary, build/overmind, with the Lua sources compiled in.
#
#   make            build build/overmind (installs missing Debian packages)
#   make test       build, then run every spec (unit, core, end-to-end, and
#                   the end-to-end suite again against the ASan/UBSan build)
#   make demo       build and run the demo on a private OVERMIND_HOME
#   make asan       build build/asan/overmind with ASan + UBSan
#   make bench      run the benchmarks (prints figures)
#   make contract   the real agent CLIs through Overmind (also in make test)
#   make install PREFIX=/usr/local
#   make clean

PREFIX  ?= /usr/local
CC      ?= cc
BUILD   := build

# Debian packages the build, the tests and the demo need.
DEB_PACKAGES := liblua5.4-dev lua5.4 libuv1-dev lua-cjson-dev lua-busted \
                libedit-dev pkg-config tmux clang libclang-rt-14-dev

PKGS     := lua5.4 libuv
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude \
            -I/usr/include/lua5.4
LDLIBS   := -l:liblua5.4-cjson.a -llua5.4 -luv -ledit -lm -ldl -lpthread

SRCS     := $(wildcard src/*.c)
HDRS     := $(wildcard include/overmind/*.h)
LUA_SRCS := $(shell find lua -name '*.lua' | sort)
# The embed must be regenerated when a module is added, moved or removed,
# not only when one changes: track the list itself.
LUA_LIST := $(BUILD)/lua-files.txt
$(shell mkdir -p $(BUILD); echo '$(LUA_SRCS)' | cmp -s - $(LUA_LIST) || \
        echo '$(LUA_SRCS)' > $(LUA_LIST))

OBJS      := $(SRCS:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/embed.o
ASAN_OBJS := $(SRCS:src/%.c=$(BUILD)/asan/obj/%.o) $(BUILD)/asan/obj/embed.o
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined

.PHONY: all deps test demo asan bench install clean fuzz fuzz-build contract

all: deps $(BUILD)/overmind

# Installs whatever Debian package is missing (we run as root on CI; use
# sudo elsewhere).  Cheap when everything is there: one dpkg-query.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing missing packages:" $$missing; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(BUILD)/embed.c: src/embed.lua $(LUA_SRCS) $(LUA_LIST) | deps
	@mkdir -p $(BUILD)
	lua5.4 src/embed.lua $@ $(LUA_SRCS)

$(BUILD)/obj/%.o: src/%.c $(HDRS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/embed.o: $(BUILD)/embed.c include/overmind/embed.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/overmind: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $(OBJS) $(LDFLAGS) $(LDLIBS)

asan: deps $(BUILD)/asan/overmind

$(BUILD)/asan/obj/%.o: src/%.c $(HDRS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O2,$(CFLAGS)) $(ASAN_FLAGS) -c -o $@ $<

$(BUILD)/asan/obj/embed.o: $(BUILD)/embed.c include/overmind/embed.h
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O2,$(CFLAGS)) $(ASAN_FLAGS) -c -o $@ $<

$(BUILD)/asan/overmind: $(ASAN_OBJS)
	$(CC) $(ASAN_FLAGS) -o $@ $(ASAN_OBJS) $(LDFLAGS) $(LDLIBS)

test: all asan fuzz-build
	@tests/run

# Fuzzing with libFuzzer (clang): targets in tests/fuzz/, seeds in
# tests/fuzz/corpus/<target>/.  `make fuzz` runs each for FUZZ_TIME seconds
# (default 60); `make test` runs each briefly (tests/run, suite "fuzz").
FUZZ_TARGETS := request lines streamjson toml
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_CC      := clang
FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined -std=c11 -D_GNU_SOURCE \
                -Iinclude -I/usr/include/lua5.4
FUZZ_OBJS    := $(filter-out $(BUILD)/fuzz/obj/main.o,$(SRCS:src/%.c=$(BUILD)/fuzz/obj/%.o)) \
                $(BUILD)/fuzz/obj/embed.o
FUZZ_TIME    ?= 60

fuzz-build: $(FUZZ_BINS)

# The core is compiled once for all targets (instrumented, without
# libFuzzer's main); each target links it with its own entry point.
$(BUILD)/fuzz/obj/%.o: src/%.c $(HDRS) | deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS:-fsanitize=fuzzer,%=-fsanitize=fuzzer-no-link,%) -c -o $@ $<

$(BUILD)/fuzz/obj/embed.o: $(BUILD)/embed.c include/overmind/embed.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS:-fsanitize=fuzzer,%=-fsanitize=fuzzer-no-link,%) -c -o $@ $<

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/harness.h $(FUZZ_OBJS) | deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_OBJS) $(LDLIBS)

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz_$$t ($(FUZZ_TIME)s)"; \
	  work=$$(mktemp -d); cp tests/fuzz/corpus/$$t/* $$work/; \
	  $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) -max_len=65536 \
	    -print_final_stats=1 $$work 2>&1 | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Done' ; \
	  st=$$?; rm -rf $$work; \
	done

# The real agent CLIs through Overmind against a mock model API (part of
# `make test`; needs node >= 20 and npm, and the npm registry once).
contract: all
	@tests/contract/overmind

demo: all
	@examples/demo.sh

bench: all
	@bench/run

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/overmind $(DESTDIR)$(PREFIX)/bin/overmind

clean:
	rm -rf $(BUILD)
