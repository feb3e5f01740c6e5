#!/usr/bin/env bash
# train_gpt2_noln (the CUDA trainer, FP32, emulated) against train_gpt2_noln_cpu with the same
# flags on a tiny GPT-2 (d2, C=32, V=64, T=16, 2 micro-batches per step, aux loss) and a
# removal schedule that splits QKV on the way (ln2 at 2-3, ln1qk at 4-5, ln1v at 6-7, lnf at
# 8): every logged train and val loss of the 10 steps must agree within 1e-4 relative, and
# all 7 paths must freeze. Then 2 ranks (NCCL all-reduce, -b 2) against the CPU trainer's
# 1 rank (-b 4). A model too big for the device exits 1 with the size and what it was for.
# BF16 (train_gpt2_noln_emu_bf16) on the same config: checkpoints are v5 model files with
# master weights in the state; a run stopped after step 5 (between the ln1qk and ln1v
# removals) and resumed logs the uninterrupted run's main.log byte for byte; the FP32
# trainer refuses a BF16 checkpoint. --plan 1 counts a split ln_1's buffers only for a run
# that may split one (vanilla does not, paper-b-small does).
# needs: build/cuda/train_gpt2_noln_emu_fp32 build/cuda/train_gpt2_noln_emu_bf16 train_gpt2_noln_cpu
set -uo pipefail
. tests/lib.sh
export OMP_NUM_THREADS=1
W=build/tests/cuda-train
rm -rf "$W"; mkdir -p "$W"
EMU=build/cuda/train_gpt2_noln_emu_fp32 CPU=./train_gpt2_noln_cpu EMUB=build/cuda/train_gpt2_noln_emu_bf16
for b in $EMU $CPU $EMUB; do [ -x $b ] || { bad "$b missing (make cuda-emu train_gpt2_noln_cpu)"; report cuda-train; exit 1; }; done
"$PY" tests/train/make_shards.py "$W" 64 > /dev/null || { bad "make_shards.py"; report cuda-train; exit 1; }
F0=(-e d2 --width 32 --heads 2 --vocab 64 --max-seq 16 -t 16 -d 128 -i "$W/train_*.bin" -j "$W/val_*.bin"
   -v 5 -m 2 -l 3e-3 -u 2 -q 0.1 --lr-horizon 10 --aux-lambda 0.1 --shuffle 0
   --remove ln2=2/1,ln1qk=4/1,ln1v=6/1,lnf=8)
F=("${F0[@]}" -x 10)

$CPU "${F[@]}" -b 4 -o "$W/cpu" > "$W/cpu.out" 2>&1 || bad "CPU trainer failed"
if $EMU "${F[@]}" -b 4 -o "$W/emu" > "$W/emu.out" 2>&1; then
  if grep -q 'ln2 2/2 ln1qk 2/2 ln1v 2/2 lnf 1/1' "$W/emu.out" && [ "$(grep -c froze "$W/emu.out")" = 7 ]; then
    ok "CUDA trainer: 7 paths frozen on schedule"; else bad "CUDA trainer schedule"; tail -3 "$W/emu.out"; fi
  if r=$(same_losses "$W/cpu/main.log" "$W/emu/main.log"); then ok "CUDA (emulated) vs CPU trainer, 1 rank: $r"
  else bad "CUDA vs CPU trainer losses: $r"; paste "$W/cpu/main.log" "$W/emu/main.log" | head -20; fi
  if grep -q 'MFU n/a' "$W/emu.out"; then ok "MFU line printed (n/a for the emulator)"; else bad "no MFU line"; fi
else bad "CUDA trainer exited non-zero"; tail -5 "$W/emu.out"; fi

if command -v mpirun > /dev/null; then
  if mpirun -np 2 --oversubscribe $EMU "${F[@]}" -b 2 -o "$W/emu2" > "$W/emu2.out" 2>&1; then
    if r=$(same_losses "$W/cpu/main.log" "$W/emu2/main.log"); then ok "CUDA (emulated) 2 ranks with NCCL (-b 2) vs CPU 1 rank (-b 4): $r"
    else bad "2-rank CUDA vs CPU: $r"; fi
  else bad "2-rank CUDA trainer exited non-zero"; tail -5 "$W/emu2.out"; fi
else skipped "2-rank run: mpirun not found"; fi
# a model that does not fit: the emulator's device memory is host memory, so a 1.5 GB
# address-space limit makes GPT-2 small's optimizer state (2 GB in FP32) fail to allocate
expect_error "out of device memory: exit 1 naming size and buffer" 'cudaMalloc of [0-9]* bytes .* for .* failed.*does not fit' \
  bash -c "ulimit -v 1500000; exec $EMU -e d12 -i '$W/train_*.bin' -b 1 -t 64 -d 64 -x 1"

# BF16 checkpoints and exact resume
hdr() { "$PY" -c "import struct,sys; print(*struct.unpack_from('<$2', open(sys.argv[1],'rb').read(), 0))" "$1"; }
if $EMUB "${F[@]}" -b 4 -n 5 -o "$W/bf" > "$W/bf.out" 2>&1; then
  m=$(hdr "$W/bf/model_00000005.bin" ii); s=$(hdr "$W/bf/state_00000005_00000.bin" 12i)
  # state header: [1] version 3, [8..9] moments P, [10..11] master weights P
  if [ "$m" = "20240326 5" ] && [ "$(echo $s | cut -d' ' -f2)" = 3 ] && [ "$(echo $s | cut -d' ' -f9)" -gt 0 ] \
     && [ "$(echo $s | cut -d' ' -f9,10)" = "$(echo $s | cut -d' ' -f11,12)" ]; then
    ok "BF16 checkpoint: v5 model file, version 3 state with $(echo $s | cut -d' ' -f11) master weights"
  else bad "BF16 checkpoint headers: model '$m', state '$s'"; fi
  $EMUB "${F0[@]}" -x 5 -b 4 -n 5 -o "$W/bfs" > "$W/bfs1.out" 2>&1 || bad "BF16 run to step 5 failed"
  if $EMUB "${F0[@]}" -x 10 -b 4 -n 5 -y 1 -o "$W/bfs" > "$W/bfs2.out" 2>&1 && grep -q 'resumed from step 5' "$W/bfs2.out" \
     && cmp -s "$W/bf/main.log" "$W/bfs/main.log" && same_model_body "$W/bf/model_00000010.bin" "$W/bfs/model_00000010.bin"; then
    ok "BF16 resume after step 5: main.log ($(grep -c trl: "$W/bf/main.log") train losses) and step-10 checkpoint's parameters and LN state byte for byte"
  else bad "BF16 resume exactness"; diff "$W/bf/main.log" "$W/bfs/main.log" | head; tail -3 "$W/bfs2.out"; fi
  if $EMU "${F0[@]}" -x 10 -b 4 -n 5 -y 1 -o "$W/bf" > "$W/bf32.out" 2>&1; then bad "FP32 trainer resumed a BF16 checkpoint"
  elif grep -q 'state_00000010_00000.bin: cannot resume.*from a BF16.*this trainer is FP32' "$W/bf32.out"; then ok "FP32 trainer refuses a BF16 checkpoint, naming both"
  else bad "FP32-vs-BF16 refusal message"; tail -3 "$W/bf32.out"; fi
else bad "BF16 trainer exited non-zero"; tail -5 "$W/bf.out"; fi

# --plan 1 counts the V path of a split ln_1 only when the run may split one: vanilla removes
# nothing, so GPT-2 Small on 80 GiB takes 188 sequences (tests/train/plan_figures.py's count
# without the V buffers), paper-b-small 179 (with them: test_plan.cpp's table)
pv=$($EMUB -e d12 --preset vanilla --plan 1 --gpu-mem 80 2>&1); pb=$($EMUB -e d12 --preset paper-b-small --plan 1 --gpu-mem 80 2>&1)
if grep -q 'no ln_1 split in this run' <<<"$pv" && grep -q 'largest micro-batch *188$' <<<"$pv" \
   && grep -q 'largest micro-batch *179$' <<<"$pb" && ! grep -q 'no ln_1 split' <<<"$pb"; then
  ok "--plan 1: vanilla plans 188 sequences of Small on 80 GiB without the V path's buffers, paper-b-small 179 with them"
else bad "--plan 1 and the ln_1 split"; echo "$pv" | grep -E 'activations/seq|largest'; echo "$pb" | grep -E 'activations/seq|largest'; fi

report cuda-train
