# smtpconform - build, test and demo targets. `make help` lists them.

CC ?= cc
PKGS := libevent jansson openssl libpcre2-8 libedit
# Debian's python3 carries pytest/aiosmtpd from apt; fall back to PATH's.
PYTHON ?= $(shell for p in /usr/bin/python3 python3; do \
	  if $$p -c 'import pytest, pexpect, aiosmtpd' 2>/dev/null; then echo $$p; exit; fi; done; \
	  command -v /usr/bin/python3 || command -v python3)
GENPY ?= $(shell command -v python3 || echo /usr/bin/python3)

BUILD ?= build
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
# make install: PREFIX and DESTDIR as usual; the binary finds DATADIR's
# scenarios (also relative to itself: BIN/../share/smtpconform).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/smtpconform
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
INSTALL ?= install
WARN := -Wall -Wextra -Werror -Wstrict-prototypes -Wshadow -Wformat=2
CFLAGS ?= -O2 -g
# CPPFLAGS and LDFLAGS from the environment too (dpkg-buildflags: hardening).
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) $(CPPFLAGS) $(CFLAGS) \
	-iquote harness -I$(BUILD)/gen -DSMTPCONFORM_VERSION='"$(VERSION)"' \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

HARNESS_SRC := $(wildcard harness/*.c)
LIB_SRC := $(filter-out harness/main.c,$(HARNESS_SRC))
LIB_OBJ := $(patsubst harness/%.c,$(BUILD)/obj/%.o,$(LIB_SRC)) $(BUILD)/obj/matrix_data.o \
	$(BUILD)/obj/outcome_data.o
MAIN_OBJ := $(BUILD)/obj/main.o
FIXTURE_SRC := $(wildcard fixtures/server/*.c)
FIXTURE_OBJ := $(patsubst fixtures/server/%.c,$(BUILD)/obj/fixture/%.o,$(FIXTURE_SRC))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
# libFuzzer harnesses, tests/fuzz/fuzz_<target>.c (see `fuzz` below). Each is
# also linked with tests/fuzz/fuzz_main.c into a replayer that `make unit`
# runs over the target's seeds and saved crash inputs (regressions/<target>/).
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(filter-out tests/fuzz/fuzz_main.c,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_REPLAY_BIN := $(patsubst %,$(BUILD)/tests/fuzz_%_replay,$(FUZZ_TARGETS))
# Seeds of each target: its corpus/ directory, plus the bundled scenarios
# and the unit tests' scenario files for the scenario parser.
FUZZ_SEEDS_reply := tests/fuzz/corpus/reply
FUZZ_SEEDS_scenario := scenarios tests/unit/scenarios
FUZZ_SEEDS_json := tests/fuzz/corpus/json
FUZZ_MAXLEN_reply := 20000
FUZZ_MAXLEN_scenario := 8192
FUZZ_MAXLEN_json := 65536
MATRIX_TSV := $(sort $(wildcard fixtures/matrix/*.tsv))

.PHONY: all help deps deps-test test unit e2e check-scenarios format format-check asan ubsan valgrind demo clean fuzz selftest bench \
	man install uninstall deb

all: $(BUILD)/smtpconform $(BUILD)/smtpfixture

help:
	@echo "make            build build/smtpconform and build/smtpfixture"
	@echo "make demo       build, start the fixture server, run the bundled suite, write reports/"
	@echo "make test       install test dependencies, unit + end-to-end tests"
	@echo "make unit       cmocka unit tests only"
	@echo "make rules-doc  regenerate docs/rules.md from the rule table"
	@echo "make docs       also docs/suite.md and the examples in docs/reports.md"
	@echo "make e2e        end-to-end tests (fixture server, the seven real servers)"
	@echo "make asan       unit + end-to-end tests under AddressSanitizer"
	@echo "make ubsan      unit + end-to-end tests under UndefinedBehaviorSanitizer"
	@echo "make valgrind   end-to-end tests with the harness under valgrind"
	@echo "make selftest   mutation self-test: every generated mutant server must be caught"
	@echo "make conformance  whole suite vs the seven real servers, writes docs/conformance.md"
	@echo "make fuzz       libFuzzer runs: reply reader, scenario parser, JSON loader + renderers (clang)"
	@echo "make bench      speed and memory figures (reply reader, whole runs, -j scaling,"
	@echo "                load vs smtp-source, memory per concurrent session)"
	@echo "make man        render the man pages (docs/man/*.scd, scdoc) into build/man/"
	@echo "make install    install into \$$(DESTDIR)\$$(PREFIX) (default /usr/local): binary, scenarios,"
	@echo "                matrix data, man pages, bash and zsh completion; make uninstall"
	@echo "make deb        build the Debian package into build/deb/ (dpkg-buildpackage, lintian)"
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

# main.c and run_options.c (--help) have DATADIR built in: rebuild them when it changes.
$(BUILD)/datadir.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(DATADIR)' | cmp -s - $@ || echo '$(DATADIR)' > $@
.PHONY: FORCE
FORCE:
$(BUILD)/obj/main.o $(BUILD)/obj/run_options.o: $(BUILD)/datadir.stamp
$(BUILD)/obj/main.o $(BUILD)/obj/run_options.o: ALL_CFLAGS += -DSMTPCONFORM_DATADIR='"$(DATADIR)"'

# The protocol model's expected outcomes (fixtures/model/outcomes.tsv).
$(BUILD)/gen/outcome_data.c: fixtures/gen_outcomes.py fixtures/model/outcomes.tsv
	@mkdir -p $(dir $@)
	$(GENPY) fixtures/gen_outcomes.py --out $@ fixtures/model/outcomes.tsv

$(BUILD)/obj/outcome_data.o: $(BUILD)/gen/outcome_data.c $(wildcard harness/*.h)
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
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/smtpfixture: $(FIXTURE_OBJ) $(BUILD)/libharness.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libharness.a tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(shell pkg-config --cflags cmocka 2>/dev/null) -o $@ $< \
		$(BUILD)/libharness.a $(LIBS) $(shell pkg-config --libs cmocka 2>/dev/null)

# FUZZ_LINK: -fsanitize=fuzzer when `make fuzz` builds the real fuzzers.
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/libharness.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FUZZ_LINK) -o $@ $< $(BUILD)/libharness.a $(LIBS)

$(BUILD)/tests/fuzz_%_replay: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_main.c $(BUILD)/libharness.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< tests/fuzz/fuzz_main.c $(BUILD)/libharness.a $(LIBS)

unit: $(UNIT_BIN) $(FUZZ_REPLAY_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; (cd tests/unit && ../../$$t); done
	@set -e; $(foreach t,$(FUZZ_TARGETS),echo "== fuzz replay: $(t)"; \
		$(BUILD)/tests/fuzz_$(t)_replay $(FUZZ_SEEDS_$(t)) $(wildcard tests/fuzz/regressions/$(t));)

# docs/rules.md is printed from the rule table (harness/rules.c); the unit
# test test_rules fails while it is stale. docs/suite.md (scenario headers)
# and the examples in docs/reports.md (the golden run, rendered) come from
# scripts/gen_suite.py and scripts/gen_report_docs.py; tests/e2e/test_docs.py
# fails while either is stale.
.PHONY: rules-doc docs
rules-doc: $(BUILD)/smtpconform
	$(BUILD)/smtpconform rules --markdown > docs/rules.md.tmp && mv docs/rules.md.tmp docs/rules.md
docs: rules-doc $(BUILD)/smtpconform
	$(GENPY) scripts/gen_suite.py
	$(GENPY) scripts/gen_report_docs.py --binary $(BUILD)/smtpconform

# One C style (.clang-format, clang-format 14 as Debian 12 ships it): `make
# format` applies it; `make format-check` (part of `make test`) fails naming
# every file it would change. Tables laid out by hand sit between
# /* clang-format off */ and /* clang-format on */.
FORMAT_SRC := $(wildcard harness/*.c harness/*.h fixtures/server/*.c fixtures/server/*.h \
	tests/unit/*.c tests/unit/*.h tests/fuzz/*.c tests/fuzz/*.h tests/bench/*.c)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	@command -v clang-format >/dev/null || { echo "clang-format is missing: run make deps-test" >&2; exit 1; }
	@clang-format --dry-run -Werror $(FORMAT_SRC) 2>&1 | grep -o '^[^:]*\.[ch]' | sort -u | \
		sed 's/^/needs `make format`: /' | { ! grep .; }

check-scenarios: $(BUILD)/smtpconform
	$(BUILD)/smtpconform check scenarios/

e2e: all
	SMTPCONFORM_BUILD=$(BUILD) SMTPFIXTURE_BIN=$(BUILD)/smtpfixture $(PYTHON) -m pytest -q tests/fixtures tests/e2e $(PYTEST_ARGS)

test: deps-test
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory check-scenarios
	@$(MAKE) --no-print-directory format-check
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

# libFuzzer (clang): the harness library is rebuilt in build-fuzz/ with
# coverage and ASan+UBSan (so the fuzzers see every harness source: no list
# kept here), each tests/fuzz/fuzz_<target>.c is linked against it, and each
# runs FUZZ_SECONDS on its seeds; new inputs go to build-fuzz/corpus-<target>,
# crash inputs to build-fuzz/crash-* (make one a regression test: copy it to
# tests/fuzz/regressions/<target>/, see tests/fuzz/README.md).
FUZZ_SECONDS ?= 60
FUZZ_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all
fuzz: deps-test
	$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang \
		CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $(FUZZ_SANITIZE)" \
		FUZZ_LINK="-fsanitize=fuzzer" $(patsubst %,build-fuzz/fuzz/fuzz_%,$(FUZZ_TARGETS))
	@set -e; $(foreach t,$(FUZZ_TARGETS),mkdir -p build-fuzz/corpus-$(t); \
		echo "== fuzz $(t) for $(FUZZ_SECONDS) s"; \
		build-fuzz/fuzz/fuzz_$(t) -max_len=$(FUZZ_MAXLEN_$(t)) -max_total_time=$(FUZZ_SECONDS) \
			-print_final_stats=1 -artifact_prefix=build-fuzz/crash-$(t)- build-fuzz/corpus-$(t) \
			$(FUZZ_SEEDS_$(t)) $(wildcard tests/fuzz/regressions/$(t));)

# Figures for speed and memory (printed, never asserted). Postfix brings
# smtp-sink and smtp-source (the load comparison, docs/load.md).
bench:
	@scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory all
	SMTPCONFORM_BUILD=$(BUILD) $(PYTHON) tests/bench/bench.py $(BENCH_ARGS)

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
# aiosmtpd, OpenSMTPD, Exim, Sendmail, Dovecot submission, Haraka, qpsmtpd; root,
# `make deps-test` installs them): one run each, side by side,
# reports/conformance-SERVER.json, then docs/conformance.md from the scenario
# headers, those reports and the deviations recorded in tests/e2e/expected/
# (re-recorded with tests/e2e/update_expected.py, see tests/e2e/README.md),
# and reports/conformance.html, the same runs side by side (`report --from`).
.PHONY: conformance
CONFORMANCE_SERVERS := postfix aiosmtpd opensmtpd exim sendmail dovecot haraka qpsmtpd
conformance: all
	SMTPCONFORM_BUILD=$(BUILD) $(PYTHON) tests/e2e/conformance_run.py --out-dir reports \
		$(foreach s,$(CONFORMANCE_SERVERS),--server $(s))
	$(GENPY) scripts/gen_conformance.py --out docs/conformance.md --expected tests/e2e/expected \
		$(foreach s,$(CONFORMANCE_SERVERS),--report $(s)=reports/conformance-$(s).json) scenarios
	$(BUILD)/smtpconform report $(foreach s,$(CONFORMANCE_SERVERS),--from $(s)=reports/conformance-$(s).json) \
		--report html:reports/conformance.html

# Man pages: one scdoc source each in docs/man/, rendered into $(BUILD)/man/.
MAN_SRC := $(wildcard docs/man/*.scd)
MAN_OUT := $(patsubst docs/man/%.scd,$(BUILD)/man/%,$(MAN_SRC))
man: $(MAN_OUT)
$(BUILD)/man/%: docs/man/%.scd
	@mkdir -p $(dir $@)
	@command -v scdoc >/dev/null || { echo "scdoc is missing: run make deps" >&2; exit 1; }
	scdoc < $< > $@.tmp && mv $@.tmp $@

# Everything a user needs, under $(DESTDIR)$(PREFIX); the bundled scenarios,
# the matrix data and the target profiles go to $(DATADIR). install first
# installs the build dependencies (scdoc among them) when missing.
.PHONY: install-files
install: deps
	@$(MAKE) --no-print-directory install-files
install-files: all man
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/matrix $(DESTDIR)$(DATADIR)/targets \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	$(INSTALL) -m 755 $(BUILD)/smtpconform $(DESTDIR)$(BINDIR)/smtpconform
	rm -rf $(DESTDIR)$(DATADIR)/scenarios
	find scenarios -type f -name '*.smtp' -exec sh -c \
		'for f; do $(INSTALL) -D -m 644 "$$f" "$(DESTDIR)$(DATADIR)/$$f"; done' sh {} +
	$(INSTALL) -m 644 $(MATRIX_TSV) $(DESTDIR)$(DATADIR)/matrix/
	$(INSTALL) -m 644 targets/*.conf $(DESTDIR)$(DATADIR)/targets/
	$(INSTALL) -m 644 $(BUILD)/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 644 $(BUILD)/man/*.5 $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 644 completions/smtpconform.bash $(DESTDIR)$(BASHCOMPDIR)/smtpconform
	$(INSTALL) -m 644 completions/_smtpconform $(DESTDIR)$(ZSHCOMPDIR)/_smtpconform

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/smtpconform $(DESTDIR)$(BASHCOMPDIR)/smtpconform \
		$(DESTDIR)$(ZSHCOMPDIR)/_smtpconform
	rm -f $(patsubst $(BUILD)/man/%,$(DESTDIR)$(MANDIR)/man1/%,$(filter %.1,$(MAN_OUT))) \
		$(patsubst $(BUILD)/man/%,$(DESTDIR)$(MANDIR)/man5/%,$(filter %.5,$(MAN_OUT)))
	rm -rf $(DESTDIR)$(DATADIR)

# The Debian package: dpkg-buildpackage in a copy of the tree under
# $(BUILD)/deb/src (it writes the .deb next to the source, i.e. into
# $(BUILD)/deb/), then lintian, which must report no error.
deb:
	@scripts/install-deps.sh package
	rm -rf $(BUILD)/deb
	mkdir -p $(BUILD)/deb/src
	tar -c --exclude=./.git --exclude=./build --exclude='./build-*' --exclude=./reports \
		--exclude=__pycache__ --exclude=.pytest_cache . | tar -x -C $(BUILD)/deb/src
	# Debian's own toolchain and flags: nothing of this make's CC/CFLAGS (make asan
	# runs the tests with CC=clang, whose DWARF 5 dh_dwz cannot read).
	cd $(BUILD)/deb/src && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CC -u CFLAGS \
		dpkg-buildpackage -b -us -uc > ../build.log 2>&1 \
		|| { tail -40 ../build.log; exit 1; }
	lintian --fail-on error $(BUILD)/deb/smtpconform_*.deb
	@ls $(BUILD)/deb/smtpconform_*.deb
