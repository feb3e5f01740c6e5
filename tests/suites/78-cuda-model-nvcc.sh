#!/usr/bin/env bash
# test_gpt2 and train_gpt2_noln compile with the real nvcc for sm_80 and sm_90 (nvcc and
# host-compiler warnings as errors) and link against cudart, cuBLASLt, NCCL, MPI, OpenBLAS
# and our host/CPU libraries, in both precisions: `make test_gpt2 train_gpt2_noln
# PRECISION=...` minus the copy to the repo root. No GPU is needed (nor used) here.
set -u
NVCC=/usr/local/cuda/bin/nvcc
if [ ! -x "$NVCC" ]; then echo "nvcc not found at $NVCC: skipped"; echo "0 passed, 0 failed, 2 skipped"; exit 0; fi
pass=0; fail=0
for prec in FP32 BF16; do
  d=build/cuda/nvcc-$prec
  if make --no-print-directory -j2 PRECISION=$prec $d/test_gpt2 $d/train_gpt2_noln > build/cuda/nvcc-$prec.log 2>&1 \
     && ldd $d/train_gpt2_noln | grep -q libnccl && ldd $d/test_gpt2 | grep -q libcublasLt; then
    pass=$((pass+1)); echo "nvcc $prec: test_gpt2 and train_gpt2_noln built and linked"
  else
    fail=$((fail+1)); echo "nvcc $prec: FAILED"; tail -20 build/cuda/nvcc-$prec.log
  fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
