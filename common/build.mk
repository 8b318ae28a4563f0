# Toolchain, flags and the pieces every lab links against: vmlinux.h, the
# common library and the trigger. Included by the top-level Makefile and by
# common/lab.mk, so a lab also builds on its own with `make -C labs/lab-NN-*`.

ROOT     := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
# Sanitizer builds live apart: TSAN=1 -> build/tsan, UBSAN=1 -> build/ubsan.
BUILD    := $(ROOT)/build$(if $(TSAN),/tsan)$(if $(UBSAN),/ubsan)

CLANG    ?= clang
BPFTOOL  ?= bpftool
CC       := $(if $(filter default,$(origin CC)),cc,$(CC))
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' -e 's/s390x/s390/' -e 's/riscv64/riscv/')

# CO-RE: types come from the running kernel's BTF; VMLINUX_BTF=path overrides.
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
VMLINUX_H   := $(ROOT)/bpf-headers/vmlinux.h
BPF_HEADERS := $(VMLINUX_H) $(wildcard $(ROOT)/bpf-headers/*.h)

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
              -I$(ROOT)/bpf-headers
# -Werror everywhere; unused parameters are normal in callbacks, so that
# warning is off rather than silenced with (void) casts.
CFLAGS     := -std=c11 -D_GNU_SOURCE -g -O2 -Wall -Wextra -Werror -Wno-unused-parameter \
              -I$(ROOT)/common -I$(ROOT)/bpf-headers $(EXTRA_CFLAGS)
LDLIBS     := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz) -lpthread
ifneq ($(TSAN),)
CFLAGS     += -fsanitize=thread -O1
LDFLAGS    += -fsanitize=thread
endif
# UBSAN=1: undefined behaviour, misaligned reads included, aborts the program.
ifneq ($(UBSAN),)
CFLAGS     += -fsanitize=undefined,alignment -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=undefined,alignment -fno-sanitize-recover=all
endif

COMMON_SRCS := $(filter-out %/trigger.c,$(wildcard $(ROOT)/common/*.c))
COMMON_OBJS := $(patsubst $(ROOT)/common/%.c,$(BUILD)/common/%.o,$(COMMON_SRCS))
COMMON_HDRS := $(wildcard $(ROOT)/common/*.h) $(wildcard $(ROOT)/bpf-headers/lab_*.h)
LIBCOMMON   := $(BUILD)/common/libcommon.a
TRIGGER     := $(BUILD)/trigger

# Quiet unless V=1: one short line per step; compiler diagnostics still show.
ifeq ($(V),1)
Q    :=
msg  :=
else
Q    := @
msg   = @printf '  %-8s %s\n' '$(1)' '$(patsubst $(ROOT)/%,%,$(2))';
MAKEFLAGS += --no-print-directory
endif

$(VMLINUX_H):
	$(call msg,BTF,$@)
	$(Q)test -r $(VMLINUX_BTF) || { echo "no kernel BTF at $(VMLINUX_BTF): the labs need CONFIG_DEBUG_INFO_BTF=y (or set VMLINUX_BTF=path)"; exit 1; }
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BUILD)/common/%.o: $(ROOT)/common/%.c $(COMMON_HDRS) | $(BUILD)/common
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIBCOMMON): $(COMMON_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(TRIGGER): $(ROOT)/common/trigger.c | $(BUILD)/common
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< -o $@ -lpthread

$(BUILD)/common:
	$(Q)mkdir -p $@

.DELETE_ON_ERROR:
