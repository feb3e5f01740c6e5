#!/usr/bin/env bash
# The ASan+UBSan emulated build: the test and wmma kernels run clean, and a write one element
# past a cudaMalloc buffer is reported by AddressSanitizer.
set -u
B=build/emu-asan/tests
rc=0
echo "--- test_kernels (ASan+UBSan, reverse schedule)"
CUEMU_SCHEDULE=reverse OMP_NUM_THREADS=1 UBSAN_OPTIONS=halt_on_error=1 $B/test_kernels || rc=1
echo "--- test_wmma (ASan+UBSan, reverse schedule)"
CUEMU_SCHEDULE=reverse OMP_NUM_THREADS=1 UBSAN_OPTIONS=halt_on_error=1 $B/test_wmma || rc=1
echo "--- test_oob"
out=$($B/test_oob 2>&1)
if [ $? -ne 0 ] && grep -q "heap-buffer-overflow" <<<"$out" && grep -q "test_oob.cu:8" <<<"$out"; then
  echo "1 passed, 0 failed"
else
  echo "$out" | tail -20
  echo "out-of-bounds write in a kernel was not reported by ASan"
  echo "0 passed, 1 failed"
  rc=1
fi
exit $rc
