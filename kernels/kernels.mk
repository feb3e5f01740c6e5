# kernels/: the CUDA engine's kernels (one header per op) and their tests.
# Kernel tests (tests/cuda/test_*.cu) are built twice, PRECISION=FP32 (-DENABLE_FP32) and BF16,
# with the emulator (emu/nvcc-emu) and run by tests/suites/70-cuda-kernels.sh; the same files
# built by the real nvcc (NVCC_FLAGS) are compiled and linked by suite 79 and run on a GPU by
# make gpu-check.
KERNEL_HEADERS  := $(wildcard kernels/*.cuh)
CUDA_TEST_DIR   := $(BUILD)/cuda/tests
CUDA_TEST_NAMES := $(notdir $(basename $(wildcard tests/cuda/test_*.cu)))
CUDA_TEST_DEPS  := $(KERNEL_HEADERS) $(wildcard tests/cuda/*.h) tests/emu/check.h $(wildcard cpu/*.h)
CUDA_TESTS      := $(foreach t,$(CUDA_TEST_NAMES),$(CUDA_TEST_DIR)/$(t)_fp32 $(CUDA_TEST_DIR)/$(t)_bf16)

$(CUDA_TEST_DIR)/%_fp32: tests/cuda/%.cu $(CUDA_TEST_DEPS) $(EMU_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) $(EMU_NVCC_FLAGS) -DENABLE_FP32 $< -o $@ -lcublasLt
$(CUDA_TEST_DIR)/%_bf16: tests/cuda/%.cu $(CUDA_TEST_DEPS) $(EMU_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) $(EMU_NVCC_FLAGS) $< -o $@ -lcublasLt

CUDA_NV_TEST_DIR := $(BUILD)/cuda/nvcc
CUDA_NV_TESTS    := $(CUDA_TESTS:$(CUDA_TEST_DIR)/%=$(CUDA_NV_TEST_DIR)/%)
$(CUDA_NV_TEST_DIR)/%_fp32: tests/cuda/%.cu $(CUDA_TEST_DEPS)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) -DENABLE_FP32 $< -o $@ $(NVCC_LIBS) $(BLAS_LIBS) -lgomp
$(CUDA_NV_TEST_DIR)/%_bf16: tests/cuda/%.cu $(CUDA_TEST_DEPS)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) $< -o $@ $(NVCC_LIBS) $(BLAS_LIBS) -lgomp

.PHONY: cuda-tests cuda-tests-nvcc
## cuda-tests: the kernel tests built by the emulator, both precisions (suite 70)
cuda-tests: $(CUDA_TESTS)
## cuda-tests-nvcc: the kernel tests built by the real nvcc, both precisions (suite 79; make gpu-check runs them)
cuda-tests-nvcc: $(CUDA_NV_TESTS)
TEST_TARGETS += $(CUDA_TESTS)
