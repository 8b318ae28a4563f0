# The whole build of one lab. A lab's Makefile sets PROG (the base name of
# PROG.bpf.c, PROG.c and PROG.h) and includes this file; the tree (labs or
# solutions) and the lab number come from the directory it sits in:
#   labs/lab-01-perf-buffer  ->  build/labs/lab-01
#   PROG.bpf.c -> PROG.bpf.o -> PROG.skel.h (bpftool gen skeleton) -> PROG.o -> lab-01

include $(dir $(lastword $(MAKEFILE_LIST)))build.mk

LAB_DIR  := $(abspath $(dir $(firstword $(MAKEFILE_LIST))))
LAB_TREE := $(notdir $(patsubst %/,%,$(dir $(LAB_DIR))))
LAB_ID   := $(word 2,$(subst -, ,$(notdir $(LAB_DIR))))
OUT      := $(BUILD)/$(LAB_TREE)/lab-$(LAB_ID)
OBJDIR   := $(BUILD)/$(LAB_TREE)/lab-$(LAB_ID).obj

.DEFAULT_GOAL := all
.PHONY: all clean
all: $(OUT)
	@:

$(OBJDIR)/$(PROG).bpf.o: $(LAB_DIR)/$(PROG).bpf.c $(LAB_DIR)/$(PROG).h $(BPF_HEADERS) | $(OBJDIR)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -I$(LAB_DIR) -c $< -o $@

$(OBJDIR)/$(PROG).skel.h: $(OBJDIR)/$(PROG).bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(OBJDIR)/$(PROG).o: $(LAB_DIR)/$(PROG).c $(LAB_DIR)/$(PROG).h $(OBJDIR)/$(PROG).skel.h $(COMMON_HDRS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(LAB_DIR) -I$(OBJDIR) -c $< -o $@

$(OUT): $(OBJDIR)/$(PROG).o $(LIBCOMMON)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OBJDIR):
	$(Q)mkdir -p $@

clean:
	$(Q)rm -rf $(OBJDIR) $(OUT)
