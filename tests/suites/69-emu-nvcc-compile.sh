#!/usr/bin/env bash
# The emulator's test kernels also build with the real nvcc (NVCC_FLAGS: sm_80 and sm_90,
# warnings as errors; compile and link only, no GPU needed): the emulated source is real CUDA
# (test_streams included: the stream rules it checks are the runtime's own).
# needs:
set -u
. tests/lib.sh
if need_nvcc 3; then
  for t in test_kernels test_cublaslt test_wmma test_streams; do
    if make --no-print-directory build/emu/nvcc/$t; then ok "nvcc $t"; else bad "nvcc $t"; fi
  done
fi
report emu-nvcc
