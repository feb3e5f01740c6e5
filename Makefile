# noln: every build goes through this file. Each folder keeps its targets in its own
# fragment next to the code it builds (host/host.mk, io/io.mk, cpu/cpu.mk, emu/emu.mk,
# tests/formats/formats.mk, ...), included below, so this file only holds what they share.
#
#   make help    every target, one line each (from the `## target: what it does` lines)
#   make test    install what is missing (apt-get, npm pack), build, run every test suite
#   make demo    the main job on a small built-in default (CPU backend)

CXX      := g++
PYTHON   := /usr/bin/python3
BUILD    := build
OPT      ?= -O2
CXXFLAGS = -std=c++17 $(OPT) -g -Wall -Wextra -fopenmp -I. -MMD -MP $(MPI_CFLAGS)
LDFLAGS  := -fopenmp
BLAS_LIBS := -lopenblas
MPICXX   := mpicxx
# MPI flags for code that talks to other ranks (empty until scripts/setup.sh has run;
# `make test` and `make all` run setup first and then a sub-make that sees them).
MPI_CFLAGS := $(shell mpicxx --showme:compile 2>/dev/null) -DOMPI_SKIP_MPICXX
MPI_LIBS   := $(shell mpicxx --showme:link 2>/dev/null)
# Open MPI refuses to run as root unless told; our tests and CI run as root.
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1

# The real nvcc, for every CUDA build (cuda/, kernels/, emu/, dev/cuda/): device code for
# sm_80 (A100) and sm_90 (H100/H200), nvcc and host-compiler warnings as errors. HAVE_NVCC is
# empty on a machine without it. NVCC_LIBS: what a CUDA program links besides our libraries
# (nvcc adds cudart itself; a g++ link adds -lcudart).
NVCC       ?= /usr/local/cuda/bin/nvcc
export NVCC   # tests/lib.sh's need_nvcc checks the same one
CUDA_HOME  ?= /usr/local/cuda
HAVE_NVCC  := $(wildcard $(NVCC))
NVCC_FLAGS := -std=c++17 -O3 -I. -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
              -Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror,-fopenmp
NVCC_LIBS  := -L$(CUDA_HOME)/lib64 -lcublasLt -lnccl

# Fragments append to these: TEST_TARGETS, everything `make test` builds (with SUITE=x, only
# what those suites' `# needs:` lines name); PROGRAMS, the user-facing binaries at the root;
# ALL_TARGETS, what else `make all` builds (emulated CUDA programs); CLEAN_FILES.
TEST_TARGETS :=
PROGRAMS     :=
ALL_TARGETS  :=
CLEAN_FILES  :=

.DEFAULT_GOAL := all
.PHONY: all setup test test-build help clean

# The plain C++ libraries, one per folder; each folder's fragment archives every .cpp there
# (found by wildcard). Listed in link order: each library uses only those after it
# (train -> eval -> io -> host). NOLN_LINK is what a program puts on its link line after its
# objects; NOLN_HEADERS is what code that includes them (the CUDA builds) depends on.
NOLN_DIRS    := train eval io host
NOLN_LIBS    := $(NOLN_DIRS:%=$(BUILD)/libnoln_%.a)
NOLN_LINK    := $(NOLN_LIBS) $(MPI_LIBS)
NOLN_HEADERS := $(wildcard $(NOLN_DIRS:%=%/*.h))

# The CPU model's and the emulator's fragments come first, so that every later fragment can
# use CPU_LIB, CPU_LINK and EMU_DEPS in its prerequisites (make expands those when it reads
# a rule, not when it runs it).
BASE_FRAGMENTS := cpu/cpu.mk emu/emu.mk

# Recipe of every static library: built aside and renamed, so that a link running at the
# same time never sees a missing or half-written archive.
define archive
	@mkdir -p $(dir $@)
	rm -f $@.tmp && ar rcs $@.tmp $^ && mv -f $@.tmp $@
endef

include $(BASE_FRAGMENTS)
include $(filter-out $(BASE_FRAGMENTS),$(sort $(wildcard */*.mk */*/*.mk)))

## all: build every program (the README's table; the nvcc ones when nvcc is there) and the emulated CUDA programs
all: setup
	@$(MAKE) --no-print-directory $(PROGRAMS) $(ALL_TARGETS)

## setup: install the Debian packages the build and tests need (scripts/setup.sh)
setup:
	@bash scripts/setup.sh

## test: build and run every test suite; SUITE=x runs the suites whose name contains x, building only what they need
# The suites name what they need in a `# needs:` line, read by tests/run_suites.sh --needs.
test: setup
	@need=$$(bash tests/run_suites.sh --needs '$(SUITE)') || exit 1; \
	  set -- $(if $(SUITE),,test-build) $$need; \
	  [ $$# -eq 0 ] || $(MAKE) --no-print-directory -j$$(nproc) "$$@"
	@bash tests/run_suites.sh $(SUITE)

## test-build: build everything make test runs, without running it
test-build: $(TEST_TARGETS)

$(BUILD)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/catch_main.o: tests/catch_main.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -O0 -c $< -o $@

## help: this list
help:
	@sed -n 's/^## \([^ :]*\): */\1\t/p' $(filter %.mk Makefile,$(MAKEFILE_LIST)) | \
	  awk -F'\t' '{ printf "make %-20s %s\n", $$1, $$2 }'

## clean: remove build/ and the programs at the root
clean:
	rm -rf $(BUILD) $(PROGRAMS) $(CLEAN_FILES)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
