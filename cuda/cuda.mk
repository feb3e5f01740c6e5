# cuda/: the CUDA GPT-2 (gpt2_cuda.cuh) and its two programs, test_gpt2.cu and
# train_gpt2_noln.cu (docs/gpu.md).
#
#   emulated (no GPU, run by the CI suites 71-73):
#     build/cuda/test_gpt2_emu_fp32, build/cuda/test_gpt2_emu_bf16, build/cuda/train_gpt2_noln_emu_fp32,
#     build/cuda/train_gpt2_noln_emu_bf16
#   real nvcc for sm_80 + sm_90, warnings as errors (suite 78 builds them; needs a GPU to run):
#     make test_gpt2 train_gpt2_noln [PRECISION=BF16|FP32]
#   on a machine with a GPU: make gpu-check
PRECISION ?= BF16
CUDA_PREC_FLAGS_FP32 := -DENABLE_FP32
CUDA_PREC_FLAGS_BF16 :=
ifeq ($(filter $(PRECISION),BF16 FP32),)
$(error PRECISION must be BF16 or FP32, not '$(PRECISION)')
endif
CUDA_PREC_FLAGS := $(CUDA_PREC_FLAGS_$(PRECISION))

CUDA_MODEL_DEPS := gpt2_cuda.cuh cuda/gpu_peaks.h $(wildcard kernels/*.cuh) $(wildcard host/*.h) $(wildcard cpu/*.h)
CUDA_EMU_DIR    := $(BUILD)/cuda
CUDA_HOST_LIBS   = $(CPU_LIB) $(HOST_LIB) $(BLAS_LIBS) $(MPI_LIBS)

$(CUDA_EMU_DIR)/test_gpt2_emu_fp32: test_gpt2.cu $(CUDA_MODEL_DEPS) $(CPU_LIB) $(HOST_LIB) $(EMU_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) -O2 -g -Wall -Wextra -I. -DENABLE_FP32 $< -o $@ $(CUDA_HOST_LIBS) -lcublasLt -lnccl
$(CUDA_EMU_DIR)/test_gpt2_emu_bf16: test_gpt2.cu $(CUDA_MODEL_DEPS) $(CPU_LIB) $(HOST_LIB) $(EMU_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) -O2 -g -Wall -Wextra -I. $< -o $@ $(CUDA_HOST_LIBS) -lcublasLt -lnccl
$(CUDA_EMU_DIR)/train_gpt2_noln_emu_fp32: train_gpt2_noln.cu $(CUDA_MODEL_DEPS) $(CPU_LIB) $(HOST_LIB) $(EMU_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) -O2 -g -Wall -Wextra -I. -DENABLE_FP32 $< -o $@ $(CUDA_HOST_LIBS) -lcublasLt -lnccl
$(CUDA_EMU_DIR)/train_gpt2_noln_emu_bf16: train_gpt2_noln.cu $(CUDA_MODEL_DEPS) $(CPU_LIB) $(HOST_LIB) $(EMU_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) -O2 -g -Wall -Wextra -I. $< -o $@ $(CUDA_HOST_LIBS) -lcublasLt -lnccl

CUDA_EMU_PROGS := $(CUDA_EMU_DIR)/test_gpt2_emu_fp32 $(CUDA_EMU_DIR)/test_gpt2_emu_bf16 \
                  $(CUDA_EMU_DIR)/train_gpt2_noln_emu_fp32 $(CUDA_EMU_DIR)/train_gpt2_noln_emu_bf16
.PHONY: cuda-emu
cuda-emu: $(CUDA_EMU_PROGS)
TEST_TARGETS += $(CUDA_EMU_PROGS)

# Real nvcc: device code for sm_80 (A100) and sm_90 (H100/H200), nvcc and host-compiler
# warnings as errors; linked by g++ with the host and CPU libraries (the CPU model is
# test_gpt2's reference), cudart, cuBLASLt, NCCL, MPI and OpenBLAS. One object directory
# per precision; the root binaries are copies of the last precision built.
NVCC        ?= /usr/local/cuda/bin/nvcc
CUDA_HOME   ?= /usr/local/cuda
NVCC_FLAGS  := -std=c++17 -O3 -I. -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
               -Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror,-fopenmp
CUDA_NV_DIR  = $(BUILD)/cuda/nvcc-$(PRECISION)
CUDA_NV_LIBS = -L$(CUDA_HOME)/lib64 -lcudart -lcublasLt -lnccl -Wl,-rpath,$(CUDA_HOME)/lib64

CUDA_NV_OBJS = $(CUDA_NV_DIR)/test_gpt2.o $(CUDA_NV_DIR)/train_gpt2_noln.o
$(CUDA_NV_OBJS): $(CUDA_NV_DIR)/%.o: %.cu $(CUDA_MODEL_DEPS)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) $(CUDA_PREC_FLAGS) -c $< -o $@
$(CUDA_NV_DIR)/test_gpt2 $(CUDA_NV_DIR)/train_gpt2_noln: %: %.o $(CPU_LIB) $(HOST_LIB)
	$(CXX) $(LDFLAGS) $< $(CUDA_HOST_LIBS) $(CUDA_NV_LIBS) -o $@

.PHONY: test_gpt2 train_gpt2_noln
test_gpt2 train_gpt2_noln: %: $(CUDA_NV_DIR)/%
	cp -f $< $@
CLEAN_FILES += test_gpt2 train_gpt2_noln

# On a machine with a GPU: everything only real hardware can confirm (docs/gpu.md).
.PHONY: gpu-check
gpu-check:
	@bash dev/cuda/gpu_check.sh
