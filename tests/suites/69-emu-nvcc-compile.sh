#!/usr/bin/env bash
# The emulator's test kernels also build with the real nvcc (compile and link only, no
# GPU needed) for sm_80 and sm_90, warnings as errors: the emulated source is real CUDA.
set -u
NVCC=/usr/local/cuda/bin/nvcc
if [ ! -x "$NVCC" ]; then echo "nvcc not found at $NVCC: skipped"; echo "0 passed, 0 failed, 1 skipped"; exit 0; fi
out=build/emu/nvcc
mkdir -p $out
pass=0; fail=0
for t in test_kernels test_cublaslt test_wmma; do
  if $NVCC -std=c++17 -O2 -I. -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
       -Werror all-warnings -Xcompiler -Wall,-Werror tests/emu/$t.cu -o $out/$t \
       -L/usr/local/cuda/lib64 -lcublasLt; then
    pass=$((pass+1)); echo "nvcc $t: ok"
  else
    fail=$((fail+1)); echo "nvcc $t: FAILED"
  fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
