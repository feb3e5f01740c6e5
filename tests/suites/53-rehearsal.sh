#!/usr/bin/env bash
# docs/reproduce.md's pipeline end to end on the CPU: scripts/run_paper_b_small.sh
# --cpu-rehearsal (stand-in data from the local corpora, a tiny GPT-2 pretrained as the
# "original", paper-b-small's schedule and optimizer) with its first attempt killed after
# checkpoint 40 so that the resume loop reruns it with -y 1, then the --vanilla control:
# final checkpoints, the LN-free HF export, the evaluation table with all three models and
# paper (b)'s numbers beside them, the loss plot with the published curve overlaid. The
# Slurm example and the wrappers are checked for syntax and for calling the shared script.
# needs: train_gpt2_noln_cpu noln_eval prepare_shards
set -uo pipefail
. tests/lib.sh
O=build/tests/rehearsal
rm -rf "$O"
if NOLN_INTERRUPT_AT=40 scripts/run_paper_b_small.sh --cpu-rehearsal --out "$O" > "$O.lnfree.out" 2>&1; then
  ok "LN-free rehearsal ran"; else bad "LN-free rehearsal failed"; tail -20 "$O.lnfree.out"; fi
grep -q "interrupted the first attempt after checkpoint 40" "$O.lnfree.out" && grep -q "training, attempt 2" "$O.lnfree.out" \
  && grep -q "resumed from step 40" "$O/paper-b-small/train.log" && [ "$(grep -c "training, attempt" "$O.lnfree.out")" = 2 ] && ok "resume loop: attempt 1 killed after checkpoint 40, attempt 2 resumed from it" \
  || bad "resume loop"
[ -f "$O/paper-b-small/model_00000110.bin" ] && [ "$(grep -c '^s:[0-9]* trl:' "$O/paper-b-small/main.log")" -ge 110 ] \
  && grep -q '^s:110 trl:' "$O/paper-b-small/main.log" && ok "final checkpoint model_00000110.bin, every step logged" || bad "final checkpoint"
[ -s "$O/paper-b-small/hf/model.safetensors" ] && grep -q '1e+12\|1000000000000' "$O/paper-b-small/hf/config.json" \
  && ok "LN-free Hugging Face export at the end" || bad "HF export"
grep -q "needs both runs" "$O.lnfree.out" && ok "no table yet: it needs the vanilla control (said so)" || bad "table before vanilla"
if scripts/run_paper_b_small.sh --cpu-rehearsal --vanilla --out "$O" > "$O.vanilla.out" 2>&1; then
  ok "vanilla rehearsal ran"; else bad "vanilla rehearsal failed"; tail -20 "$O.vanilla.out"; fi
cat "$O/paper-b-small-table.txt" 2> /dev/null
T=$O/paper-b-small-table.txt
[ -f "$T" ] && [ "$(grep -cE '^(original|vanilla FT|LN-free FT) +\|' "$T")" = 3 ] && grep -q 'Pile-filtered' "$T" && grep -q 'HellaSwag acc' "$T" \
  && grep -qE '^original +\| +[0-9.]+ +3\.1006 ' "$T" && ok "eval table: 3 models x (OWT, Pile, Pile-filtered, HellaSwag), paper (b) beside" || bad "eval table"
[ "$(grep -cE '^(OpenWebText val|Pile|Pile-filtered) +(original|vanilla FT|LN-free FT) ' "$T")" = 9 ] && ok "per-token statistics: 3 sets x 3 models" || bad "per-token block"
P=$O/paper-b-small-losses.png
[ -s "$P" ] && [ "$(head -c 4 "$P" | tail -c 3)" = PNG ] && grep -q "overlay paper (b) small: 110 steps, 2 eval points" "$O.vanilla.out" \
  && grep -q "removals marked: ln1qk, ln1v, ln2, lnf" "$O.vanilla.out" && ok "plot: both runs, removals marked, paper (b)'s curve to step 110" || bad "plot"
for w in b_small b_medium b_large b_xl a_small; do bash -n "scripts/run_paper_$w.sh" && grep -q 'exec "$(dirname "$0")/run_paper.sh" --preset' "scripts/run_paper_$w.sh" || bad "wrapper $w"; done
ok "the five wrappers parse and call run_paper.sh"
bash -n scripts/run_paper.sbatch && grep -q '^#SBATCH --gpus-per-node=8' scripts/run_paper.sbatch && ok "Slurm example parses" || bad "Slurm example"
expect_error "unknown preset" "unknown preset" scripts/run_paper.sh --preset paper-c
expect_error "GPU run without data says what to run" "prepare_data.sh" scripts/run_paper.sh --preset paper-b-small --model x --data "$O/none"
report rehearsal
