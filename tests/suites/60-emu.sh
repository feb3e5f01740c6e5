#!/usr/bin/env bash
# The CUDA emulator: test kernels (and wmma kernels) against CPU loops under the forward (2 OS threads),
# reverse and random (1 OS thread) schedules, the bug-finding checks, cuBLASLt, and stream
# ordering in each CUEMU_STREAMS mode (the kernel tests and the bug checks again with the
# legacy default stream queued, so every check also runs on queued launches).
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
for mode in sync defer-side defer-default; do
  run env CUEMU_STREAMS=$mode OMP_NUM_THREADS=2 $B/test_streams
done
run env CUEMU_STREAMS=defer-default CUEMU_SCHEDULE=reverse OMP_NUM_THREADS=1 $B/test_kernels
run env CUEMU_STREAMS=defer-default CUEMU_SCHEDULE=reverse OMP_NUM_THREADS=1 $B/test_wmma
run env CUEMU_STREAMS=defer-default $B/test_bugs
run env CUEMU_STREAMS=defer-default OMP_NUM_THREADS=1 $B/test_cublaslt
expect_error "CUEMU_STREAMS with an unknown mode" "CUEMU_STREAMS=bogus: expected sync, defer-side or defer-default" \
  env CUEMU_STREAMS=bogus $B/test_streams
report emu
