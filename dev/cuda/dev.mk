# dev/cuda/: the kernel lab (dev/cuda/README.md). One program per op, every version of the
# op inside, each built four ways:
#   real nvcc (NVCC, NVCC_FLAGS of the Makefile: sm_80 + sm_90, warnings as errors), BF16 and FP32:
#     build/dev-cuda/nvcc/OP_{bf16,fp32} for every OP of DEV_CUDA_OPS      (make dev-cuda-nvcc)
#   emulated (emu/nvcc-emu), BF16 and FP32, plus builds deliberately broken that the tests
#   must catch: the BF16 flash kernels (NOLN_ATT_BROKEN_MASK, and NOLN_ATT_BROKEN_BARRIER,
#   which only the backward's dq kernel has: kernels/attention.cuh) and the aux loss's v1
#   backward (NOLN_LAB_BROKEN_AUX: dev/cuda/aux_loss_v1.cuh)              (make dev-cuda-emu)
#     build/dev-cuda/emu/OP_{bf16,fp32} for every OP,
#     build/dev-cuda/emu/attention_{forward,backward}_bf16_broken_mask,
#     build/dev-cuda/emu/attention_backward_bf16_broken_barrier, build/dev-cuda/emu/aux_loss_bf16_broken_aux
# make dev-cuda builds both sets; suite 73-dev-cuda builds the nvcc set and runs the emulated one.
DEV_CUDA_ATT  := attention_forward attention_backward
# the memory-bound kernels of issue 12, v1 (before) and v2 (kernels/) each
DEV_CUDA_MEM  := ln_forward ln_backward classifier encoder residual gelu bias_backward aux_loss adamw global_norm
DEV_CUDA_OPS  := $(DEV_CUDA_ATT) $(DEV_CUDA_MEM)
DEV_CUDA_DEPS := $(wildcard dev/cuda/*.h dev/cuda/*.cuh) $(wildcard kernels/*.cuh) cuda/gpu_peaks.h \
                 tests/cuda/cuda_test.h tests/cuda/attention_ref.h tests/emu/check.h $(wildcard cpu/*.h)
DEV_CUDA_DIR  := $(BUILD)/dev-cuda
DEV_CUDA_NV   := $(foreach o,$(DEV_CUDA_OPS),$(DEV_CUDA_DIR)/nvcc/$(o)_bf16 $(DEV_CUDA_DIR)/nvcc/$(o)_fp32)
DEV_CUDA_EMU  := $(foreach o,$(DEV_CUDA_OPS),$(foreach v,bf16 fp32,$(DEV_CUDA_DIR)/emu/$(o)_$(v))) \
                 $(foreach o,$(DEV_CUDA_ATT),$(DEV_CUDA_DIR)/emu/$(o)_bf16_broken_mask) \
                 $(DEV_CUDA_DIR)/emu/attention_backward_bf16_broken_barrier $(DEV_CUDA_DIR)/emu/aux_loss_bf16_broken_aux
DEV_CUDA_LIBS := -lcublasLt -lopenblas

$(DEV_CUDA_DIR)/nvcc/%_bf16: dev/cuda/%.cu $(DEV_CUDA_DEPS)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) $< -o $@ $(NVCC_LIBS) $(DEV_CUDA_LIBS) -lgomp
$(DEV_CUDA_DIR)/nvcc/%_fp32: dev/cuda/%.cu $(DEV_CUDA_DEPS)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) $(CUDA_PREC_FLAGS_FP32) $< -o $@ $(NVCC_LIBS) $(DEV_CUDA_LIBS) -lgomp

$(DEV_CUDA_DIR)/emu/%_bf16: dev/cuda/%.cu $(DEV_CUDA_DEPS) $(EMU_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) $(EMU_NVCC_FLAGS) $< -o $@ $(DEV_CUDA_LIBS)
$(DEV_CUDA_DIR)/emu/%_fp32: dev/cuda/%.cu $(DEV_CUDA_DEPS) $(EMU_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) $(EMU_NVCC_FLAGS) $(CUDA_PREC_FLAGS_FP32) $< -o $@ $(DEV_CUDA_LIBS)
$(DEV_CUDA_DIR)/emu/%_bf16_broken_barrier: dev/cuda/%.cu $(DEV_CUDA_DEPS) $(EMU_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) $(EMU_NVCC_FLAGS) -DNOLN_ATT_BROKEN_BARRIER $< -o $@ $(DEV_CUDA_LIBS)
$(DEV_CUDA_DIR)/emu/%_bf16_broken_mask: dev/cuda/%.cu $(DEV_CUDA_DEPS) $(EMU_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) $(EMU_NVCC_FLAGS) -DNOLN_ATT_BROKEN_MASK $< -o $@ $(DEV_CUDA_LIBS)
$(DEV_CUDA_DIR)/emu/%_bf16_broken_aux: dev/cuda/%.cu $(DEV_CUDA_DEPS) $(EMU_DEPS)
	@mkdir -p $(dir $@)
	$(EMU_NVCC) $(EMU_NVCC_FLAGS) -DNOLN_LAB_BROKEN_AUX $< -o $@ $(DEV_CUDA_LIBS)

.PHONY: dev-cuda dev-cuda-nvcc dev-cuda-emu
## dev-cuda: the kernel lab's programs, real nvcc and emulated (dev/cuda/README.md)
dev-cuda: dev-cuda-nvcc dev-cuda-emu
## dev-cuda-nvcc: the kernel lab built by the real nvcc, BF16 and FP32 (run on a GPU; make gpu-check times them)
dev-cuda-nvcc: $(DEV_CUDA_NV)
## dev-cuda-emu: the kernel lab built by the emulator, incl. the deliberately broken builds (suite 73)
dev-cuda-emu: $(DEV_CUDA_EMU)
TEST_TARGETS += $(DEV_CUDA_EMU)
ALL_TARGETS  += dev-cuda-emu
ifneq ($(HAVE_NVCC),)
ALL_TARGETS  += dev-cuda-nvcc
endif
