#!/usr/bin/env bash
# CUDA kernels (kernels/*.cuh) under the emulator against the CPU ops, in FP32 and BF16,
# under CUEMU_SCHEDULE=forward (2 OS threads) and reverse (1 OS thread). Then the trainer's
# attention at GPT-2's full context (T = 1024, B = 2; hs 64 with Small's NH 12 in both
# precisions, XL's NH 25 in BF16, the flash kernels' precision), under the forward schedule
# only: 15-45 s each here; the schedules' barrier checks run at T <= 130 above.
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
for c in "fp32 2 1024 768 12" "bf16 2 1024 768 12" "bf16 2 1024 1600 25"; do
  set -- $c
  echo "--- test_attention_$1 B=$2 T=$3 C=$4 NH=$5 CUEMU_SCHEDULE=forward OMP_NUM_THREADS=2"
  if [ -x $B/test_attention_$1 ]; then CUEMU_SCHEDULE=forward OMP_NUM_THREADS=2 $B/test_attention_$1 $2 $3 $4 $5 || rc=1
  else echo "0 passed, 1 failed"; rc=1; fi
done
exit $rc
