#!/usr/bin/env bash
# The CUDA GPT-2 (cuda/gpt2_cuda.cuh) under the emulator, FP32 and BF16: test_gpt2 built in,
# against the CPU model for every LN configuration (all REAL, REAL/FROZEN split QKV,
# BOS/EOT specials, aux loss, all FROZEN: logits, loss, gradients, 10 AdamW steps, save and
# reload; -r 1 and -r 2 give -r 0's losses and gradients bit for bit in every case; the V
# path's buffers exist only while a layer splits, sized as the memory plan counts); then against the PyTorch debug states of suite 30 when they exist; a perturbed
# state must fail (FP32); a missing file must exit 1 naming it.
# needs: build/cuda/test_gpt2_emu_fp32 build/cuda/test_gpt2_emu_bf16
set -u
. tests/lib.sh
B=build/cuda
export OMP_NUM_THREADS=2
for prec in fp32 bf16; do
  bin=$B/test_gpt2_emu_$prec
  if [ ! -x "$bin" ]; then bad "$bin missing (make cuda-emu)"; continue; fi
  for sched in forward reverse; do
    if CUEMU_SCHEDULE=$sched $bin > $B/test_gpt2_$prec.$sched.out 2>&1; then
      ok "test_gpt2 $prec built-in cases ($(tail -1 $B/test_gpt2_$prec.$sched.out), CUEMU_SCHEDULE=$sched)"
    else bad "test_gpt2 $prec built-in cases (CUEMU_SCHEDULE=$sched)"; grep -v '^  OK' $B/test_gpt2_$prec.$sched.out | tail -20; fi
  done
  for c in a b c d; do
    m=build/cpu-ref/cfg_${c}_model.bin; s=build/cpu-ref/cfg_${c}_state.bin
    if [ ! -f "$m" ] || [ ! -f "$s" ]; then skipped "PyTorch state $c: $s not there (suite 30 writes it)"; continue; fi
    if $bin "$m" "$s" > $B/test_gpt2_${prec}_$c.out 2>&1; then ok "test_gpt2 $prec vs PyTorch state $c"
    else bad "test_gpt2 $prec vs PyTorch state $c"; grep -v '^  OK' $B/test_gpt2_${prec}_$c.out | tail; fi
  done
  p=build/cpu-ref/cfg_b_state_perturbed.bin
  # a 1e-3 change of ln1w's gradient: visible at FP32's tolerance, below BF16's
  if [ -f "$p" ] && [ $prec = fp32 ]; then
    if $bin build/cpu-ref/cfg_b_model.bin "$p" > $B/test_gpt2_${prec}_perturbed.out 2>&1; then bad "test_gpt2 $prec passed a perturbed state"
    elif grep -q '^  FAIL' $B/test_gpt2_${prec}_perturbed.out; then ok "test_gpt2 $prec fails a perturbed state"
    else bad "test_gpt2 $prec perturbed state: no FAIL line"; tail -3 $B/test_gpt2_${prec}_perturbed.out; fi
  fi
  expect_error "test_gpt2 $prec: missing file exits 1, named" 'no_such_model.bin' $bin $B/no_such_model.bin $B/no_such_state.bin
done
report cuda-model
