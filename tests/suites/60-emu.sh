#!/usr/bin/env bash
# The CUDA emulator: test kernels (and wmma kernels) against CPU loops under the forward (2 OS threads),
# reverse and random (1 OS thread) schedules, the bug-finding checks, and cuBLASLt.
# needs: emu-tests
set -u
. tests/lib.sh
B=build/emu/tests
for sched in "forward 2" "reverse 1" "random:11 1"; do
  set -- $sched
  run env CUEMU_SCHEDULE=$1 OMP_NUM_THREADS=$2 $B/test_kernels
  run env CUEMU_SCHEDULE=$1 OMP_NUM_THREADS=$2 $B/test_wmma
done
run $B/test_bugs
run env OMP_NUM_THREADS=1 $B/test_cublaslt
report emu
