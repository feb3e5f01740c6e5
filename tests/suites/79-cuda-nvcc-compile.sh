#!/usr/bin/env bash
# The CUDA kernel tests (tests/cuda/test_*.cu) also compile and link with the real nvcc
# (NVCC_FLAGS: sm_80 and sm_90, warnings as errors; no GPU needed), in both precisions: the
# emulated source is real CUDA. make gpu-check runs the same binaries on a GPU.
# needs:
set -u
. tests/lib.sh
srcs=(tests/cuda/test_*.cu)
if need_nvcc $((2 * ${#srcs[@]})); then
  for src in "${srcs[@]}"; do
    t=$(basename $src .cu)
    for prec in fp32 bf16; do
      if make --no-print-directory build/cuda/nvcc/${t}_$prec; then ok "nvcc $t $prec"; else bad "nvcc $t $prec"; fi
    done
  done
fi
report cuda-nvcc
