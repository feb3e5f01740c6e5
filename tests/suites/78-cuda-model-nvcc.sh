#!/usr/bin/env bash
# test_gpt2 and train_gpt2_noln compile with the real nvcc (NVCC_FLAGS: sm_80 and sm_90, nvcc
# and host-compiler warnings as errors) and link against cudart, cuBLASLt, NCCL, MPI, OpenBLAS
# and our libraries, in both precisions: `make test_gpt2 train_gpt2_noln PRECISION=...` minus
# the copy to the repo root. No GPU is needed (nor used) here.
# needs:
set -u
. tests/lib.sh
if need_nvcc 2; then
  for prec in FP32 BF16; do
    d=build/cuda/nvcc-$prec
    if make --no-print-directory -j2 PRECISION=$prec $d/test_gpt2 $d/train_gpt2_noln > build/cuda/nvcc-$prec.log 2>&1 \
       && ldd $d/train_gpt2_noln | grep -q libnccl && ldd $d/test_gpt2 | grep -q libcublasLt; then
      ok "nvcc $prec: test_gpt2 and train_gpt2_noln built and linked"
    else
      bad "nvcc $prec"; tail -20 build/cuda/nvcc-$prec.log
    fi
  done
fi
report cuda-model-nvcc
