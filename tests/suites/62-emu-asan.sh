#!/usr/bin/env bash
# The ASan+UBSan emulated build: the test and wmma kernels and the stream tests (queued
# launches, copies, events, cuBLASLt) run clean, and a write one element past a cudaMalloc
# buffer is reported by AddressSanitizer.
# needs: emu-asan
set -u
. tests/lib.sh
B=build/emu-asan/tests
for t in test_kernels test_wmma; do
  run env CUEMU_SCHEDULE=reverse OMP_NUM_THREADS=1 UBSAN_OPTIONS=halt_on_error=1 $B/$t
done
for mode in defer-side defer-default; do
  run env CUEMU_STREAMS=$mode OMP_NUM_THREADS=1 UBSAN_OPTIONS=halt_on_error=1 $B/test_streams
done
out=$($B/test_oob 2>&1)
if [ $? -ne 0 ] && grep -q "heap-buffer-overflow" <<<"$out" && grep -q "test_oob.cu:8" <<<"$out"; then
  ok "an out-of-bounds write in a kernel is reported by ASan at test_oob.cu:8"
else
  echo "$out" | tail -20
  bad "out-of-bounds write in a kernel was not reported by ASan"
fi
report emu-asan
