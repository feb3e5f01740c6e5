#!/usr/bin/env bash
# make gpu-check: on a machine with one NVIDIA GPU (H100/H200 class), every check only real
# hardware can make (docs/gpu.md lists which behaviour each confirms), in under 10 minutes,
# ending in one summary file (build/gpu-check/summary.txt) with a verdict. Parts, each with a
# time budget (seconds; a command still running when its part's budget is spent is stopped
# and counts as a failure, so the whole stays under 600 s):
#   build      nvcc builds: test_gpt2 and train_gpt2_noln (FP32, BF16), the kernel tests,
#              the dev/cuda programs (when `make dev-cuda` exists), the CPU programs
#   test_gpt2  test_gpt2 in FP32 and BF16: built-in cases (both GELU paths) and the PyTorch
#              states of suite 30 (tiny)
#   states     PyTorch states at real widths (GPT-2 Small: C=768 NH=12; XL: C=1600 NH=25;
#              T=1024, B=2, 3 layers; scripts/torch_gpt2.py --shape) against test_gpt2 FP32, BF16
#   kernels    every kernel test (tests/cuda) built with nvcc, both precisions
#   sanitizer  compute-sanitizer memcheck, racecheck, synccheck on a tiny training run
#   repro      a tiny FP32 training run vs the CPU trainer, step by step; the same run twice
#              on the GPU (FP32 and BF16): bitwise identical losses
#   resume     BF16 run stopped after step 5 and resumed: main.log byte for byte
#   dev_cuda   every dev/cuda program (BF16): validation and timings (ms, TFLOP/s, GB/s, %
#              roofline); attention and the row-based memory-bound ops (LN site, encoder,
#              residual, GELU, bias gradient, aux loss) at GPT-2 Small's shape (B 8, T 1024,
#              NH 12) and XL's (B 4, T 1024, NH 25), the classifier on 1024 rows of GPT-2's
#              vocabulary, AdamW and the global norm on GPT-2 Small's 124475904 parameters
#   mfu        tokens/s and MFU: GPT-2 Small shapes (d12, T=1024) and a 2-layer XL-width model
# Environment:
#   GPU_CHECK_ONLY=part,part  run only these parts (each builds what it needs)
#   GPU_CHECK_DIR=dir         where logs and summary.txt go (default build/gpu-check)
#   DRY_RUN=1                 print what would run and each part's budget; no GPU needed, no
#                             command run (suite 74-gpu-check-dry runs this in CI)
# Exit 0 only when every check passed. Without a GPU (and not DRY_RUN) it refuses, exit 1.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
W=${GPU_CHECK_DIR:-build/gpu-check}
SUMMARY=$W/summary.txt
DRY=${DRY_RUN:-0}
ONLY=${GPU_CHECK_ONLY:-}
PARTS=(build test_gpt2 states kernels sanitizer repro resume dev_cuda mfu)
declare -A BUDGET=([build]=120 [test_gpt2]=45 [states]=110 [kernels]=25 [sanitizer]=65 [repro]=35
                   [resume]=25 [dev_cuda]=120 [mfu]=50)
JOBS=$(nproc 2> /dev/null || echo 4)
mkdir -p "$W"
export W PY
exec 3>&1  # the dry run's listing goes here even where a command's output is redirected

for p in ${ONLY//,/ }; do
  [ -n "${BUDGET[$p]:-}" ] || { echo "gpu-check: unknown part '$p' in GPU_CHECK_ONLY (parts: ${PARTS[*]})"; exit 1; }
done
selected() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
total=0
for p in "${PARTS[@]}"; do selected "$p" && total=$((total + BUDGET[$p])); done

: > "$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }

if [ "$DRY" = 1 ]; then
  say "gpu-check DRY RUN: nothing is executed; parts and budgets (total ${total} s of the 600 s limit)"
else
  if ! command -v nvidia-smi > /dev/null || ! nvidia-smi -L > "$W/gpus.txt" 2>&1; then
    say "gpu-check: no NVIDIA GPU here (nvidia-smi -L failed): refusing. DRY_RUN=1 shows what it would run."
    exit 1
  fi
  say "gpu-check on $(head -1 "$W/gpus.txt"), $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2> /dev/null)"
fi

PART_END=0
PART=
# step CMD...: run CMD within what is left of the part's budget (or print it in a dry run).
# CMD may be a shell function (exported below): it runs in a child bash under timeout.
step() {
  if [ "$DRY" = 1 ]; then echo "  [$PART] would run: $*" | tee -a "$SUMMARY" >&3; return 0; fi
  local left=$((PART_END - $(date +%s)))
  if [ $left -le 0 ]; then echo "  [$PART] budget spent before: $*" | tee -a "$SUMMARY" >&3; return 124; fi
  timeout --kill-after=5 $left bash -c '"$@"' _ "$@"
}
# check NAME CMD...: a pass/fail line from CMD's exit status (dry run: only listed).
check() {
  local name=$1; shift
  if [ "$DRY" = 1 ]; then echo "  [$PART] would check: $name" | tee -a "$SUMMARY"; step "$@"; return 0; fi
  if step "$@"; then ok "[$PART] $name"; else bad "[$PART] $name"; fi
}
# log FILE CMD...: CMD with its output in $W/FILE.
log() { local f=$1; shift; "$@" > "$W/$f" 2>&1; }
# same_steps A B: the train/val loss lines of two main.logs are identical.
same_steps() { cmp <(grep -E ' t[re]l:' "$1") <(grep -E ' t[re]l:' "$2"); }
export -f log same_losses same_steps

GPU16=build/cuda/nvcc-BF16/train_gpt2_noln
GPU32=build/cuda/nvcc-FP32/train_gpt2_noln
F=(-e d2 --width 32 --heads 2 --vocab 64 --max-seq 16 -t 16 -b 4 -d 128 -i "$W/train_*.bin" -j "$W/val_*.bin"
   -v 5 -m 2 -l 3e-3 -u 2 -q 0.1 --lr-horizon 10 --aux-lambda 0.1 --shuffle 0
   --remove ln2=2/1,ln1qk=4/1,ln1v=6/1,lnf=8)
shards() { [ -f "$W/train_000.bin" ] || step log shards.log "$PY" tests/train/make_shards.py "$W" 64; }

part_build() {
  check "CPU programs build" log build-cpu.log make --no-print-directory -j"$JOBS" train_gpt2_noln_cpu test_gpt2_cpu
  for prec in FP32 BF16; do
    d=build/cuda/nvcc-$prec
    check "nvcc build $prec (test_gpt2, train_gpt2_noln)" \
      log build-$prec.log make --no-print-directory -j"$JOBS" PRECISION=$prec $d/test_gpt2 $d/train_gpt2_noln
  done
  check "nvcc build of the kernel tests" log build-kernels.log make --no-print-directory -j"$JOBS" cuda-tests-nvcc
  check "nvcc build of dev/cuda" log build-dev-cuda.log make --no-print-directory -j"$JOBS" dev-cuda-nvcc
}

part_test_gpt2() {
  [ -f build/cpu-ref/cfg_d_state.bin ] || step log cpu-ref.log "$PY" scripts/torch_gpt2.py build/cpu-ref
  for prec in FP32 BF16; do
    d=build/cuda/nvcc-$prec
    step log build-test_gpt2-$prec.log make --no-print-directory -j"$JOBS" PRECISION=$prec $d/test_gpt2
    check "test_gpt2 $prec built-in cases" log test_gpt2-$prec.out $d/test_gpt2
    for c in a b c d; do
      check "test_gpt2 $prec vs PyTorch state $c" \
        log test_gpt2-$prec-$c.out $d/test_gpt2 build/cpu-ref/cfg_${c}_model.bin build/cpu-ref/cfg_${c}_state.bin
    done
  done
}

part_states() {
  for shape in small xl; do
    S=$W/states-$shape
    [ -f "$S/cfg_d_state.bin" ] || check "PyTorch states at GPT-2 $shape width, T=1024" \
      log states-$shape.log "$PY" scripts/torch_gpt2.py "$S" --configs b,d --shape $shape
    for prec in FP32 BF16; do
      for c in b d; do
        check "test_gpt2 $prec vs $shape-width state $c (T=1024)" \
          log test_gpt2-$prec-$shape-$c.out build/cuda/nvcc-$prec/test_gpt2 "$S/cfg_${c}_model.bin" "$S/cfg_${c}_state.bin"
      done
    done
  done
}

part_kernels() {
  for src in tests/cuda/test_*.cu; do
    t=$(basename "$src" .cu)
    for prec in fp32 bf16; do
      check "kernel test $t $prec" log $t-$prec.out build/cuda/nvcc/${t}_$prec
    done
  done
}

part_sanitizer() {
  shards
  CS=${CUDA_HOME:-/usr/local/cuda}/bin/compute-sanitizer
  for tool in memcheck racecheck synccheck; do
    for prec in FP32 BF16; do
      bin=build/cuda/nvcc-$prec/train_gpt2_noln
      check "compute-sanitizer $tool, $prec, 2 training steps" \
        log sanitizer-$tool-$prec.out "$CS" --tool $tool --error-exitcode 1 $bin "${F[@]}" -x 2 -v 0 -o "$W/san-$tool-$prec"
    done
  done
}

part_repro() {
  shards
  rm -rf "$W/cpu" "$W/gpu" "$W/gpu2" "$W/g16a" "$W/g16b"
  step log cpu.out ./train_gpt2_noln_cpu "${F[@]}" -x 10 -o "$W/cpu"
  step log gpu.out $GPU32 "${F[@]}" -x 10 -o "$W/gpu"
  step log gpu2.out $GPU32 "${F[@]}" -x 10 -o "$W/gpu2"
  check "GPU FP32 training vs the CPU trainer (every loss, 1e-4)" same_losses "$W/cpu/main.log" "$W/gpu/main.log"
  check "GPU FP32 training bitwise reproducible run to run" same_steps "$W/gpu/main.log" "$W/gpu2/main.log"
  step log g16a.out $GPU16 "${F[@]}" -x 10 -o "$W/g16a"
  step log g16b.out $GPU16 "${F[@]}" -x 10 -o "$W/g16b"
  check "GPU BF16 training bitwise reproducible run to run" cmp "$W/g16a/main.log" "$W/g16b/main.log"
}

part_resume() {
  shards
  rm -rf "$W/bf16" "$W/bf16r"
  step log bf16.out $GPU16 "${F[@]}" -x 10 -n 5 -o "$W/bf16"
  step log bf16r1.out $GPU16 "${F[@]}" -x 5 -n 5 -o "$W/bf16r"
  step log bf16r2.out $GPU16 "${F[@]}" -x 10 -n 5 -y 1 -o "$W/bf16r"
  check "GPU BF16 stop after step 5 and resume: main.log byte for byte" cmp "$W/bf16/main.log" "$W/bf16r/main.log"
}

part_dev_cuda() {
  step log build-dev-cuda2.log make --no-print-directory -j"$JOBS" dev-cuda-nvcc
  progs=$(ls build/dev-cuda/nvcc/*_bf16 2> /dev/null)
  [ "$DRY" = 1 ] && progs=${progs:-build/dev-cuda/nvcc/EACH_bf16}
  for p in $progs; do
    [ -x "$p" ] || [ "$DRY" = 1 ] || continue
    n=$(basename "$p")
    case $n in
      attention_* | ln_* | encoder_* | residual_* | gelu_* | bias_backward_* | aux_loss_*)
        shapes=("-b 8 -t 1024 -n 12" "-b 4 -t 1024 -n 25") ;;
      classifier_*) shapes=("-b 1 -t 1024") ;;  # 1024 rows of 50304 logits (the CPU oracle is in double)
      adamw_* | global_norm_*) shapes=("-p 124475904") ;;  # GPT-2 Small's parameters (vocabulary padded)
      *) shapes=("") ;;
    esac
    for shape in "${shapes[@]}"; do
      tag=$n$(echo "$shape" | tr -d ' -')
      check "dev/cuda $n ${shape:-(default shape)}: every version validated, timed" log dev-cuda-$tag.out $p all $shape
      [ "$DRY" = 1 ] || grep -E '^  (version|v[0-9])|roofline' "$W/dev-cuda-$tag.out" | grep -vE 'max err|rel err|not a neighbour' \
        | sed "s/^/  $tag: /" | tee -a "$SUMMARY"
    done
  done
}

part_mfu() {
  [ -f "$W/big/train_000.bin" ] || step log shards-big.log "$PY" tests/train/make_shards.py "$W/big" 50257
  # GPT-2 Small shapes (124M, T=1024, B=8), and a 2-layer model of XL width (C=1600, 25 heads)
  check "GPT-2 Small shapes, BF16, 8 steps (timing)" log mfu-small.out \
    $GPU16 -e d12 -t 1024 -b 8 -d 8192 -i "$W/big/train_*.bin" -x 8 -v 0 -o "$W/mfu-small"
  check "2-layer XL width, BF16, 8 steps (timing)" log mfu-xl2.out \
    $GPU16 -e d2 --width 1600 --heads 25 --vocab 50257 --max-seq 1024 -t 1024 -b 8 -d 8192 \
    -i "$W/big/train_*.bin" -x 8 -v 0 -o "$W/mfu-xl2"
  if [ "$DRY" != 1 ]; then
    for f in mfu-small mfu-xl2; do
      # the last step's line: tokens/s and MFU (the first steps include warm-up)
      say "  $f: $(grep -E '^step .*tok/s' "$W/$f.out" | tail -1 | grep -oE '[0-9]+ tok/s') | $(grep -E 'MFU' "$W/$f.out" | tail -1)"
    done
  fi
}

for p in "${PARTS[@]}"; do
  selected "$p" || continue
  PART=$p
  start=$(date +%s)
  PART_END=$((start + BUDGET[$p]))
  say "=== $p (budget ${BUDGET[$p]} s)"
  part_$p
  [ "$DRY" = 1 ] || say "    $p took $(($(date +%s) - start)) s"
done

if [ "$DRY" = 1 ]; then
  say "gpu-check DRY RUN done: ${#PARTS[@]} parts known, $( [ -n "$ONLY" ] && echo "selected: $ONLY" || echo "all selected"), budget ${total} s"
  exit 0
fi
say "=== gpu-check verdict"
printf '%s\n' "${results[@]}" >> "$SUMMARY"
if [ $fail = 0 ]; then say "gpu-check: PASS ($pass checks)"; else say "gpu-check: FAIL ($fail of $((pass+fail)) checks failed; logs in $W)"; fi
[ $fail = 0 ]
