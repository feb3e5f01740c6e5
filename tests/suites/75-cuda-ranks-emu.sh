#!/usr/bin/env bash
# Several ranks of the CUDA trainer, emulated, real MPI. ZeRO-1 (-z 1): on the tiny config of suite 72 (d2,
# C=32, V=64, T=16, 128 tokens per step, aux loss, a removal schedule that splits QKV at
# steps 4-5), FP32 runs on 2 and 4 ranks with -z 1 and -z 0 log the losses of the 1-rank run
# (every train and val loss, 10 steps, within 1e-5 relative: the ranks' sums and the
# sharded gradient norm add in another order). BF16 -z 1 on 2 ranks stopped after step 5 and
# resumed writes main.log, the step-10 model and both ranks' state files byte for byte (all but the run id and checksums) as
# the uninterrupted run; each state file holds only its rank's shard; a resume on another
# number of ranks is refused, saying so. Recompute: FP32 -r 1 and -r 2, BF16 -r 2 log -r 0's
# main.log byte for byte (1 rank, 2 micro-steps per step). Faults: rank 1 alone fails (its cudaMalloc, under
# an address-space limit) while rank 0 goes on to the first collective: rank 1 prints its
# message and aborts the job, so both end (within 30 s, under `timeout 60`) with exit 1.
# needs: build/cuda/train_gpt2_noln_emu_fp32 build/cuda/train_gpt2_noln_emu_bf16
set -uo pipefail
. tests/lib.sh
export OMP_NUM_THREADS=1
W=build/tests/cuda-ranks
rm -rf "$W"; mkdir -p "$W"
EMU=build/cuda/train_gpt2_noln_emu_fp32 EMUB=build/cuda/train_gpt2_noln_emu_bf16
command -v mpirun > /dev/null || { skipped "ZeRO-1: mpirun not found"; report cuda-ranks; exit 0; }
"$PY" tests/train/make_shards.py "$W" 64 > /dev/null || { bad "make_shards.py"; report cuda-ranks; exit 1; }
F0=(-e d2 --width 32 --heads 2 --vocab 64 --max-seq 16 -t 16 -d 128 -i "$W/train_*.bin" -j "$W/val_*.bin"
   -v 5 -m 2 -l 3e-3 -u 2 -q 0.1 --lr-horizon 10 --aux-lambda 0.1 --shuffle 0
   --remove ln2=2/1,ln1qk=4/1,ln1v=6/1,lnf=8)
F=("${F0[@]}" -x 10)
mp() { local n=$1; shift; mpirun -np "$n" --oversubscribe "$@"; }

$EMU "${F[@]}" -b 4 -o "$W/r1" > "$W/r1.out" 2>&1 || { bad "1-rank FP32 run failed"; tail -3 "$W/r1.out"; }
for run in "2 0 2" "2 1 2" "4 0 1" "4 1 1"; do
  set -- $run  # ranks, -z, -b
  if mp $1 $EMU "${F[@]}" -b $3 -z $2 -o "$W/n$1z$2" > "$W/n$1z$2.out" 2>&1; then
    if r=$(same_losses "$W/r1/main.log" "$W/n$1z$2/main.log" 1e-5) && [ "$(grep -c froze "$W/n$1z$2.out")" = 7 ]; then
      ok "FP32 $1 ranks -z $2 (-b $3) vs 1 rank (-b 4), 7 paths frozen: $r"
    else bad "FP32 $1 ranks -z $2: $r"; fi
  else bad "FP32 $1 ranks -z $2 exited non-zero"; tail -3 "$W/n$1z$2.out"; fi
done

# -r 1 (GELU recomputed in the backward) and -r 2 (also the LN outputs, through the split
# ln_1 of steps 4-5 and the frozen paths) are the same arithmetic: main.log byte for byte,
# -b 4 of -d 128 so two micro-steps accumulate
recompute_same() {  # recompute_same LABEL BINARY REF_DIR -r
  if "$2" "${F[@]}" -b 4 -r $4 -o "$W/$1r$4" > "$W/$1r$4.out" 2>&1 && cmp -s "$3/main.log" "$W/$1r$4/main.log"; then
    ok "$1 -r $4 vs -r 0: main.log ($(grep -c trl: "$3/main.log") train losses) byte for byte"
  else bad "$1 -r $4 vs -r 0"; diff "$3/main.log" "$W/$1r$4/main.log" | head -4; tail -3 "$W/$1r$4.out"; fi
}
recompute_same FP32 $EMU "$W/r1" 1
recompute_same FP32 $EMU "$W/r1" 2
$EMUB "${F[@]}" -b 4 -o "$W/b1" > "$W/b1.out" 2>&1 || { bad "1-rank BF16 run failed"; tail -3 "$W/b1.out"; }
recompute_same BF16 $EMUB "$W/b1" 2

for n in 2 4; do
  if r=$(same_losses "$W/n${n}z0/main.log" "$W/n${n}z1/main.log" 1e-5); then ok "FP32 $n ranks: -z 1 vs -z 0: $r"
  else bad "FP32 $n ranks -z 1 vs -z 0: $r"; fi
done

# BF16 -z 1 on 2 ranks: stop after step 5 and resume
state_values() { "$PY" -c "import struct,sys; h=struct.unpack_from('<12i', open(sys.argv[1],'rb').read()); print(h[8] + (h[9] << 32))" "$1"; }
if mp 2 $EMUB "${F[@]}" -b 2 -z 1 -n 5 -o "$W/bf" > "$W/bf.out" 2>&1; then
  mp 2 $EMUB "${F0[@]}" -x 5 -b 2 -z 1 -n 5 -o "$W/bfs" > "$W/bfs1.out" 2>&1 || bad "BF16 -z 1 run to step 5 failed"
  if mp 2 $EMUB "${F0[@]}" -x 10 -b 2 -z 1 -n 5 -y 1 -o "$W/bfs" > "$W/bfs2.out" 2>&1 && grep -q 'resumed from step 5' "$W/bfs2.out" \
     && cmp -s "$W/bf/main.log" "$W/bfs/main.log" && same_model_body "$W/bf/model_00000010.bin" "$W/bfs/model_00000010.bin" \
     && same_state_body "$W/bf/state_00000010_00000.bin" "$W/bfs/state_00000010_00000.bin" \
     && same_state_body "$W/bf/state_00000010_00001.bin" "$W/bfs/state_00000010_00001.bin"; then
    ok "BF16 -z 1, 2 ranks, resumed after step 5: main.log, model and both state files byte for byte (but the run id and checksums)"
  else bad "BF16 -z 1 resume exactness"; diff "$W/bf/main.log" "$W/bfs/main.log" | head; tail -3 "$W/bfs2.out"; fi
  # the shards: each rank's file holds ceil(P/2) or the rest of the moments, where
  # P = Vp*C + maxT*C + L*(12C^2 + 13C) + 2C = 128*32 + 16*32 + 2*(12288 + 416) + 64 = 30080
  P=30080
  s0=$(state_values "$W/bf/state_00000010_00000.bin"); s1=$(state_values "$W/bf/state_00000010_00001.bin")
  if [ -n "$P" ] && [ "$s0" = $(( (P + 1) / 2 )) ] && [ "$s1" = $(( P - (P + 1) / 2 )) ]; then
    ok "-z 1 state files hold the shards: $s0 + $s1 of $P values"
  else bad "-z 1 state sizes: rank 0 '$s0', rank 1 '$s1', P '$P'"; fi
  expect_error "-z 1 resume on 1 rank of a 2-rank checkpoint: refused" 'resume with the same number of ranks' \
    $EMUB "${F0[@]}" -x 10 -b 4 -z 1 -n 5 -y 1 -o "$W/bf"
else bad "BF16 -z 1 2-rank run exited non-zero"; tail -3 "$W/bf.out"; fi

# rank 1 out of device memory; rank 0 would wait for it forever in its first all-reduce
t0=$(date +%s)
timeout 60 mpirun -np 2 --oversubscribe bash -c 'if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then ulimit -v 1500000; fi
  exec "$0" "$@"' $EMU -e d12 --vocab 64 -i "$W/train_*.bin" -b 1 -t 64 -d 128 -x 2 > "$W/fault.out" 2>&1
rc=$?; dt=$(( $(date +%s) - t0 ))
if [ $rc != 0 ] && [ $rc != 124 ] && [ $dt -lt 30 ] \
   && grep -q 'train_gpt2_noln (rank 1): GPT2CUDA: cudaMalloc .* failed' "$W/fault.out"; then
  ok "rank 1 out of memory ends both ranks in ${dt} s (exit $rc) with rank 1's message"
else bad "rank 1's failure: exit $rc after ${dt} s (124: rank 0 hung)"; tail -5 "$W/fault.out"; fi

report cuda-ranks
