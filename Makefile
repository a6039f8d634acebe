# smtpconform - build, test and demo targets. `make help` lists them.

CC ?= cc
PKGS := libevent jansson openssl
# Debian's python3 carries pytest/aiosmtpd from apt; fall back to PATH's.
PYTHON ?= $(shell for p in /usr/bin/python3 python3; do \
	  if $$p -c 'import pytest, pexpect, aiosmtpd' 2>/dev/null; then echo $$p; exit; fi; done; \
	  command -v /usr/bin/python3 || command -v python3)
GENPY ?= $(shell command -v python3 || echo /usr/bin/python3)

BUILD ?= build
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
WARN := -Wall -Wextra -Werror -Wstrict-prototypes -Wshadow -Wformat=2
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) $(CFLAGS) \
	-iquote harness -I$(BUILD)/gen -DSMTPCONFORM_VERSION='"$(VERSION)"' \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

HARNESS_SRC := $(wildcard harness/*.c)
LIB_SRC := $(filter-out harness/main.c,$(HARNESS_SRC))
LIB_OBJ := $(patsubst harness/%.c,$(BUILD)/obj/%.o,$(LIB_SRC)) $(BUILD)/obj/matrix_data.o
MAIN_OBJ := $(BUILD)/obj/main.o
FIXTURE_SRC := $(wildcard fixtures/server/*.c)
FIXTURE_OBJ := $(patsubst fixtures/server/%.c,$(BUILD)/obj/fixture/%.o,$(FIXTURE_SRC))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
MATRIX_TSV := $(sort $(wildcard fixtures/matrix/*.tsv))

.PHONY: all help deps deps-test test unit e2e check-scenarios asan ubsan valgrind demo clean fuzz selftest bench

all: $(BUILD)/smtpconform $(BUILD)/smtpfixture

help:
	@echo "make            build build/smtpconform and build/smtpfixture"
	@echo "make demo       build, start the fixture server, run the bundled suite, write reports/"
	@echo "make test       install test dependencies, unit + end-to-end tests"
	@echo "make unit       cmocka unit tests only"
	@echo "make e2e        end-to-end tests (fixture server, the seven real servers)"
	@echo "make asan       unit + end-to-end tests under AddressSanitizer"
	@echo "make ubsan      unit + end-to-end tests under UndefinedBehaviorSanitizer"
	@echo "make valgrind   end-to-end tests with the harness under valgrind"
	@echo "make selftest   mutation self-test: every generated mutant server must be caught"
	@echo "make conformance  whole suite vs the seven real servers, writes docs/conformance.md"
	@echo "make fuzz       libFuzzer run of the reply and scenario parsers (clang)"
	@echo "make bench      speed and memory figures (reply reader, whole runs, -j scaling)"
	@echo "make clean      remove build/ and generated reports"

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test
	@scripts/install-third-mta.sh
	@scripts/install-mtas.sh

$(BUILD)/gen/matrix_data.c: fixtures/gen_matrix.py $(MATRIX_TSV)
	@mkdir -p $(dir $@)
	$(GENPY) fixtures/gen_matrix.py --out $@ $(MATRIX_TSV)

$(BUILD)/obj/matrix_data.o: $(BUILD)/gen/matrix_data.c harness/matrix.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: harness/%.c $(wildcard harness/*.h) | $(BUILD)/gen/matrix_data.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/obj/fixture/%.o: fixtures/server/%.c $(wildcard harness/*.h fixtures/server/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -Ifixtures/server -c -o $@ $<

$(BUILD)/libharness.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/smtpconform: $(MAIN_OBJ) $(BUILD)/libharness.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/smtpfixture: $(FIXTURE_OBJ) $(BUILD)/libharness.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libharness.a tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(shell pkg-config --cflags cmocka 2>/dev/null) -o $@ $< \
		$(BUILD)/libharness.a $(LIBS) $(shell pkg-config --libs cmocka 2>/dev/null)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; (cd tests/unit && ../../$$t); done

check-scenarios: $(BUILD)/smtpconform
	$(BUILD)/smtpconform check scenarios/

e2e: all
	SMTPCONFORM_BUILD=$(BUILD) SMTPFIXTURE_BIN=$(BUILD)/smtpfixture $(PYTHON) -m pytest -q tests/fixtures tests/e2e $(PYTEST_ARGS)

test: deps-test
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory check-scenarios
	@$(MAKE) --no-print-directory e2e
	@$(MAKE) --no-print-directory selftest-fast

asan: deps-test
	$(MAKE) --no-print-directory BUILD=build-asan CC=clang \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		all unit e2e

ubsan: deps-test
	$(MAKE) --no-print-directory BUILD=build-ubsan CC=clang \
		CFLAGS="-O1 -g -fsanitize=undefined,integer -fno-sanitize=unsigned-integer-overflow -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		all unit e2e

valgrind: deps-test all
	SMTPCONFORM_VALGRIND=1 $(PYTHON) -m pytest -q tests/e2e $(PYTEST_ARGS)

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

clean:
	rm -rf build build-asan build-ubsan build-fuzz
	find reports -type f ! -name .gitignore ! -name README.md -delete 2>/dev/null || true

# libFuzzer: FUZZ_SECONDS per harness; new inputs go to build-fuzz/corpus-*.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror -g -O1 \
	-fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -iquote harness
fuzz: deps-test
	@mkdir -p build-fuzz/corpus-reply build-fuzz/corpus-scenario
	clang $(FUZZ_CFLAGS) tests/fuzz/fuzz_reply.c harness/reply.c -o build-fuzz/fuzz_reply
	clang $(FUZZ_CFLAGS) tests/fuzz/fuzz_scenario.c harness/scenario.c harness/vars.c harness/util.c harness/sasl.c \
		$(shell pkg-config --libs openssl) -o build-fuzz/fuzz_scenario
	build-fuzz/fuzz_reply -max_len=20000 -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		build-fuzz/corpus-reply tests/fuzz/corpus/reply
	build-fuzz/fuzz_scenario -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		build-fuzz/corpus-scenario $(wildcard tests/fuzz/corpus/scenario)

# Figures for speed and memory (printed, never asserted).
bench: all
	SMTPCONFORM_BUILD=$(BUILD) $(PYTHON) tests/bench/bench.py

# Mutation self-test (docs/selftest.md): fixtures/gen_mutants.py writes one
# behaviour table per mutant under $(BUILD)/mutants/; tests/selftest/selftest.py
# runs the bundled suite against the reference and every mutant and prints the
# score. selftest-fast is the slice `make test` runs (every family, command and
# kind); both also check the golden reports and the self-test's own tests.
.PHONY: selftest-fast
SELFTEST_ARGS ?=
selftest: all
	$(GENPY) fixtures/gen_mutants.py --out $(BUILD)/mutants
	$(GENPY) tests/selftest/selftest.py --build $(BUILD) --mutants $(BUILD)/mutants \
		--summary $(BUILD)/selftest/summary.json $(SELFTEST_ARGS)
	SMTPCONFORM_BUILD=$(BUILD) $(PYTHON) -m pytest -q tests/selftest tests/golden $(PYTEST_ARGS)

selftest-fast: all
	$(GENPY) fixtures/gen_mutants.py --out $(BUILD)/mutants
	$(GENPY) tests/selftest/selftest.py --fast --build $(BUILD) --mutants $(BUILD)/mutants \
		--summary $(BUILD)/selftest/summary-fast.json $(SELFTEST_ARGS)
	SMTPCONFORM_BUILD=$(BUILD) $(PYTHON) -m pytest -q tests/selftest tests/golden $(PYTEST_ARGS)

# The whole bundled suite against the real servers of the e2e tests (Postfix,
# aiosmtpd, OpenSMTPD, Exim, Sendmail, Dovecot submission, Haraka; root,
# `make deps-test` installs them): one run each, side by side,
# reports/conformance-SERVER.json, then docs/conformance.md from the scenario
# headers, those reports and the deviations recorded in tests/e2e/expected/
# (re-recorded with tests/e2e/update_expected.py, see tests/e2e/README.md).
.PHONY: conformance
CONFORMANCE_SERVERS := postfix aiosmtpd opensmtpd exim sendmail dovecot haraka
conformance: all
	SMTPCONFORM_BUILD=$(BUILD) $(PYTHON) tests/e2e/conformance_run.py --out-dir reports \
		$(foreach s,$(CONFORMANCE_SERVERS),--server $(s))
	$(GENPY) scripts/gen_conformance.py --out docs/conformance.md --expected tests/e2e/expected \
		$(foreach s,$(CONFORMANCE_SERVERS),--report $(s)=reports/conformance-$(s).json) scenarios
