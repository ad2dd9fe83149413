# wib: PGXS build plus the project's entry points (make demo, make test, make bench).

EXTENSION  = wib
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" wib.control)

MODULE_big = wib
SRCS       = $(sort $(shell find src -name '*.c'))
OBJS       = $(SRCS:.c=.o)
HEADERS    = $(shell find src -name '*.h')

SQL_PARTS  = $(sort $(wildcard src/sql/[0-9][0-9]_*.sql))
DATA_built = wib--$(EXTVERSION).sql
DATA       = $(wildcard src/sql/updates/wib--*--*.sql)

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
# only deps, test, demo and bench (which run deps first) work then.
PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
endif

$(OBJS): $(HEADERS)

# The User-Agent carries the version of wib.control.
src/http/engine_request.o: wib.control

# The install script is the numbered parts in order, behind the psql guard.
wib--$(EXTVERSION).sql: $(SQL_PARTS) wib.control
	@{ echo '-- wib $(EXTVERSION): generated from src/sql/ by make; edit those files instead.'; \
	  printf '%s\n' '\echo Use "CREATE EXTENSION wib" to load this file. \quit'; \
	  for f in $(SQL_PARTS); do echo; echo "-- ==== $$f"; cat $$f; done; } > $@

.PHONY: deps demo test bench

# Debian packages the build, tests and demo need (installed only when missing; needs root).
deps:
	@tools/deps.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo.sh

test: deps
	@$(MAKE) --no-print-directory all
	@tools/test.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@bench/run.sh
