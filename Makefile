# noln: every build goes through this file. Each folder keeps its targets in its own
# fragment next to the code it builds (host/host.mk, io/io.mk, cpu/cpu.mk, emu/emu.mk,
# tests/formats/formats.mk, ...), included below, so this file only holds what they share.
#
#   make test    install what is missing (apt-get, npm pack), build, run every test suite
#   make demo    the main job on a small built-in default (CPU backend)
#   make help    list the main targets

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

# Fragments append to these.
TEST_TARGETS :=
PROGRAMS     :=
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

all: setup
	@$(MAKE) --no-print-directory $(PROGRAMS)

setup:
	@bash scripts/setup.sh

# The README's test command. SUITE=name runs only suites whose name contains it.
test: setup
	@$(MAKE) --no-print-directory -j$$(nproc) test-build
	@bash tests/run_suites.sh $(SUITE)

test-build: $(TEST_TARGETS)

$(BUILD)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/catch_main.o: tests/catch_main.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -O0 -c $< -o $@

help:
	@echo "make test   - install dependencies, build and run every test suite"
	@echo "make demo   - the main job on a small built-in default (CPU backend)"
	@echo "make all    - build every program: $(PROGRAMS)"

clean:
	rm -rf $(BUILD) $(PROGRAMS) $(CLEAN_FILES)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
