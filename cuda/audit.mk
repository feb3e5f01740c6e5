# Static checks and estimates of the CUDA trainer that need no GPU (docs/gpu.md, kernels/README.md).
#
# make ptx-audit: the PTX/ptxas audit of the trainer (scripts/ptx_audit.py, docs/gpu.md).
# One nvcc call per precision and architecture (sm_90 and sm_80, the two the trainer is built
# for) compiles train_gpt2_noln.cu with the Makefile's NVCC_FLAGS (their -gencode options replaced
# by -arch) and keeps the PTX beside ptxas's -v report; the table of registers, shared memory,
# spills, block size, occupancy on H100 / A100, tensor-core instructions and global access
# widths per kernel goes to $(PTX_AUDIT_DIR)/report.md. Fails on a spill, a local-memory stack
# frame, a kernel without __launch_bounds__, a *flash* kernel without tensor-core
# instructions, or a BF16 trainer without a *flash* kernel.
# Suite 77 runs it, and runs it on tests/ptx_audit/*.cu by overriding these variables.
PTX_AUDIT_DIR     ?= $(BUILD)/ptx-audit
PTX_AUDIT_UNITS   ?= bf16:train_gpt2_noln.cu:$(CUDA_PREC_FLAGS_BF16) fp32:train_gpt2_noln.cu:$(CUDA_PREC_FLAGS_FP32)
PTX_AUDIT_REQUIRE ?= bf16
PTX_AUDIT_ARCHS   ?= sm_90 sm_80
PTX_AUDIT_ARGS    ?= --strict-tables

.PHONY: ptx-audit
## ptx-audit: the trainer's PTX/ptxas report per kernel (registers, smem, spills, occupancy, tensor-core ops; suite 77)
ptx-audit:
	@$(PYTHON) scripts/ptx_audit.py --nvcc $(NVCC) --flags "$(NVCC_FLAGS)" --out $(PTX_AUDIT_DIR) \
	    $(foreach u,$(PTX_AUDIT_UNITS),--unit "$(u)") $(foreach r,$(PTX_AUDIT_REQUIRE),--require-flash $(r)) \
	    $(foreach a,$(PTX_AUDIT_ARCHS),--arch $(a)) $(PTX_AUDIT_ARGS)

# make cost-model: ESTIMATED step time and MFU per preset and GPU from per-kernel FLOPs and
# bytes (scripts/cost_model.py; its ASSUME table holds every efficiency assumption).
.PHONY: cost-model
## cost-model: ESTIMATED step time and MFU per preset and GPU from per-kernel FLOPs and bytes (suite 76)
cost-model:
	@$(PYTHON) scripts/cost_model.py --ladder
