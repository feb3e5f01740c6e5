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
# The trainer's attention at GPT-2's full context (T = 1024, B = 2; hs 64 with Small's NH 12
# in both precisions, XL's NH 25 in BF16, the flash kernels' precision), under the forward
# schedule only: 15-45 s each here; the schedules' barrier checks run at T <= 130 above.
for c in "fp32 2 1024 768 12" "bf16 2 1024 768 12" "bf16 2 1024 1600 25"; do
  set -- $c
  if [ -x $B/test_attention_$1 ]; then run env CUEMU_SCHEDULE=forward OMP_NUM_THREADS=2 $B/test_attention_$1 $2 $3 $4 $5
  else bad "$B/test_attention_$1 missing (make cuda-tests)"; fi
done
report cuda-kernels
