# Kernel Event Delivery Labs. `make help` lists the targets.
SHELL := /bin/bash
include common/build.mk
.DEFAULT_GOAL := all

LAB_IDS   := $(sort $(foreach d,$(wildcard labs/lab-[0-9][0-9]-*),$(word 2,$(subst -, ,$(notdir $d)))))
lab_dir    = $(or $(wildcard $(1)/lab-$(2)-*),$(error no $(1)/lab-$(2)-* directory; labs are: $(LAB_IDS)))
PREREQS   := $(VMLINUX_H) $(LIBCOMMON) $(TRIGGER)
# Checker run on the student's tree unless LAB_TREE=solutions is given.
LAB_TREE  ?= labs

.PHONY: help setup doctor all common test test-full grade bench clean
help:
	@echo 'make setup        install the packages, mount tracefs and bpffs, print readiness'
	@echo 'make doctor       print the readiness table only'
	@echo 'make lab-NN       build labs/lab-NN-*       -> build/labs/lab-NN'
	@echo 'make solution-NN  build solutions/lab-NN-*  -> build/solutions/lab-NN'
	@echo 'make check-NN     run checks/lab-NN.bats on your work (LAB_TREE=solutions for the reference)'
	@echo 'make grade        one row per lab: tests passed on your work'
	@echo 'make diff-NN      what a student writes in lab NN (diff -ru lab solution)'
	@echo 'make test         prove every checker: passes on solutions/, fails on labs/'
	@echo 'make test-full    the same, every test on every mutant and mistake (slow)'
	@echo 'make bench-NN     build lab-NN and solution-NN, run the lab'"'"'s benchmark on your build'
	@echo '                  beside the reference'"'"'s row (LAB_TREE=solutions: the reference alone)'
	@echo 'make bench        lab 10'"'"'s harness: every mechanism on one workload, one table,'
	@echo '                  four plots in build/bench/ (your lab-10 makes the table)'
	@echo 'make all | clean  build everything | remove build/'
	@echo 'Labs: $(LAB_IDS)'

setup:
	@scripts/setup.sh
doctor:
	@scripts/setup.sh --doctor

common: $(PREREQS)
all: $(addprefix lab-,$(LAB_IDS)) $(addprefix solution-,$(LAB_IDS))

# The prerequisites are built here first, so parallel lab builds never race on
# them. A failed build shows the compiler's message and one line, not make's trail.
build_lab = $(MAKE) -C $(1) 2>&1 | grep -v '^make\[[0-9]*\]: \*\*\*'; \
	    test $${PIPESTATUS[0]} = 0 || { echo "$(2) does not build: see the error above ($(1))"; exit 1; }
lab-%: $(PREREQS)
	+@$(call build_lab,$(call lab_dir,labs,$*),lab-$*)
solution-%: $(PREREQS)
	+@$(call build_lab,$(call lab_dir,solutions,$*),solution-$*)

# The checker builds first, then waits for the machine-wide checkers' lock
# (checks/lock.bash), saying who holds it: what it tests is what was there
# when it was started.
check-%:
	@LAB_TREE=$(LAB_TREE) bats checks/lab-$*.bats
diff-%:
	@diff -ru $(call lab_dir,labs,$*) $(call lab_dir,solutions,$*); test $$? -le 1

grade:
	@scripts/grade.sh
test:
	@scripts/selftest.sh
# the instructors' exhaustive run: every test of the checker on every mutant
# and every mistake (make test stops at a mutant's or a mistake's first failure)
test-full:
	@MISTAKES_FULL=1 scripts/selftest.sh
# A lab's benchmark (solutions/lab-NN-*/bench.sh) measures build/$LAB_TREE/lab-NN,
# the student's build by default, and prints the reference's row beside it.
# make bench: one harness (lab 10) drives every mechanism of labs 04-08 on the
# same workload; bench-NN is one lab's own view.
bench: bench-10
bench-%: lab-% solution-%
	@if [ -x $(call lab_dir,solutions,$*)/bench.sh ]; then \
		LAB_TREE=$(LAB_TREE) $(call lab_dir,solutions,$*)/bench.sh; \
	else echo "lab $*: no benchmark"; fi

clean:
	rm -rf build $(VMLINUX_H)
