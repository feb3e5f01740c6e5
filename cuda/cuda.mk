# cuda/: the CUDA GPT-2 (cuda/gpt2_cuda.cuh) and its two programs at the root, test_gpt2.cu
# and train_gpt2_noln.cu (docs/gpu.md).
#
#   emulated (no GPU, run by the suites 71-72): make cuda-emu
#     build/cuda/{test_gpt2,train_gpt2_noln}_emu_{fp32,bf16}
#   real nvcc (NVCC_FLAGS; suite 78 builds them; needs a GPU to run):
#     make test_gpt2 train_gpt2_noln [PRECISION=BF16|FP32]
#   on a machine with a GPU: make gpu-check
PRECISION ?= BF16
CUDA_PREC_FLAGS_FP32 := -DENABLE_FP32
CUDA_PREC_FLAGS_BF16 :=
ifeq ($(filter $(PRECISION),BF16 FP32),)
$(error PRECISION must be BF16 or FP32, not '$(PRECISION)')
endif
CUDA_PREC_FLAGS := $(CUDA_PREC_FLAGS_$(PRECISION))

CUDA_MODEL_DEPS := cuda/gpt2_cuda.cuh cuda/gpu_peaks.h $(wildcard kernels/*.cuh) $(NOLN_HEADERS) $(wildcard cpu/*.h)

# Emulated: the same sources built by emu/nvcc-emu, each program in both precisions.
CUDA_EMU_DIR   := $(BUILD)/cuda
$(CUDA_EMU_DIR)/%_emu_fp32: %.cu $(CUDA_MODEL_DEPS) $(CPU_LIB) $(NOLN_LIBS) $(EMU_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) $(EMU_NVCC_FLAGS) -DENABLE_FP32 $< -o $@ $(CPU_LINK) -lcublasLt -lnccl
$(CUDA_EMU_DIR)/%_emu_bf16: %.cu $(CUDA_MODEL_DEPS) $(CPU_LIB) $(NOLN_LIBS) $(EMU_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) $(EMU_NVCC_FLAGS) $< -o $@ $(CPU_LINK) -lcublasLt -lnccl

CUDA_EMU_PROGS := $(foreach p,test_gpt2 train_gpt2_noln,$(CUDA_EMU_DIR)/$(p)_emu_fp32 $(CUDA_EMU_DIR)/$(p)_emu_bf16)
# Test-only (suite 75): the FP32 trainer where NOLN_TEST_DROP_WAIT=layer|reduced|staging
# leaves out one of the stream orderings (cuda/gpt2_cuda.cuh test_drops_wait).
$(CUDA_EMU_DIR)/train_gpt2_noln_emu_fp32_dropwait: train_gpt2_noln.cu $(CUDA_MODEL_DEPS) $(CPU_LIB) $(NOLN_LIBS) $(EMU_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) $(EMU_NVCC_FLAGS) -DENABLE_FP32 -DNOLN_TEST_DROP_WAITS $< -o $@ $(CPU_LINK) -lcublasLt -lnccl
TEST_TARGETS += $(CUDA_EMU_DIR)/train_gpt2_noln_emu_fp32_dropwait
.PHONY: cuda-emu
## cuda-emu: test_gpt2 and train_gpt2_noln built by the emulator (build/cuda/*_emu_{fp32,bf16}; run on a CPU)
cuda-emu: $(CUDA_EMU_PROGS)
TEST_TARGETS += $(CUDA_EMU_PROGS)
ALL_TARGETS  += cuda-emu

# Real nvcc (NVCC_FLAGS), linked by g++ with the CPU and noln libraries (the CPU model is
# test_gpt2's reference), cudart, cuBLASLt, NCCL, MPI and OpenBLAS. One object directory
# per precision; the root binaries are copies of the last precision built.
CUDA_NV_DIR  = $(BUILD)/cuda/nvcc-$(PRECISION)
CUDA_NV_OBJS = $(CUDA_NV_DIR)/test_gpt2.o $(CUDA_NV_DIR)/train_gpt2_noln.o
$(CUDA_NV_OBJS): $(CUDA_NV_DIR)/%.o: %.cu $(CUDA_MODEL_DEPS)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) $(CUDA_PREC_FLAGS) -c $< -o $@
$(CUDA_NV_DIR)/test_gpt2 $(CUDA_NV_DIR)/train_gpt2_noln: %: %.o $(CPU_LIB) $(NOLN_LIBS)
	$(CXX) $(LDFLAGS) $< $(CPU_LINK) $(NVCC_LIBS) -lcudart -Wl,-rpath,$(CUDA_HOME)/lib64 -o $@

.PHONY: test_gpt2 train_gpt2_noln
## test_gpt2: the CUDA model against the CPU model or a debug state (real nvcc; PRECISION=BF16 default, or FP32)
## train_gpt2_noln: the trainer on the CUDA backend (real nvcc; PRECISION=BF16 default, or FP32)
test_gpt2 train_gpt2_noln: %: $(CUDA_NV_DIR)/%
	cp -f $< $@
CLEAN_FILES += test_gpt2 train_gpt2_noln
ifneq ($(HAVE_NVCC),)
PROGRAMS += test_gpt2 train_gpt2_noln
endif

.PHONY: gpu-check
## gpu-check: on a machine with a GPU, every check only real hardware can make, a verdict and build/gpu-check/summary.txt in under 10 min (DRY_RUN=1: print the plan; GPU_CHECK_ONLY=part,...; docs/gpu.md)
gpu-check:
	@DRY_RUN=$(DRY_RUN) GPU_CHECK_ONLY=$(GPU_CHECK_ONLY) bash dev/cuda/gpu_check.sh
