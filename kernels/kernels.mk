# kernels/: the CUDA engine's kernels (one header per op) and their tests.
# Kernel tests (tests/cuda/*.cu) are built twice, PRECISION=FP32 (-DENABLE_FP32) and BF16,
# with the emulator (emu/nvcc-emu) and run by tests/suites/70-cuda-kernels.sh; suite
# 79-cuda-nvcc-compile.sh compiles and links the same files with the real nvcc.
KERNEL_HEADERS  := $(wildcard kernels/*.cuh)
CUDA_TEST_DIR   := $(BUILD)/cuda/tests
CUDA_TEST_NAMES := test_basic test_ln_path test_attention test_matmul
CUDA_TEST_DEPS  := $(KERNEL_HEADERS) $(wildcard tests/cuda/*.h) tests/emu/check.h $(wildcard cpu/*.h) $(EMU_DEPS)
CUDA_TESTS      := $(foreach t,$(CUDA_TEST_NAMES),$(CUDA_TEST_DIR)/$(t)_fp32 $(CUDA_TEST_DIR)/$(t)_bf16)
CUDA_EMU_FLAGS  := -O2 -g -Wall -Wextra -I.

$(CUDA_TEST_DIR)/%_fp32: tests/cuda/%.cu $(CUDA_TEST_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) $(CUDA_EMU_FLAGS) -DENABLE_FP32 $< -o $@ -lcublasLt
$(CUDA_TEST_DIR)/%_bf16: tests/cuda/%.cu $(CUDA_TEST_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) $(CUDA_EMU_FLAGS) $< -o $@ -lcublasLt

.PHONY: cuda-tests
cuda-tests: $(CUDA_TESTS)
TEST_TARGETS += $(CUDA_TESTS)
