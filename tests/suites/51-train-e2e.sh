#!/usr/bin/env bash
# train_gpt2_noln_cpu end to end on a tiny GPT-2 (d2, C=32, V=64, T=32) and shards written
# here: a full removal run; an interrupted run resumed from its checkpoint must log the
# same losses bit for bit; a resume with other settings is refused; 2 ranks with -b halved
# match 1 rank; -h 1 logs HellaSwag; --export-hf writes (or refuses early); --help and docs/training.md list the same flags; bad flags exit 1.
# needs: train_gpt2_noln_cpu
set -uo pipefail
. tests/lib.sh
export OMP_NUM_THREADS=1
W=build/tests/train/e2e
rm -rf "$W"; mkdir -p "$W"
"$PY" tests/train/make_shards.py "$W" 64 || { bad "make_shards.py"; report trainer; exit 1; }

BIN=./train_gpt2_noln_cpu
COMMON=(-e d2 --width 32 --heads 2 --vocab 64 --max-seq 32 -t 32 -d 256 -i "$W/train_*.bin"
        -j "$W/val_*.bin" -v 4 -m 2 -l 3e-3 -u 2 -q 0.1 --lr-horizon 12 --aux-lambda 0.1
        --remove ln2=2/1,ln1qk=5/1,ln1v=7/1,lnf=10)
trl() { grep ' trl:' "$1/main.log" | sort -u -t: -k2,2n; }

# 1. uninterrupted run: every path freezes, loss falls, checkpoints land
if $BIN "${COMMON[@]}" -b 4 -x 12 -o "$W/full" --export-hf "$W/full/hf" > "$W/full.out" 2>&1; then
  n=$(grep -c ' trl:' "$W/full/main.log")
  first=$(grep '^s:1 trl:' "$W/full/main.log" | cut -d: -f3)
  last=$(grep '^s:12 trl:' "$W/full/main.log" | cut -d: -f3)
  if [ "$n" = 12 ] && grep -q 'ln2 2/2 ln1qk 2/2 ln1v 2/2 lnf 1/1' "$W/full.out" \
     && [ "$(grep -c 'froze' "$W/full.out")" = 7 ] && "$PY" -c "import sys; sys.exit(not float('$last') < float('$first'))"; then
    ok "full run: 12 steps, 7 paths frozen, loss $first -> $last"
  else bad "full run"; tail -5 "$W/full.out"; fi
else bad "full run exited non-zero"; tail -5 "$W/full.out"; fi

if [ -s "$W/full/hf/model.safetensors" ] && grep -q '1e+12\|1000000000000' "$W/full/hf/config.json"; then
  ok "--export-hf wrote an LN-free HF model"; else bad "--export-hf output"; ls "$W/full/hf"; fi
if $BIN "${COMMON[@]}" -b 4 -x 8 --export-hf "$W/nohf" > "$W/nohf.out" 2>&1; then bad "--export-hf with lnf after -x accepted"
elif grep -q -- '--export-hf' "$W/nohf.out" && ! grep -q 'step     1/' "$W/nohf.out"; then ok "--export-hf refused before step 1 when the schedule ends after -x"
else bad "--export-hf early refusal"; cat "$W/nohf.out"; fi

# 2. stop after step 6 (between the ln1qk removals at 5,6 and ln1v at 7), resume to 12
$BIN "${COMMON[@]}" -b 4 -x 6 -n 3 -o "$W/split" > "$W/split1.out" 2>&1
$BIN "${COMMON[@]}" -b 4 -x 12 -n 3 -y 1 -o "$W/split" > "$W/split2.out" 2>&1
if grep -q 'resumed from step 6' "$W/split2.out" && diff <(trl "$W/full") <(trl "$W/split") > "$W/resume.diff"; then
  ok "resume after step 6 reproduces all 12 losses bit for bit"
else bad "resume exactness"; head "$W/resume.diff"; tail -3 "$W/split2.out"; fi

# 3. resume with another schedule is refused, naming the setting
expect_error "resume with another --remove refused" '--remove: checkpoint has' \
  $BIN "${COMMON[@]}" -b 4 -x 12 -n 3 -y 1 -o "$W/split" --remove lnf=11

# 4. two ranks with -b 2 against one rank with -b 4 (same tokens per step)
if command -v mpirun > /dev/null; then
  $BIN "${COMMON[@]}" -b 4 -x 8 --shuffle 0 -o "$W/r1" > "$W/r1.out" 2>&1
  mpirun -np 2 --oversubscribe $BIN "${COMMON[@]}" -b 2 -x 8 --shuffle 0 -o "$W/r2" > "$W/r2.out" 2>&1
  if r=$(same_losses "$W/r1/main.log" "$W/r2/main.log"); then ok "2 ranks (-b 2) match 1 rank (-b 4): $r"
  else bad "2 ranks vs 1 rank: $r"; tail -3 "$W/r2.out"; fi
else skipped "2-rank test: mpirun not found"; fi

# 5. --help and docs/training.md list the same flags
help_flags=$($BIN --help | grep -oE '^  (-[a-z]|--[a-z0-9-]+)' | tr -d ' ' | sort -u)
doc_flags=$(grep -oE '^\| `(-[a-z]|--[a-z0-9-]+)' docs/training.md | sed 's/^| `//' | sort -u)
if [ -n "$help_flags" ] && [ "$help_flags" = "$doc_flags" ]; then ok "--help and docs/training.md list the same $(echo "$help_flags" | wc -l) flags"
else bad "--help vs docs/training.md"; diff <(echo "$help_flags") <(echo "$doc_flags"); fi

# 6. HellaSwag at every validation (-h 1)
if $BIN "${COMMON[@]}" -b 4 -x 2 -v 2 -h 1 --hellaswag "$W/hellaswag.bin" -o "$W/hs" > "$W/hs.out" 2>&1 \
   && [ "$(grep -c '^s:[02] hsa:' "$W/hs/main.log")" = 2 ] && grep -q 'HellaSwag acc_norm [0-9]*/8' "$W/hs.out"; then
  ok "-h 1 logs hsa at steps 0 and 2"; else bad "-h 1"; tail -3 "$W/hs.out"; fi

# 7. retention: -n 1 -nk 2 -nm 3 over 6 steps keeps 5 and 6 (the newest two) and 3 (major)
if $BIN "${COMMON[@]}" -b 4 -x 6 -v 0 -n 1 -nk 2 -nm 3 -o "$W/keep" > "$W/keep.out" 2>&1 \
   && [ "$(cd "$W/keep" && ls DONE_* model_*.bin state_*.bin | tr '\n' ' ')" = "DONE_00000003 DONE_00000005 DONE_00000006 model_00000003.bin model_00000005.bin model_00000006.bin state_00000003_00000.bin state_00000005_00000.bin state_00000006_00000.bin " ]; then
  ok "-nk 2 -nm 3: checkpoints 3, 5 and 6 kept, 1, 2 and 4 deleted"
else bad "-nk/-nm retention"; ls "$W/keep"; tail -3 "$W/keep.out"; fi

# 8. -d not a multiple of B*T*ranks: the nearest that is (96 = 1 x 3 x 32), said in one line
if $BIN -e d2 --width 32 --heads 2 -i "$W/train_*.bin" -x 1 -v 0 -b 3 -t 32 -d 100 --vocab 64 --max-seq 32 \
     > "$W/nearest.out" 2>&1 \
   && [ "$(grep -c 'using the nearest global batch, 96 tokens (1 micro-steps' "$W/nearest.out")" = 1 ] \
   && grep -q '96 tokens/step' "$W/nearest.out"; then ok "-d 100 with -b 3 -t 32: the nearest global batch, 96"
else bad "-d 100 nearest global batch"; tail -3 "$W/nearest.out"; fi
# 9. bad input exits 1 with the flag named
expect_error "-z 2: exit 1, flag named" '-z: 2 is out of range' \
  $BIN -e d2 -i "$W/train_*.bin" -x 5 -z 2

report trainer
