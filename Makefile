# wib: PGXS build plus the project's entry points (make demo, make test, make bench).

EXTENSION  = wib
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" wib.control)

MODULE_big = wib
SRCS       = $(sort $(shell find src -name '*.c'))
OBJS       = $(SRCS:.c=.o)
# Private headers: rebuilt against, never installed (PGXS installs HEADERS).
WIB_HEADERS = $(shell find src -name '*.h')

# Install scripts of released versions are frozen in src/sql/released/; the
# current version's install script and the update scripts to it are generated
# from the parts of src/sql/ by tools/sql_script.sh.
SQL_PARTS  = $(shell find src/sql -path src/sql/released -prune -o -name '*.sql' -print) \
             $(wildcard src/sql/updates/*/new_schema)
UPDATES    = wib--0.1.0--0.2.0.sql
DATA_built = wib--$(EXTVERSION).sql $(UPDATES)
DATA       = $(wildcard src/sql/released/wib--*.sql)

PG_CPPFLAGS = -I$(srcdir)/src -DWIB_VERSION=\"$(EXTVERSION)\" \
              -Wall -Wextra -Werror -Wno-unused-parameter \
              -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK  = -lcurl -lcrypto

REGRESS      = $(basename $(notdir $(sort $(wildcard sql/[0-9]*.sql))))
REGRESS_OPTS = --inputdir=. --load-extension=wib

EXTRA_CLEAN = wib--*.sql tmp_install tmp_check log results regression.diffs regression.out

# No LLVM bitcode: it would need clang at build time and buys nothing here.
override with_llvm = no

# Before "make deps" has installed postgresql-server-dev-15 there is no PGXS:
# only deps, test, demo, bench and fuzz (which run deps first) work then.
PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
ifneq ($(MAJORVERSION),15)
$(error wib builds against PostgreSQL 15; $(PG_CONFIG) is PostgreSQL $(MAJORVERSION))
endif
endif

$(OBJS): $(WIB_HEADERS)

# The User-Agent carries the version of wib.control.
src/http/engine_request.o: wib.control

wib--$(EXTVERSION).sql: $(SQL_PARTS) wib.control tools/sql_script.sh
	@tools/sql_script.sh install $(EXTVERSION) > $@

wib--%--$(EXTVERSION).sql: $(SQL_PARTS) wib.control tools/sql_script.sh
	@tools/sql_script.sh update $* $(EXTVERSION) > $@

.PHONY: deps demo test bench bench-save fuzz test-citus bench-citus

# Seconds each fuzz target runs under make fuzz (make test runs each for 3).
FUZZ_SECONDS ?= 60

# Debian packages the build, tests and demo need (installed only when missing; needs root).
deps:
	@tools/deps.sh

demo: deps
	@$(MAKE) --no-print-directory -s all
	@tools/demo.sh

# The pg_regress and pgTAP suites with every server process under valgrind's
# memcheck; fails on any error or definite leak in wib's code
# (docs/reliability.md, "Valgrind").  Slow (over an hour on 2 cores): not
# part of make test.
.PHONY: test-valgrind
test-valgrind: deps
	@tools/deps.sh valgrind
	@$(MAKE) --no-print-directory -s all
	@tools/test_valgrind.sh

# The load test (test/t/099_load.pl): 50 tenants of mixed traffic by pgbench
# for 5 minutes while the workers run (docs/reliability.md, "Load").  Takes
# both cores for about 7 minutes: not part of make test.
.PHONY: test-load
test-load: deps
	@$(MAKE) --no-print-directory -s all
	@WIB_LOAD=1 WIB_SUITES=tap WIB_TAP=099_load tools/test.sh

test: deps
	@$(MAKE) --no-print-directory -s all
	@tools/test.sh

# Results go to tmp_check/bench/; bench-save also writes the table into docs/benchmarks.md.
bench: deps
	@$(MAKE) --no-print-directory -s all
	@bench/run.sh

bench-save: deps
	@$(MAKE) --no-print-directory -s all
	@bench/run.sh --save

# Every libFuzzer target of test/fuzz/, built into tmp_check/fuzz/ and run for
# FUZZ_SECONDS each; fails on any finding (docs/operations.md, "Fuzzing").
fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tools/fuzz.sh

# wib on a Citus cluster (coordinator + two workers on loopback); builds Citus
# from its pinned source once (cached in tmp_citus/).  Not part of make test.
test-citus: deps
	@$(MAKE) --no-print-directory -s all
	@tools/test_citus.sh

# Webhook deliveries/s, export rows/s and the isolation suite's time on a
# single node and on the 3-node loopback cluster, same data, same run
# (docs/scale-out.md).  Not part of make bench.
bench-citus: deps
	@$(MAKE) --no-print-directory -s all
	@tools/bench_citus.sh
