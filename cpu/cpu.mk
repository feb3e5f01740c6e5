# cpu/: the CPU GPT-2 (reference and no-GPU backend), its check tool and its tests.
CPU_SRCS := $(wildcard cpu/*.cpp)
CPU_LIB  := $(BUILD)/libnoln_cpu.a
# What a program that uses the CPU model puts on its link line (after its objects).
CPU_LINK := $(CPU_LIB) $(NOLN_LINK) $(BLAS_LIBS)

# Neither flag changes a result: they only let GCC if-convert and vectorise the float loops
# (compares may not trap, sqrt need not set errno). See cpu/fast_math.h.
$(BUILD)/cpu/%.o: OPT += -fno-trapping-math -fno-math-errno

$(CPU_LIB): $(CPU_SRCS:%.cpp=$(BUILD)/%.o)
	$(archive)

## test_gpt2_cpu: the CPU model against a debug state (./test_gpt2_cpu MODEL.bin STATE.bin; docs/cpu-reference.md)
test_gpt2_cpu: $(BUILD)/test_gpt2_cpu.o $(CPU_LIB) $(NOLN_LIBS)
	$(CXX) $(LDFLAGS) $< $(CPU_LINK) -o $@

CPU_TEST_SRCS := $(wildcard tests/cpu/*.cpp)
$(BUILD)/tests/cpu_tests: $(CPU_TEST_SRCS:%.cpp=$(BUILD)/%.o) $(BUILD)/catch_main.o $(CPU_LIB) $(NOLN_LIBS)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) $(filter %.o,$^) $(CPU_LINK) -o $@

PROGRAMS     += test_gpt2_cpu
TEST_TARGETS += test_gpt2_cpu $(BUILD)/tests/cpu_tests
CLEAN_FILES  += test_gpt2_cpu
