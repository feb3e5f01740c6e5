#!/usr/bin/env bash
# The CUDA emulator: test kernels (and wmma kernels) against CPU loops under the forward (2 OS threads),
# reverse and random (1 OS thread) schedules, the bug-finding checks, and cuBLASLt.
set -u
B=build/emu/tests
rc=0
for sched in "forward 2" "reverse 1" "random:11 1"; do
  set -- $sched
  echo "--- test_kernels CUEMU_SCHEDULE=$1 OMP_NUM_THREADS=$2"
  CUEMU_SCHEDULE=$1 OMP_NUM_THREADS=$2 $B/test_kernels || rc=1
  echo "--- test_wmma CUEMU_SCHEDULE=$1 OMP_NUM_THREADS=$2"
  CUEMU_SCHEDULE=$1 OMP_NUM_THREADS=$2 $B/test_wmma || rc=1
done
echo "--- test_bugs"
$B/test_bugs || rc=1
echo "--- test_cublaslt"
OMP_NUM_THREADS=1 $B/test_cublaslt || rc=1
exit $rc
