#!/usr/bin/env bash
# make gpu-check without a GPU: DRY_RUN=1 runs the whole script end to end, printing every
# command it would run and each part's time budget (the parts' budgets must add up to at
# most 600 s), executes nothing, and writes the summary file; GPU_CHECK_ONLY selects parts
# and rejects unknown ones; without DRY_RUN on a machine with no GPU it refuses (exit 1).
# needs:
set -u
. tests/lib.sh
D=build/test-gpu-check-dry
rm -rf $D
out=$(GPU_CHECK_DIR=$D make --no-print-directory gpu-check DRY_RUN=1 2>&1); rc=$?
echo "$out" | grep -E '^(===|gpu-check)'
if [ $rc = 0 ]; then ok "make gpu-check DRY_RUN=1 exits 0"; else bad "make gpu-check DRY_RUN=1 exited $rc"; echo "$out" | tail; fi
parts="build test_gpt2 states kernels sanitizer repro resume dev_cuda mfu"
sum=0; missing=
for p in $parts; do
  b=$(echo "$out" | sed -n "s/^=== $p (budget \([0-9]*\) s)$/\1/p")
  if [ -z "$b" ]; then missing="$missing $p"; else sum=$((sum + b)); fi
  echo "$out" | grep -q "^  \[$p\] would run: " || missing="$missing $p(no command)"
done
if [ -z "$missing" ]; then ok "every part listed with its budget and commands"; else bad "parts missing:$missing"; fi
total=$(echo "$out" | sed -n 's/.*(total \([0-9]*\) s of the 600 s limit).*/\1/p')
if [ "$total" = "$sum" ] && [ "$sum" -le 600 ]; then ok "part budgets add up to the stated total, $sum s <= 600 s"
else bad "budgets: parts add up to $sum s, stated total '${total}' (limit 600)"; fi
# the checks the issue asks for are all planned
for what in 'nvcc build FP32' 'nvcc build BF16' 'test_gpt2 FP32 built-in' 'test_gpt2 BF16 built-in' \
            'small-width state' 'xl-width state' 'compute-sanitizer memcheck' 'compute-sanitizer racecheck' \
            'compute-sanitizer synccheck' 'bitwise reproducible' 'stop after step 5 and resume' \
            'dev/cuda' 'GPT-2 Small shapes' '2-layer XL width'; do
  echo "$out" | grep -q "would check: .*$what" || missing="$missing '$what'"
done
if [ -z "$missing" ]; then ok "the plan covers builds, test_gpt2, real-width states, sanitizers, reproducibility, resume, dev/cuda, MFU"
else bad "the plan lacks:$missing"; fi
n=0
for src in tests/cuda/test_*.cu; do
  t=$(basename "$src" .cu)
  for prec in fp32 bf16; do echo "$out" | grep -q "would check: kernel test $t $prec" || n=$((n+1)); done
done
if [ $n = 0 ]; then ok "every kernel test of tests/cuda is planned in both precisions"; else bad "$n kernel tests not planned"; fi
if [ "$(ls $D)" = summary.txt ] && grep -q '^=== mfu' $D/summary.txt; then ok "a dry run executes nothing and writes only the summary"
else bad "a dry run left: $(ls $D | tr '\n' ' ')"; fi
out=$(GPU_CHECK_DIR=$D GPU_CHECK_ONLY=states,mfu DRY_RUN=1 bash dev/cuda/gpu_check.sh 2>&1)
two=$(( $(echo "$out" | sed -n 's/^=== \(states\|mfu\) (budget \([0-9]*\) s)$/\2/p' | paste -sd+ | bc) ))
if [ "$(echo "$out" | grep -c '^=== ')" = 2 ] && echo "$out" | grep -q '^=== states' && echo "$out" | grep -q '^=== mfu' \
   && echo "$out" | grep -q "total $two s"; then ok "GPU_CHECK_ONLY=states,mfu runs those two parts only ($two s)"
else bad "GPU_CHECK_ONLY=states,mfu"; echo "$out" | grep '^==='; fi
expect_error "GPU_CHECK_ONLY with an unknown part is refused, named" "unknown part 'sanitiser'" \
  env GPU_CHECK_DIR=$D GPU_CHECK_ONLY=build,sanitiser DRY_RUN=1 bash dev/cuda/gpu_check.sh
if command -v nvidia-smi > /dev/null && nvidia-smi -L > /dev/null 2>&1; then
  skipped "the no-GPU refusal: this machine has a GPU"
else
  expect_error "without a GPU, make gpu-check refuses clearly" "no NVIDIA GPU here" \
    env GPU_CHECK_DIR=$D make --no-print-directory gpu-check
fi
rm -rf $D
report gpu-check-dry
