# tools/fuzz.mk: builds the libFuzzer targets of test/fuzz/ (every *_fuzz.c)
# against the backend-free kernels (every src/**/*.c that does not include
# postgres.h), instrumented with ASan, UBSan and coverage, into FUZZ_DIR.
# Run by tools/fuzz.sh (make fuzz); incremental: only what changed is rebuilt.
#   make -f tools/fuzz.mk FUZZ_DIR=tmp_check/fuzz -j2

FUZZ_DIR ?= tmp_check/fuzz
FUZZ_CC  ?= clang

KERNEL_SRCS := $(sort $(shell grep -L '\#include "postgres.h"' $$(find src -name '*.c')))
KERNEL_OBJS := $(patsubst src/%.c,$(FUZZ_DIR)/obj/%.o,$(KERNEL_SRCS))
TARGETS     := $(patsubst test/fuzz/%.c,$(FUZZ_DIR)/%,$(sort $(wildcard test/fuzz/*_fuzz.c)))

WARN     := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
# A finding must stop the run: UBSan aborts instead of printing and going on.
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all
CFLAGS   := -std=gnu11 -g -O1 -fno-omit-frame-pointer $(WARN) -I src -I test/fuzz
LIBS     := -lcurl -lcrypto -lm

.PHONY: all
all: $(TARGETS)

$(FUZZ_DIR)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CFLAGS) $(SANITIZE) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_DIR)/%_fuzz: test/fuzz/%_fuzz.c $(KERNEL_OBJS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CFLAGS) $(SANITIZE) -fsanitize=fuzzer -MMD -MP -MF $@.d $< $(KERNEL_OBJS) $(LIBS) -o $@

-include $(KERNEL_OBJS:.o=.d) $(TARGETS:=.d)
