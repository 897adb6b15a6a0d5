# larder — build, test and run.  GNU make; every library through pkg-config.
#
#   make run      install missing packages, build, serve the demo catalog
#   make test     install missing packages, build, run every test (Criterion)
#   make asan     the whole test suite under AddressSanitizer + UBSan (in build/asan)
#   make tsan     the server built with ThreadSanitizer under the whole suite and the crash test
#   make bench    the benchmarks in bench/
#   make install  PREFIX=/usr/local (DESTDIR honoured)

PREFIX   ?= /usr/local
BUILD    ?= build
SAN      ?=
CC       ?= cc

# Debian packages the build, the tests and the benchmarks need (`make deps` installs the missing).
DEB_PKGS := build-essential pkg-config clang-format curl wrk nghttp2-client \
            liburing-dev libxxhash-dev libjemalloc-dev libh2o-evloop-dev libutf8proc-dev \
            libssl-dev libjansson-dev libjwt-dev libsodium-dev libcriterion-dev libcurl4-openssl-dev \
            clang libclang-rt-14-dev redis-server python3 librdkafka-dev kcat libpq-dev \
            postgresql libnghttp2-dev

PKG_LIBS  := liburing libxxhash libh2o-evloop libutf8proc jansson openssl libjwt libsodium libcurl rdkafka libpq
TEST_PKGS := criterion

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wformat=2 \
        -Wpointer-arith -Wundef -Wcast-align -Wno-unused-parameter
OPT  := -O2 -g
CFLAGS_ALL := -std=gnu11 $(OPT) $(WARN) -Iinclude -DH2O_USE_LIBUV=0 -MMD -MP \
              $(shell pkg-config --cflags $(PKG_LIBS) 2>/dev/null) $(CFLAGS)
LIBS := $(shell pkg-config --libs $(PKG_LIBS) 2>/dev/null) -lpthread -lm

SAN_ENV :=
ifeq ($(SAN),thread)
  CFLAGS_ALL += -fsanitize=thread -fno-omit-frame-pointer
  LDFLAGS_ALL := -fsanitize=thread $(LDFLAGS)
else ifeq ($(SAN),1)
  SAN_ENV := LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0 ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  CFLAGS_ALL += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS_ALL := -fsanitize=address,undefined $(LDFLAGS)
else
  # jemalloc is the allocator of the real binary; sanitizer builds keep ASan's.
  LIBS += $(shell pkg-config --libs jemalloc 2>/dev/null)
  LDFLAGS_ALL := $(LDFLAGS)
endif

LIB_SRCS  := $(wildcard common/*.c engine/*.c index/*.c) $(filter-out shell/main.c,$(wildcard shell/*.c shell/adapters/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_SRCS := $(wildcard tests/*.c tests/unit/*/*.c tests/integration/*.c)
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/tests/sim/disk.o
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
# larder-bench, the SLA harness (bench/harness/): its library is linked into the tests too.
HARNESS_SRCS := $(filter-out bench/harness/main.c,$(wildcard bench/harness/*.c))
HARNESS_OBJS := $(HARNESS_SRCS:%.c=$(BUILD)/obj/%.o)
HARNESS_LIBS := $(shell pkg-config --libs libnghttp2 2>/dev/null)

.PHONY: all deps run test check asan tsan bench clean install format sim

all: $(BUILD)/larder $(BUILD)/larder-bench

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "make deps: installing$$missing"; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi

run: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/larder serve --demo --data-dir $(BUILD)/demo-data

test: deps
	@$(MAKE) --no-print-directory check

asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 check

# ThreadSanitizer: the server built with -fsanitize=thread under the whole suite and the crash
# test (Criterion itself aborts under TSan, so the test binaries are the plain ones: what TSan
# watches is the server's threads: loops, engine, indexer, password workers, adapter thread).
# Every report goes to build/tsan/reports; any report fails the run.  The Kafka tests are left
# out: the TSan runtime itself crashes (a segfault in its shadow memory while a librdkafka broker
# thread frees) once the relay's consumer runs; they run in `make test` and `make asan`.
TSAN_REPORTS := $(abspath build/tsan/reports)
tsan: deps
	@$(MAKE) --no-print-directory BUILD=build/tsan SAN=thread build/tsan/larder
	@$(MAKE) --no-print-directory $(BUILD)/larder-tests $(BUILD)/larder-crash $(BUILD)/larder-bench
	@rm -rf $(TSAN_REPORTS) && mkdir -p $(TSAN_REPORTS)
	tests/pg/with_pg.sh env LARDER_BIN=$(abspath build/tsan/larder) \
	  LARDER_BENCH_BIN=$(abspath $(BUILD)/larder-bench) \
	  TSAN_OPTIONS="halt_on_error=0 log_path=$(TSAN_REPORTS)/tsan" \
	  $(BUILD)/larder-tests --jobs 2 --filter '!(kafka)/*'
	LARDER_BIN=$(abspath build/tsan/larder) TSAN_OPTIONS="halt_on_error=0 log_path=$(TSAN_REPORTS)/tsan" \
	  $(BUILD)/larder-crash --rounds 10
	LARDER_ENGINE=thread LARDER_BIN=$(abspath build/tsan/larder) \
	  TSAN_OPTIONS="halt_on_error=0 log_path=$(TSAN_REPORTS)/tsan" $(BUILD)/larder-crash --rounds 5
	@if ls $(TSAN_REPORTS)/tsan.* >/dev/null 2>&1; then cat $(TSAN_REPORTS)/tsan.*; \
	  echo "make tsan: ThreadSanitizer reports above"; exit 1; fi
	@echo "make tsan: no ThreadSanitizer report"

# Runs the Criterion suite (unit tests and integration tests against the real binary), then the
# crash test: SIGKILL a server during concurrent stock writes and check recovery (tests/crash/;
# 20 rounds with the engine on loop 0, the default, and 10 with LARDER_ENGINE=thread),
# then the simulator: 300 seeds from the clock on a simulated disk with faults, and four
# deliberately broken builds it must catch (tests/sim/).  tests/pg/with_pg.sh runs the suite next
# to a throw-away PostgreSQL server on loopback (the pg tests' database; they fail when it cannot
# start) and removes it afterwards.
check: $(BUILD)/larder $(BUILD)/larder-bench $(BUILD)/larder-tests $(BUILD)/larder-crash \
       $(BUILD)/larder-sim
	tests/pg/with_pg.sh env LARDER_BIN=$(abspath $(BUILD)/larder) \
	  LARDER_BENCH_BIN=$(abspath $(BUILD)/larder-bench) $(SAN_ENV) $(BUILD)/larder-tests --jobs 2
	LARDER_BIN=$(abspath $(BUILD)/larder) $(SAN_ENV) $(BUILD)/larder-crash --rounds 20
	LARDER_ENGINE=thread LARDER_BIN=$(abspath $(BUILD)/larder) $(SAN_ENV) \
	  $(BUILD)/larder-crash --rounds 10
	$(SAN_ENV) $(BUILD)/larder-sim --seeds 300
	@for b in ack-before-sync ignore-sync-error ignore-write-error no-checksum; do \
	  $(SAN_ENV) $(BUILD)/larder-sim --seed 1 --seeds 3000 --break $$b --expect-failure || exit 1; done

bench: deps
	@$(MAKE) --no-print-directory $(BUILD)/larder $(BUILD)/larder-bench $(BENCH_BINS)
	@for b in $(BENCH_BINS); do echo "== $$b"; LARDER_BIN=$(abspath $(BUILD)/larder) $$b || exit 1; done
	@for s in bench/*.sh; do echo "== $$s"; LARDER_BIN=$(abspath $(BUILD)/larder) \
	  LARDER_BENCH_BIN=$(abspath $(BUILD)/larder-bench) $$s || exit 1; done

$(BUILD)/liblarder.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BUILD)/larder: $(BUILD)/obj/shell/main.o $(BUILD)/liblarder.a
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(BUILD)/libbench.a: $(HARNESS_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BUILD)/larder-bench: $(BUILD)/obj/bench/harness/main.o $(BUILD)/libbench.a $(BUILD)/liblarder.a
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS) $(HARNESS_LIBS)

$(BUILD)/larder-tests: $(TEST_OBJS) $(BUILD)/libbench.a $(BUILD)/liblarder.a
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS) $(HARNESS_LIBS) $(shell pkg-config --libs $(TEST_PKGS))

$(BUILD)/larder-crash: $(BUILD)/obj/tests/crash/crash.o $(BUILD)/obj/tests/helpers.o $(BUILD)/liblarder.a
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS) $(shell pkg-config --libs $(TEST_PKGS))

$(BUILD)/larder-sim: $(BUILD)/obj/tests/sim/sim.o $(BUILD)/obj/tests/sim/disk.o $(BUILD)/obj/tests/helpers.o $(BUILD)/liblarder.a
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS) $(shell pkg-config --libs $(TEST_PKGS))

# The deterministic simulator (tests/sim/): `make sim SEEDS=100000` for a long run; a failing seed
# is printed with the command that runs it again.
SEEDS ?= 10000
sim: $(BUILD)/larder-sim
	$(BUILD)/larder-sim --seeds $(SEEDS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/liblarder.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

# the migrations are embedded by the assembler (.incbin in shell/pg.c)
$(BUILD)/obj/shell/pg.o: $(wildcard db/migrations/*.sql)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

# Fuzzing with libFuzzer: `make fuzz FUZZ_SECONDS=60` builds every tests/fuzz/*_fuzz.c with clang
# and ASan+UBSan into $(BUILD)/fuzz/ and runs each for FUZZ_SECONDS over its committed seed corpus
# (tests/fuzz/corpus/NAME/, read-only) plus a scratch corpus in $(BUILD)/fuzz/corpus/NAME/ where new
# inputs go; crashes land in $(BUILD)/fuzz/ as crash-* files.  Targets link common/, engine/ and
# index/ built with clang and the sanitizers.  The seeds are also replayed by `make check` (tests/unit/*/*_corpus.c).
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_SRCS    := $(wildcard tests/fuzz/*_fuzz.c)
FUZZ_BINS    := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_CFLAGS  := -std=gnu11 -O1 -g $(WARN) -Iinclude -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

.PHONY: fuzz
fuzz:
	@$(MAKE) --no-print-directory $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do \
	  name=$$(basename $$f _fuzz); mkdir -p $(BUILD)/fuzz/corpus/$$name; \
	  echo "== $$f: $(FUZZ_SECONDS) s over tests/fuzz/corpus/$$name"; \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $$f -max_total_time=$(FUZZ_SECONDS) \
	    -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/ \
	    $(BUILD)/fuzz/corpus/$$name tests/fuzz/corpus/$$name || exit 1; \
	done

$(BUILD)/fuzz/%_fuzz: tests/fuzz/%_fuzz.c $(wildcard common/*.c engine/*.c index/*.c include/larder/*.h \
                       shell/*.c shell/adapters/*.c shell/adapters/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(shell pkg-config --cflags $(PKG_LIBS)) -o $@ $< \
	  $(wildcard common/*.c engine/*.c index/*.c) $(shell pkg-config --libs $(PKG_LIBS)) -lpthread -lm

install: $(BUILD)/larder
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/larder $(DESTDIR)$(PREFIX)/bin/larder

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
