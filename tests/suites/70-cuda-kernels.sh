#!/usr/bin/env bash
# CUDA kernels (kernels/*.cuh) under the emulator against the CPU ops, every test of
# tests/cuda/ in FP32 and BF16, under CUEMU_SCHEDULE=forward (2 OS threads) and reverse (1).
# needs: cuda-tests
set -u
. tests/lib.sh
B=build/cuda/tests
for src in tests/cuda/test_*.cu; do
  t=$(basename "$src" .cu)
  for prec in fp32 bf16; do
    if [ ! -x $B/${t}_$prec ]; then bad "$B/${t}_$prec missing (make cuda-tests)"; continue; fi
    for sched in "forward 2" "reverse 1"; do
      set -- $sched
      run env CUEMU_SCHEDULE=$1 OMP_NUM_THREADS=$2 $B/${t}_$prec
    done
  done
done
report cuda-kernels
