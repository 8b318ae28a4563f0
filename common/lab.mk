# The whole build of one lab. A lab's Makefile sets PROG (the base name of
# PROG.bpf.c, PROG.c and PROG.h), optionally SUPPORT (more .c files of the
# lab: the parts that are not the lesson), and includes this file. The tree
# (labs or solutions) and the lab number come from the directory it sits in:
#   labs/lab-01-perf-buffer  ->  build/labs/lab-01
#   PROG.bpf.c -> PROG.bpf.o -> PROG.skel.h (bpftool gen skeleton)
#   PROG.c SUPPORT... -> *.o -> lab-01

include $(dir $(lastword $(MAKEFILE_LIST)))build.mk

LAB_DIR  := $(abspath $(dir $(firstword $(MAKEFILE_LIST))))
LAB_TREE := $(notdir $(patsubst %/,%,$(dir $(LAB_DIR))))
LAB_ID   := $(word 2,$(subst -, ,$(notdir $(LAB_DIR))))
OUT      := $(BUILD)/$(LAB_TREE)/lab-$(LAB_ID)
OBJDIR   := $(BUILD)/$(LAB_TREE)/lab-$(LAB_ID).obj
OBJS     := $(patsubst %.c,$(OBJDIR)/%.o,$(PROG).c $(SUPPORT))

# The reference is held to every warning. An exercise (labs/, and the
# mutant and mistake trees made by make test) has unfinished tasks: a
# variable or function a task will use is not used yet, and that is fine.
ifneq ($(LAB_TREE),solutions)
CFLAGS     += -Wno-unused-function -Wno-unused-variable -Wno-unused-but-set-variable
BPF_CFLAGS += -Wno-unused-function -Wno-unused-variable -Wno-unused-but-set-variable
endif

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

$(OBJDIR)/%.o: $(LAB_DIR)/%.c $(wildcard $(LAB_DIR)/*.h) $(OBJDIR)/$(PROG).skel.h $(COMMON_HDRS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(LAB_DIR) -I$(OBJDIR) -c $< -o $@

$(OUT): $(OBJS) $(LIBCOMMON)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OBJDIR):
	$(Q)mkdir -p $@

clean:
	$(Q)rm -rf $(OBJDIR) $(OUT)
