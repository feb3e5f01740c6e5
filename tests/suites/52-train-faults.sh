#!/usr/bin/env bash
# Faults (docs/training.md "Faults", "The output folder"), on a tiny GPT-2 (d2, C=32, V=64,
# T=32) and shards written here:
# 1. under mpirun, one rank failing - a bad shard only rank 1 reads, rank 1's shard cut short
#    mid-run, rank 1's state file damaged at -y 1, -o naming a file, a full disk while rank 0
#    writes the model - ends the whole job within 30 s with that rank's message (the
#    emulated CUDA trainer too); one rank's damaged checkpoint makes every rank fall back;
# 2. a second trainer on the same -o is refused naming the first, which finishes unaffected;
# 3. a full disk (a small tmpfs, when this machine lets us mount one) and `ulimit -f` during
#    checkpoint and log writes: a clear error, exit 1, no temporary file left;
# 4. a run killed with kill -9 at random points (at least 20 kills), resumed each time,
#    ends with main.log byte for byte the uninterrupted run's (every step once) and the same
#    final parameters; orphaned temporary files are removed on start;
# 5. a checkpoint whose model file comes from another run is skipped: resume falls back to
#    the previous one, saying so.
# needs: train_gpt2_noln_cpu build/cuda/train_gpt2_noln_emu_fp32
set -uo pipefail
. tests/lib.sh
export OMP_NUM_THREADS=1
W=build/tests/train/faults
rm -rf "$W"; mkdir -p "$W"
BIN=./train_gpt2_noln_cpu EMU=build/cuda/train_gpt2_noln_emu_fp32
"$PY" tests/train/make_shards.py "$W" 64 > /dev/null || { bad "make_shards.py"; report faults; exit 1; }
C=(-e d2 --width 32 --heads 2 --vocab 64 --max-seq 32 -t 32 -v 0 -l 3e-3 -u 2 -q 0.1 --lr-horizon 40
   --remove ln2=2/1,ln1qk=5/1,ln1v=7/1,lnf=10)
C1=("${C[@]}" -b 4 -d 256 -i "$W/train_*.bin")   # one rank
C2=("${C[@]}" -b 2 -d 256)                         # each of two ranks (-i per rank)
MPI=(mpirun -np 2 --oversubscribe)
ONE=(mpirun --oversubscribe -np 1)  # "${ONE[@]}" CMD0... : -np 1 CMD1...: one rank each, own flags
mkdir -p "$W/r1" "$W/bad"
cp "$W"/train_*.bin "$W/r1/"
head -c 3000 "$W/train_000.bin" > "$W/bad/train_000.bin"   # a shard cut short

# ---- 1. one failing rank ends the job ----
if command -v mpirun > /dev/null; then
  ends_promptly "mpirun: a bad shard only rank 1 reads ends both ranks" 'rank 1.*bad/train_000.bin' \
    "${ONE[@]}" $BIN "${C2[@]}" -x 50 -i "$W/train_*.bin" : -np 1 $BIN "${C2[@]}" -x 50 -i "$W/bad/train_*.bin"
  ends_promptly "emulated CUDA trainer, mpirun: a bad shard only rank 1 reads ends both ranks" 'rank 1.*bad/train_000.bin' \
    "${ONE[@]}" $EMU "${C2[@]}" -x 50 -i "$W/train_*.bin" : -np 1 $EMU "${C2[@]}" -x 50 -i "$W/bad/train_*.bin"

  # rank 1's shards are cut short while the job runs (after rank 0 logged step 3)
  ( for _ in $(seq 300); do grep -q '^s:3 ' "$W/cut/main.log" 2> /dev/null && break; sleep 0.05; done
    truncate -s 1100 "$W"/r1/train_00*.bin ) &
  ends_promptly "mpirun: rank 1's shard cut short mid-run ends both ranks" 'rank 1.*r1/train_00[01].bin: .*\(past the end\|truncated\)' \
    "${ONE[@]}" $BIN "${C2[@]}" -x 100000 -o "$W/cut" -i "$W/train_*.bin" : -np 1 $BIN "${C2[@]}" -x 100000 -o "$W/cut" -i "$W/r1/train_*.bin"
  wait
  grep -q '^s:3 ' "$W/cut/main.log" 2> /dev/null || bad "the cut-short case never reached step 3"

  # -y 1 with rank 1's newest state file damaged: every rank falls back; all damaged: every rank stops
  "${MPI[@]}" $BIN "${C2[@]}" -i "$W/train_*.bin" -x 4 -n 2 -o "$W/y1" > "$W/y1.out" 2>&1
  printf 'xx' | dd of="$W/y1/state_00000004_00001.bin" bs=1 seek=3000 conv=notrunc 2> /dev/null
  if out=$(timeout -k 5 30 "${MPI[@]}" $BIN "${C2[@]}" -i "$W/train_*.bin" -x 6 -n 2 -y 1 -o "$W/y1" 2>&1) \
     && grep -q 'skipping the checkpoint of step 4: rank 1: .*state_00000004_00001.bin: checksum mismatch' <<< "$out" \
     && grep -q 'resumed from step 2' <<< "$out"; then ok "mpirun -y 1: rank 1's damaged state file: both ranks fall back to step 2"
  else bad "mpirun -y 1 fallback on one rank's damage"; echo "$out" | tail -5; fi
  printf 'xx' | dd of="$W/y1/state_00000002_00001.bin" bs=1 seek=3000 conv=notrunc 2> /dev/null
  printf 'xx' | dd of="$W/y1/state_00000004_00001.bin" bs=1 seek=3000 conv=notrunc 2> /dev/null
  printf 'xx' | dd of="$W/y1/state_00000006_00001.bin" bs=1 seek=3000 conv=notrunc 2> /dev/null
  ends_promptly "mpirun -y 1: every checkpoint damaged on rank 1: both ranks stop" 'no intact checkpoint' \
    "${MPI[@]}" $BIN "${C2[@]}" -i "$W/train_*.bin" -x 8 -n 2 -y 1 -o "$W/y1"

  touch "$W/afile"
  ends_promptly "mpirun: -o naming a file ends both ranks" "$W/afile" \
    "${MPI[@]}" $BIN "${C2[@]}" -i "$W/train_*.bin" -x 4 -n 2 -o "$W/afile"

  # a full disk (a 100 KiB tmpfs) while rank 0 writes the 122 KiB model file of step 2 (not
  # `ulimit -f`: Open MPI's own shared-memory files would exceed it during MPI_Init)
  mkdir -p "$W/tmpfs2"
  if mount -t tmpfs -o size=100k tmpfs "$W/tmpfs2" 2> /dev/null; then
    ends_promptly "mpirun: the disk fills while rank 0 writes the model: both ranks stop" 'rank 0: .*model_00000002.bin: write failed: No space left' \
      "${MPI[@]}" $BIN "${C2[@]}" -i "$W/train_*.bin" -x 4 -n 2 -o "$W/tmpfs2/run"
    if ls "$W"/tmpfs2/run/*.tmp.* > /dev/null 2>&1; then bad "temporary files left"; ls "$W/tmpfs2/run"
    else ok "no temporary file left in -o"; fi
    umount "$W/tmpfs2"
  else skipped "full disk under mpirun: cannot mount a tmpfs here"; skipped "(its temporary files)"; fi
else skipped "mpirun not found: the 8 multi-rank cases"; fi

# ---- 2. two trainers on one -o ----
$BIN "${C1[@]}" -x 300 -n 20 -o "$W/two" > "$W/two1.out" 2>&1 &
first=$!
for _ in $(seq 200); do [ -s "$W/two/LOCK" ] && break; sleep 0.02; done
expect_error "a second trainer on the same -o is refused, naming the first" "in use by the trainer with pid $first on host" \
  $BIN "${C1[@]}" -x 300 -n 20 -o "$W/two"
if wait $first && [ "$(grep -c ' trl:' "$W/two/main.log")" = 300 ] && [ "$(sort -u "$W/two/main.log" | wc -l)" = 300 ] \
   && [ ! -e "$W/two/LOCK" ]; then ok "the first trainer finished unaffected: 300 steps logged once, lock released"
else bad "the first trainer was disturbed"; tail -3 "$W/two1.out"; fi

# ---- 3. a full disk and a file size limit ----
# `ulimit -f` in 1 KiB blocks; the output goes through a pipe, which the limit does not cover
limited() { local kb=$1; shift; ( ulimit -f "$kb"; exec "$@" ) 2>&1 | cat; return "${PIPESTATUS[0]}"; }
out=$(limited 200 $BIN "${C1[@]}" -x 4 -n 2 -o "$W/fsz"); rc=$?
if [ $rc = 1 ] && grep -q 'state_00000002_00000.bin: write failed: File too large' <<< "$out" \
   && ! ls "$W"/fsz/*.tmp.* > /dev/null 2>&1 && [ ! -e "$W/fsz/DONE_00000002" ]; then
  ok "ulimit -f during a checkpoint: exit 1 'File too large', no temporary file, no DONE"
else bad "ulimit -f during a checkpoint (exit $rc)"; echo "$out" | tail -3; ls "$W/fsz"; fi
out=$(limited 4 $BIN "${C1[@]}" -x 100 -o "$W/fszlog"); rc=$?
if [ $rc = 1 ] && grep -q 'main.jsonl: cannot write the log: File too large' <<< "$out"; then
  ok "ulimit -f during log writes: exit 1 naming main.jsonl"
else bad "ulimit -f during log writes (exit $rc)"; echo "$out" | tail -3; fi
mnt="$W/tmpfs"; mkdir -p "$mnt"
if mount -t tmpfs -o size=160k tmpfs "$mnt" 2> /dev/null; then
  out=$($BIN "${C1[@]}" -x 4 -n 2 -o "$mnt/run" 2>&1); rc=$?
  if [ $rc = 1 ] && grep -q 'No space left on device' <<< "$out" && ! ls "$mnt"/run/*.tmp.* > /dev/null 2>&1; then
    ok "full disk during a checkpoint: exit 1 'No space left on device', no temporary file"
  else bad "full disk during a checkpoint (exit $rc)"; echo "$out" | tail -3; fi
  rm -rf "$mnt/run"; head -c 150k /dev/zero > "$mnt/filler" 2> /dev/null
  out=$($BIN "${C1[@]}" -x 200 -o "$mnt/run" 2>&1); rc=$?
  if [ $rc = 1 ] && grep -q 'cannot write the log: No space left on device' <<< "$out"; then
    ok "full disk during log writes: exit 1 naming the log"
  else bad "full disk during log writes (exit $rc)"; echo "$out" | tail -3; fi
  umount "$mnt"
else skipped "full-disk cases: cannot mount a tmpfs here (not root, or no permission)"; skipped "full disk during log writes"; fi

# ---- 4. kill -9 at random points, resume each time ----
# Long enough that 22 kills land before the run can finish, on a fast idle machine too: a
# try progresses about (sleep - start-up) / step time, some 30-60 steps of ~1-2.5 ms here,
# so 22 tries cover at most ~1300 of the 2000 steps (with -x 200 an idle machine finished the
# run after a few tries and the later kills found no process). -n 10: 200 checkpoints, ~75 MB.
K=(-x 2000 -n 10)
$BIN "${C1[@]}" "${K[@]}" -o "$W/ref" > "$W/ref.out" 2>&1 || bad "reference run failed"
kills=0 tries=0 RANDOM=11
while [ $kills -lt 22 ] && [ $tries -lt 80 ]; do
  tries=$((tries + 1))
  $BIN "${C1[@]}" "${K[@]}" -y 1 -o "$W/kill" >> "$W/kill.out" 2>&1 &
  pid=$!
  sleep "0.$(printf '%03d' $((10 + RANDOM % 190)))"
  if kill -9 $pid 2> /dev/null; then kills=$((kills + 1)); fi
  wait $pid 2> /dev/null
done
ln -sf "model_00000002.bin.tmp.$pid" "$W/kill/dangling.tmp.x"  # not ours: not a pid name
echo partial > "$W/kill/state_00000002_00000.bin.tmp.$pid"    # the last killed process's
if $BIN "${C1[@]}" "${K[@]}" -y 1 -o "$W/kill" > "$W/kill-last.out" 2>&1 \
   && cmp -s "$W/ref/main.log" "$W/kill/main.log" \
   && same_model_body "$W/ref/model_00002000.bin" "$W/kill/model_00002000.bin"; then
  ok "$kills kills with kill -9 at random points: main.log byte for byte the uninterrupted run's, same final model"
else bad "kill -9 loop ($kills kills): resume not exact"; diff "$W/ref/main.log" "$W/kill/main.log" | head -5; tail -3 "$W/kill-last.out"; fi
[ $kills -ge 20 ] || bad "only $kills kills landed (of $tries runs)"
if grep -q "removed .*state_00000002_00000.bin.tmp.$pid, left by pid $pid (not running)" "$W/kill-last.out" \
   && ! ls "$W"/kill/*.bin.tmp.* > /dev/null 2>&1; then ok "orphaned temporary files removed on start, saying so"
else bad "orphaned temporary files"; ls "$W/kill" | grep tmp; fi

# ---- 5. a mixed pair: the model file of another run ----
$BIN "${C1[@]}" -x 6 -n 2 -o "$W/mixa" > /dev/null 2>&1 && $BIN "${C1[@]}" -x 6 -n 2 --seed 7 -o "$W/mixb" > /dev/null 2>&1
cp "$W/mixb/model_00000006.bin" "$W/mixa/model_00000006.bin"
out=$($BIN "${C1[@]}" -x 6 -n 2 -y 1 -o "$W/mixa" 2>&1)
if grep -q 'skipping the checkpoint of step 6: .*model_00000006.bin and .*state_00000006_00000.bin are not one checkpoint' <<< "$out" \
   && grep -q 'fell back to the checkpoint of step 4' <<< "$out" && ! grep -q 'no complete checkpoint' <<< "$out" && diff <(head -6 "$W/ref/main.log") "$W/mixa/main.log" > /dev/null; then
  ok "a model file from another run: refused, resume falls back to step 4 and redoes 5-6 exactly"
else bad "mixed pair fallback"; echo "$out" | head -5; fi

report faults
