#!/usr/bin/env bash
# The CUDA kernel tests also compile and link with the real nvcc (no GPU needed) for sm_80
# and sm_90, warnings as errors, in both precisions: the emulated source is real CUDA.
set -u
NVCC=/usr/local/cuda/bin/nvcc
if [ ! -x "$NVCC" ]; then echo "nvcc not found at $NVCC: skipped"; echo "0 passed, 0 failed, 1 skipped"; exit 0; fi
out=build/cuda/nvcc
mkdir -p $out
pass=0; fail=0
for src in tests/cuda/test_*.cu; do
  t=$(basename $src .cu)
  for prec in fp32 bf16; do
    def=""; [ $prec = fp32 ] && def="-DENABLE_FP32"
    if $NVCC -std=c++17 -O2 -I. $def -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
         -Werror all-warnings -Xcompiler -Wall,-Werror,-fopenmp $src -o $out/${t}_$prec \
         -L/usr/local/cuda/lib64 -lcublasLt -lopenblas -lgomp; then
      pass=$((pass+1)); echo "nvcc $t $prec: ok"
    else
      fail=$((fail+1)); echo "nvcc $t $prec: FAILED"
    fi
  done
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
