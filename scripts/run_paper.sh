#!/usr/bin/env bash
# One reproduction run of a paper preset, end to end (docs/reproduce.md):
#
#   scripts/run_paper.sh --preset NAME [--vanilla] [--model DIR_OR_BIN] [--data DIR] [--out DIR]
#                        [--cpu-rehearsal] [-- EXTRA TRAINER FLAGS...]
#
# The thin wrappers scripts/run_paper_{b_small,b_medium,b_large,b_xl,a_small}.sh call it with
# their preset and model; --vanilla runs the matching control (every LayerNorm kept).
# Stages: check the data -> train with `mpirun -np ${NGPU:-8} ./train_gpt2_noln` (validation,
# HellaSwag, checkpoints every 50 steps), rerunning with -y 1 after a failure until the run
# exits having written its final checkpoint (at most MAX_TRIES=20 attempts) -> the LN-free
# Hugging Face export (LN-free paper (b) runs) -> the evaluation table (when both the LN-free
# run and its vanilla control are done) -> the loss plot with paper (b)'s published curve.
#
# --cpu-rehearsal: the same stages on the CPU in a couple of minutes: local stand-in data
# (SOTU as OpenWebText, Moby Dick as the Pile sets, a hand-written HellaSwag), a tiny GPT-2
# (2 layers, 64 wide, T=64) pretrained here as the "original", both the LN-free run and the
# vanilla control with the preset's schedule and optimizer on 1,024 tokens per step.
# Environment: NGPU (ranks, default 8; rehearsal 1), MAX_TRIES (20), RETRY_SLEEP (2 s), TRAINER,
# REHEARSAL_STEPS (110: past paper-b-small's last removal, 104), NOLN_INTERRUPT_AT (testing:
# kill the first attempt once checkpoint N is complete, so the resume loop is exercised).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
PY=${PYTHON:-/usr/bin/python3}
preset="" vanilla=0 model="" data=data out="" rehearsal=0 extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --preset) preset=$2; shift 2 ;;
    --vanilla) vanilla=1; shift ;;
    --model) model=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --cpu-rehearsal) rehearsal=1; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_paper: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$preset" ] || { echo "run_paper: --preset is required" >&2; exit 2; }
case $preset in
  paper-b-small|paper-a-small) size=small ;; paper-b-medium) size=medium ;;
  paper-b-large) size=large ;; paper-b-xl) size=xl ;;
  *) echo "run_paper: unknown preset $preset" >&2; exit 2 ;;
esac
tag=$preset$([ $vanilla = 1 ] && echo " vanilla" || true)
say() { echo "run_paper [$tag]: $*"; }

if [ $rehearsal = 1 ]; then
  data=${out:-build/rehearsal}/data
  out=${out:-build/rehearsal}
  NGPU=${NGPU:-1}
  TRAINER=${TRAINER:-./train_gpt2_noln_cpu}
  mkdir -p "$out"
  make -s train_gpt2_noln_cpu noln_eval prepare_shards
  for s in owt pile pile-filtered hellaswag; do
    case $s in
      owt) src=data/assets/sotu; f=$data/owt/owt_val_000000.bin ;;
      pile|pile-filtered) src=data/assets/moby-dick; f=$data/$s/${s//-/_}_val_000000.bin ;;
      hellaswag) src=scripts/rehearsal; f=$data/hellaswag/hellaswag_val.bin ;;
    esac
    [ -f "$f" ] || scripts/prepare_data.sh "$s" --from-dir "$src" --out "$data" > "$out/prepare_$s.log" 2>&1 \
      || { echo "run_paper: preparing $s failed (see $out/prepare_$s.log)" >&2; exit 1; }
  done
  mkdir -p "$out"
  SHAPE=(-t 64 -b 16 -d 1024 -x "${REHEARSAL_STEPS:-110}" -m 4 -v 20 -n 20)
  model=$out/original/model_00000060.bin
  if [ ! -f "$model" ]; then
    say "pretraining the rehearsal's tiny GPT-2 with LayerNorm (the 'original', 60 steps)"
    "$TRAINER" -e d2 --width 64 --heads 2 --max-seq 64 -t 64 -b 16 -d 1024 -x 60 -l 3e-3 -u 10 -v 0 \
      -i "$data/owt/owt_train_*.bin" --vanilla 1 -n 60 -o "$out/original" > "$out/original.log" 2>&1 \
      || { echo "run_paper: pretraining failed (see $out/original.log)" >&2; exit 1; }
  fi
else
  NGPU=${NGPU:-8}
  TRAINER=${TRAINER:-./train_gpt2_noln}
  out=${out:-out}
  SHAPE=(-v 25 -m 20 -n 50)
  [ -n "$model" ] || { echo "run_paper: --model is required (a Hugging Face GPT-2 folder, docs/reproduce.md)" >&2; exit 2; }
fi
for f in "$data/owt/owt_train_000000.bin" "$data/owt/owt_val_000000.bin" "$data/hellaswag/hellaswag_val.bin"; do
  [ -f "$f" ] || { echo "run_paper: $f is missing: run scripts/prepare_data.sh (docs/reproduce.md)" >&2; exit 1; }
done
[ -e "$model" ] || { echo "run_paper: model $model is missing" >&2; exit 1; }

run=$out/$preset$([ $vanilla = 1 ] && echo -vanilla || true)
mkdir -p "$run"
TRAIN=("$TRAINER" -e "$model" --preset "$preset" -i "$data/owt/owt_train_*.bin" -j "$data/owt/owt_val_*.bin"
       -h 1 --hellaswag "$data/hellaswag/hellaswag_val.bin" -o "$run" "${SHAPE[@]}")
[ $vanilla = 1 ] && TRAIN+=(--vanilla 1)
# the LN-free Hugging Face export at the end; paper (a)'s end state (BOS divisors on ln2/lnf,
# erf GELU) has none (docs/training.md)
[ $vanilla = 0 ] && [ "$preset" != paper-a-small ] && TRAIN+=(--export-hf "$run/hf")
TRAIN+=("${extra[@]}")
RUN=("${TRAIN[@]}" -y 1)
if [ "$NGPU" -gt 1 ] || [ $rehearsal = 0 ]; then RUN=(mpirun -np "$NGPU" "${RUN[@]}"); fi

# the automatic-resume loop (llm.c style): every attempt is the same command with -y 1, which
# starts at step 1 when there is no complete checkpoint yet
tries=0
while :; do
  tries=$((tries + 1))
  say "training, attempt $tries (log: $run/train.log)"
  if [ -n "${NOLN_INTERRUPT_AT:-}" ] && [ $tries = 1 ]; then
    "${RUN[@]}" >> "$run/train.log" 2>&1 &
    pid=$!  # the trainer itself (or mpirun, which passes the signal on to its ranks)
    marker=$(printf "%s/DONE_%08d" "$run" "$NOLN_INTERRUPT_AT")
    while kill -0 $pid 2> /dev/null && [ ! -e "$marker" ]; do sleep 0.2; done
    kill $pid 2> /dev/null || true
    wait $pid && rc=0 || rc=$?
    say "testing: interrupted the first attempt after checkpoint $NOLN_INTERRUPT_AT"
    rc=1
  else
    "${RUN[@]}" >> "$run/train.log" 2>&1 && rc=0 || rc=$?
  fi
  [ $rc = 0 ] && break
  [ $tries -ge "${MAX_TRIES:-20}" ] && { echo "run_paper: $tries attempts failed (see $run/train.log)" >&2; exit 1; }
  say "attempt $tries stopped (status $rc); resuming from the newest checkpoint"
  sleep "${RETRY_SLEEP:-2}"
done
last=$(ls "$run"/DONE_* | sort | tail -1)
final=$run/model_${last##*DONE_}.bin
say "done: final checkpoint $final"

# the table needs both runs of the pair; the plot draws whichever exist
lnfree=$out/$preset vanilla_run=$out/$preset-vanilla
pick() { local d=$1; local m; m=$(ls "$d"/DONE_* 2> /dev/null | sort | tail -1) || true; [ -n "$m" ] && echo "$d/model_${m##*DONE_}.bin"; }
L=$(pick "$lnfree" || true) V=$(pick "$vanilla_run" || true)
plot=("$lnfree"); labels=ln-free
[ -n "$V" ] && { plot+=("$vanilla_run"); labels+=",vanilla"; }
[ -n "$L" ] || plot=("$vanilla_run") labels=vanilla
xmax=()
[ $rehearsal = 1 ] && xmax=(--xmax "${REHEARSAL_STEPS:-110}")
"$PY" scripts/plot_losses.py "${plot[@]}" --labels "$labels" --overlay "$size" "${xmax[@]}" \
  --title "$preset: ours vs paper (b)'s published LN-free run" -o "$out/$preset-losses.png"
if [ -n "$L" ] && [ -n "$V" ]; then
  ev=(-b 8 -t 1024)
  [ $rehearsal = 1 ] && ev=(-b 16 -t 64 --max-batches 20)
  "$PY" scripts/eval_table.py --model "$size" --paper "$([ "$preset" = paper-a-small ] && echo a || echo b)" \
    --original "$model" --vanilla "$V" --lnfree "$L" \
    --owt "$data/owt/owt_val_*.bin" --pile "$data/pile/pile_val_*.bin" \
    --pile-filtered "$data/pile-filtered/pile_filtered_val_*.bin" --hellaswag "$data/hellaswag/hellaswag_val.bin" \
    --gelu "$([ "$preset" = paper-a-small ] && echo erf || echo tanh)" \
    "${ev[@]}" --json "$out/$preset-table.json" | tee "$out/$preset-table.txt"
else
  say "the evaluation table needs both runs: run the $([ -n "$L" ] && echo "--vanilla control" || echo "LN-free run") too"
fi
