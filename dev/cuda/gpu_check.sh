#!/usr/bin/env bash
# make gpu-check: on a machine with an NVIDIA GPU, the checks only real hardware can make
# (docs/gpu.md lists which behaviour each one confirms). Builds with the real nvcc, runs
#   1. test_gpt2 in FP32 and BF16 (built-in cases vs the CPU model, PyTorch states if present)
#   2. the kernel tests tests/cuda/*.cu built with nvcc (each against the CPU ops), both precisions
#   3. a short training run of train_gpt2_noln (FP32) against train_gpt2_noln_cpu, step by step
#   4. the same run twice on the GPU: bitwise identical losses (no atomics-order dependence),
#      and a BF16 run stopped after step 5 and resumed: main.log byte for byte
#   5. a BF16 run of a GPT-2 small shape for the MFU line (timing only, not a pass/fail check)
#   6. the kernel lab (dev/cuda/README.md): every attention version validated against the CPU
#      op and timed, forward and backward, BF16, at GPT-2 Small's shape (B 8, T 1024, NH 12,
#      hs 64) and with XL's heads (B 4, T 1024, NH 25); validation pass/fail, timings printed
# and prints a verdict. Exit 0 only when every check passed.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
W=build/gpu-check
mkdir -p "$W"

if ! command -v nvidia-smi > /dev/null || ! nvidia-smi -L > "$W/gpus.txt" 2>&1; then
  echo "gpu-check: no NVIDIA GPU here (nvidia-smi -L failed); nothing to check"; exit 1
fi
cat "$W/gpus.txt"
make --no-print-directory -j4 train_gpt2_noln_cpu test_gpt2_cpu || { echo "gpu-check: CPU build failed"; exit 1; }

# 1. test_gpt2, both precisions (the nvcc builds keep one directory per precision)
for prec in FP32 BF16; do
  d=build/cuda/nvcc-$prec
  if ! make --no-print-directory -j4 PRECISION=$prec $d/test_gpt2 $d/train_gpt2_noln > "$W/build-$prec.log" 2>&1; then
    bad "nvcc build $prec (see $W/build-$prec.log)"; continue; fi
  if $d/test_gpt2 > "$W/test_gpt2-$prec.out" 2>&1; then ok "test_gpt2 $prec built-in cases: $(tail -1 "$W/test_gpt2-$prec.out")"
  else bad "test_gpt2 $prec built-in cases (see $W/test_gpt2-$prec.out)"; fi
  for c in a b c d; do
    m=build/cpu-ref/cfg_${c}_model.bin; s=build/cpu-ref/cfg_${c}_state.bin
    [ -f "$m" ] && [ -f "$s" ] || continue
    if $d/test_gpt2 "$m" "$s" > "$W/test_gpt2-$prec-$c.out" 2>&1; then ok "test_gpt2 $prec vs PyTorch state $c"
    else bad "test_gpt2 $prec vs PyTorch state $c (see $W/test_gpt2-$prec-$c.out)"; fi
  done
done

# 2. kernel tests with the real nvcc (make cuda-tests-nvcc, as suite 79 builds them), on the GPU
for src in tests/cuda/test_*.cu; do
  t=$(basename "$src" .cu)
  for prec in fp32 bf16; do
    exe=build/cuda/nvcc/${t}_$prec
    if ! make --no-print-directory "$exe" > "$W/$t-$prec.build" 2>&1; then
      bad "kernel test $t $prec: build (see $W/$t-$prec.build)"; continue; fi
    if "$exe" > "$W/$t-$prec.out" 2>&1; then ok "kernel test $t $prec"; else bad "kernel test $t $prec (see $W/$t-$prec.out)"; fi
  done
done

# 3-4. short training run on the GPU (FP32) vs the CPU trainer, and vs itself
"$PY" tests/train/make_shards.py "$W" 64 > /dev/null
F=(-e d2 --width 32 --heads 2 --vocab 64 --max-seq 16 -t 16 -b 4 -d 128 -i "$W/train_*.bin" -j "$W/val_*.bin"
   -v 5 -m 2 -l 3e-3 -u 2 -q 0.1 --lr-horizon 10 --aux-lambda 0.1 --shuffle 0
   --remove ln2=2/1,ln1qk=4/1,ln1v=6/1,lnf=8 -x 10)
rm -rf "$W/cpu" "$W/gpu" "$W/gpu2"
./train_gpt2_noln_cpu "${F[@]}" -o "$W/cpu" > "$W/cpu.out" 2>&1
GPU=build/cuda/nvcc-FP32/train_gpt2_noln
if [ -x $GPU ] && $GPU "${F[@]}" -o "$W/gpu" > "$W/gpu.out" 2>&1 && $GPU "${F[@]}" -o "$W/gpu2" > "$W/gpu2.out" 2>&1; then
  if r=$(same_losses "$W/cpu/main.log" "$W/gpu/main.log"); then ok "GPU FP32 training vs CPU trainer: $r"; else bad "GPU FP32 training vs CPU trainer: $r"; fi
  if diff <(grep -E ' t[re]l:' "$W/gpu/main.log") <(grep -E ' t[re]l:' "$W/gpu2/main.log") > /dev/null; then
    ok "GPU training is bitwise reproducible run to run"; else bad "GPU training differs run to run"; fi
else bad "GPU training run failed (see $W/gpu.out)"; fi

# 4b. BF16 stop after step 5 and resume: main.log byte for byte like the uninterrupted run
#     (v5 checkpoint + fp32 masters in the state file; also needs deterministic kernels)
G16=build/cuda/nvcc-BF16/train_gpt2_noln
F5=("${F[@]:0:${#F[@]}-2}")  # F without its final "-x 10"
rm -rf "$W/bf16" "$W/bf16r"
if [ -x $G16 ] && $G16 "${F5[@]}" -x 10 -n 5 -o "$W/bf16" > "$W/bf16.out" 2>&1 \
   && $G16 "${F5[@]}" -x 5 -n 5 -o "$W/bf16r" > "$W/bf16r1.out" 2>&1 \
   && $G16 "${F5[@]}" -x 10 -n 5 -y 1 -o "$W/bf16r" > "$W/bf16r2.out" 2>&1; then
  if cmp -s "$W/bf16/main.log" "$W/bf16r/main.log"; then ok "GPU BF16 resume after step 5 is bit for bit"
  else bad "GPU BF16 resume differs from the uninterrupted run (diff $W/bf16/main.log $W/bf16r/main.log)"; fi
else bad "GPU BF16 stop/resume runs failed (see $W/bf16*.out)"; fi

# 5. timing: GPT-2 small shape, BF16, fresh weights, random shards (MFU line only)
BIG=build/cuda/nvcc-BF16/train_gpt2_noln
if [ -x $BIG ] && "$PY" tests/train/make_shards.py "$W/big" 50257 > /dev/null 2>&1; then
  $BIG -e d12 -t 1024 -b 8 -d 8192 -i "$W/big/train_*.bin" -x 5 -v 0 > "$W/mfu.out" 2>&1
  grep 'MFU' "$W/mfu.out" | tail -2 || true
fi

# 6. the attention versions through the kernel lab (about 1-2 minutes: the CPU oracle in
#    double dominates; each version is then timed 20 times with the L2 flushed before each)
if make --no-print-directory -j4 dev-cuda-nvcc > "$W/dev-cuda-build.log" 2>&1; then
  for shape in "-b 8 -t 1024 -n 12" "-b 4 -t 1024 -n 25"; do
    for op in attention_forward attention_backward; do
      out="$W/${op}$(echo $shape | tr -d ' -').out"
      if build/dev-cuda/nvcc/${op}_bf16 all $shape > "$out" 2>&1; then ok "dev/cuda $op $shape: every version validated"
      else bad "dev/cuda $op $shape: a version failed its validation (see $out)"; fi
      grep -E '^  (version|v[0-9])|roofline' "$out" | grep -v 'max err' || true
    done
  done
else bad "dev/cuda nvcc build (see $W/dev-cuda-build.log)"; fi

echo "=== gpu-check verdict"
printf '%s\n' "${results[@]}"
if [ $fail = 0 ]; then echo "gpu-check: PASS ($pass checks)"; else echo "gpu-check: FAIL ($fail of $((pass+fail)) checks failed)"; fi
[ $fail = 0 ]
