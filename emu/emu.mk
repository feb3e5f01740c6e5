# emu/: cuemu, the CUDA emulator (see emu/README.md).
#
# Other fragments build emulated programs with
#   foo_emu: foo.cu $(EMU_DEPS) ; $(EMU_NVCC) $(EMU_NVCC_FLAGS) foo.cu -o $@ -lcublasLt -lnccl
# and an ASan+UBSan variant with $(EMU_ASAN_DEPS) and `-fsanitize=address,undefined`
# (nvcc-emu then links $(EMU_ASAN_LIB) instead).
EMU_NVCC      := emu/nvcc-emu
EMU_NVCC_FLAGS := -O2 -g -Wall -Wextra -I.
EMU_SRCS      := $(wildcard emu/src/*.cpp)
EMU_HEADERS   := $(wildcard emu/include/*.h emu/include/cooperative_groups/*.h emu/src/*.h)
EMU_LIB       := $(BUILD)/emu/libcuemu.a
EMU_ASAN_LIB  := $(BUILD)/emu-asan/libcuemu.a
EMU_DEPS      := $(EMU_LIB) $(EMU_NVCC) $(EMU_HEADERS)
EMU_ASAN_DEPS := $(EMU_ASAN_LIB) $(EMU_NVCC) $(EMU_HEADERS)
EMU_CXXFLAGS   = -std=c++17 -g -Wall -Wextra -fopenmp -I. -Iemu/include -isystem /usr/local/cuda/include \
                 $(MPI_CFLAGS) -MMD -MP
EMU_SAN        := -fsanitize=address,undefined -fno-omit-frame-pointer

$(BUILD)/emu/obj/%.o: emu/src/%.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(EMU_CXXFLAGS) -O2 -c $< -o $@
$(BUILD)/emu/obj/%.o: emu/src/%.S
	@mkdir -p $(dir $@)
	$(CXX) -c $< -o $@
$(EMU_LIB): $(EMU_SRCS:emu/src/%.cpp=$(BUILD)/emu/obj/%.o) $(BUILD)/emu/obj/fiber_x86_64.o
	$(archive)

$(BUILD)/emu-asan/obj/%.o: emu/src/%.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(EMU_CXXFLAGS) -O1 $(EMU_SAN) -c $< -o $@
$(BUILD)/emu-asan/obj/%.o: emu/src/%.S
	@mkdir -p $(dir $@)
	$(CXX) -c $< -o $@
$(EMU_ASAN_LIB): $(EMU_SRCS:emu/src/%.cpp=$(BUILD)/emu-asan/obj/%.o) $(BUILD)/emu-asan/obj/fiber_x86_64.o
	$(archive)

.PHONY: emu-lib emu-asan emu-bench emu-tests emu-tests-nvcc
## emu-lib: the emulator's library (emu/nvcc-emu links it into every program it builds)
emu-lib: $(EMU_LIB)

# Test programs (tests/emu/*.cu), run by tests/suites/6*-emu*.sh.
EMU_TEST_DIR := $(BUILD)/emu/tests
EMU_TESTS := $(EMU_TEST_DIR)/test_kernels $(EMU_TEST_DIR)/test_bugs $(EMU_TEST_DIR)/test_cublaslt \
             $(EMU_TEST_DIR)/test_nccl $(EMU_TEST_DIR)/test_wmma $(EMU_TEST_DIR)/test_streams
$(EMU_TEST_DIR)/test_%: tests/emu/test_%.cu tests/emu/check.h $(EMU_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) $(EMU_NVCC_FLAGS) $< -o $@ -lcublasLt -lnccl
# The ASan+UBSan build: the kernel, wmma and stream tests plus an out-of-bounds write ASan must see.
EMU_ASAN_TESTS := $(BUILD)/emu-asan/tests/test_kernels $(BUILD)/emu-asan/tests/test_wmma $(BUILD)/emu-asan/tests/test_streams \
                  $(BUILD)/emu-asan/tests/test_oob
$(BUILD)/emu-asan/tests/test_%: tests/emu/test_%.cu tests/emu/check.h $(EMU_ASAN_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) -O1 -g -I. $(EMU_SAN) $< -o $@ -lcublasLt
## emu-tests: the emulator's test programs (tests/emu/*.cu; suites 60-61)
emu-tests: $(EMU_TESTS)
## emu-asan: the emulator's test programs with ASan and UBSan (suite 62)
emu-asan: $(EMU_ASAN_TESTS)

# The same test kernels built by the real nvcc (NVCC_FLAGS): the emulated source is real CUDA.
# Suite 69 compiles and links them; no GPU is needed.
EMU_NVCC_TESTS := $(BUILD)/emu/nvcc/test_kernels $(BUILD)/emu/nvcc/test_cublaslt $(BUILD)/emu/nvcc/test_wmma $(BUILD)/emu/nvcc/test_streams
$(BUILD)/emu/nvcc/test_%: tests/emu/test_%.cu tests/emu/check.h
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) $< -o $@ $(NVCC_LIBS)
## emu-tests-nvcc: the emulator's test kernels built by the real nvcc (compile and link only; suite 69)
emu-tests-nvcc: $(EMU_NVCC_TESTS)

# Not a test: fiber switch rate and a 1M-element reduction.
$(BUILD)/emu/emu_bench: emu/bench/emu_bench.cu $(EMU_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) -O2 $< -o $@
## emu-bench: the emulator's speed: fiber switch rate and a 1M-element reduction
emu-bench: $(BUILD)/emu/emu_bench
	$(BUILD)/emu/emu_bench

TEST_TARGETS += $(EMU_TESTS) $(EMU_ASAN_TESTS)
