#!/usr/bin/env bash
# CUDA kernels (kernels/*.cuh) under the emulator against the CPU ops, in FP32 and BF16,
# under CUEMU_SCHEDULE=forward (2 OS threads) and reverse (1 OS thread).
set -u
B=build/cuda/tests
rc=0
for t in test_basic test_ln_path test_attention test_matmul; do
  for prec in fp32 bf16; do
    if [ ! -x $B/${t}_$prec ]; then echo "$B/${t}_$prec missing (make cuda-tests)"; echo "0 passed, 1 failed"; rc=1; continue; fi
    for sched in "forward 2" "reverse 1"; do
      set -- $sched
      echo "--- ${t}_$prec CUEMU_SCHEDULE=$1 OMP_NUM_THREADS=$2"
      CUEMU_SCHEDULE=$1 OMP_NUM_THREADS=$2 $B/${t}_$prec || rc=1
    done
  done
done
exit $rc
