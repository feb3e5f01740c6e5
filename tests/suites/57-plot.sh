#!/usr/bin/env bash
# scripts/plot_losses.py on two synthetic runs written here (main.log + the trainer's
# main.jsonl shapes): a PNG is written, the freeze events are found, and bad input
# (a missing run, a log without loss lines) exits non-zero naming the file. --overlay draws
# paper (b)'s published curves (scripts/published/): the row counts of its README, published
# step g at our step g+1 (checked with --xmax), and a hand-written CSV; bad CSVs are refused.
# needs:
set -uo pipefail
. tests/lib.sh
dir=build/tests/eval/tmp/plot
rm -rf "$dir" && mkdir -p "$dir/van" "$dir/lnf" "$dir/empty"
for s in $(seq 1 60); do
  echo "s:$s trl:$(echo "5 - $s/30" | bc -l)" >> "$dir/van/main.log"
  echo "s:$s trl:$(echo "5.1 - $s/30" | bc -l)" >> "$dir/lnf/main.log"
  [ $((s % 10)) -eq 0 ] && echo "s:$s tel:$(echo "5.2 - $s/30" | bc -l)" >> "$dir/van/main.log"
  echo "{\"step\":$s,\"ce\":1.0,\"ln2\":[[0,1],[0,1]],\"lnf\":[[0,1]]}" >> "$dir/lnf/main.jsonl"
done
echo '{"step":12,"event":"freeze","path":"ln2","layer":0,"sigma":1.5,"sigma_bos":1}' >> "$dir/lnf/main.jsonl"
echo '{"step":40,"event":"freeze","path":"lnf","layer":0,"sigma":3,"sigma_bos":1}' >> "$dir/lnf/main.jsonl"
echo "garbage" > "$dir/empty/main.log"

out=$("$PY" scripts/plot_losses.py "$dir/van" "$dir/lnf" --labels vanilla,ln-free -o "$dir/x.png" 2>&1)
if [ $? -eq 0 ] && [ -s "$dir/x.png" ] && [ "$(head -c 4 "$dir/x.png" | tail -c 3)" = "PNG" ]; then
  ok "PNG written"; else bad "no PNG: $out"; fi
if [[ "$out" == *"removals marked: ln2, lnf"* ]]; then ok "freeze events found (ln2, lnf)"
else bad "freeze events not found: $out"; fi
expect_error "missing run named" "nope/main.log: missing" "$PY" scripts/plot_losses.py "$dir/nope" -o "$dir/y.png"
expect_error "log without loss lines named" "empty/main.log: no" "$PY" scripts/plot_losses.py "$dir/empty" -o "$dir/y.png"
[ ! -e "$dir/y.png" ] && ok "no PNG left by a failed run" || bad "a failed run left y.png"
# --overlay: paper (b)'s published Small curve under the two runs
out=$("$PY" scripts/plot_losses.py "$dir/van" "$dir/lnf" --overlay small -o "$dir/o.png" 2>&1)
if [ $? -eq 0 ] && [ -s "$dir/o.png" ] && [[ "$out" == *"overlay paper (b) small: 301 steps, 4 eval points"* ]]; then
  ok "overlay small: 301 steps, 4 eval points"; else bad "overlay small: $out"; fi
# published eval points at global steps 0, 100, 200, 300 are drawn at 1, 101, 201, 301
out=$("$PY" scripts/plot_losses.py "$dir/van" --overlay small --xmax 101 -o "$dir/o2.png" 2>&1)
[[ "$out" == *"101 steps, 2 eval points"* ]] && ok "overlay --xmax 101: steps 1..101, evals at 1 and 101" || bad "overlay --xmax: $out"
out=$("$PY" scripts/plot_losses.py "$dir/van" --overlay small --xmax 100 -o "$dir/o2.png" 2>&1)
[[ "$out" == *"100 steps, 1 eval points"* ]] && ok "overlay --xmax 100: the step-100 eval (our 101) is cut" || bad "overlay --xmax 100: $out"
for m in medium:501:6 large:909:6 xl:1200:0; do
  IFS=: read -r name rows evals <<< "$m"
  out=$("$PY" scripts/plot_losses.py "$dir/van" --overlay "$name" -o "$dir/o3.png" 2>&1)
  [[ "$out" == *"$rows steps, $evals eval points"* ]] && ok "overlay $name: $rows rows, $evals evals (as its README says)" || bad "overlay $name: $out"
  grep -q "paper_b_$name.csv\` | $rows |" scripts/published/README.md && ok "README row for $name" || bad "README row for $name"
done
printf 'step,train_loss,train_loss_min,train_loss_max,eval_loss\n0,4,3.9,4.1,4.5\n1,3.5,3.4,3.6,\n2,3,2.9,3.1,\n' > "$dir/mine.csv"
out=$("$PY" scripts/plot_losses.py "$dir/van" --overlay "$dir/mine.csv" -o "$dir/o4.png" 2>&1)
[[ "$out" == *"overlay mine.csv: 3 steps, 1 eval points"* ]] && ok "overlay of a hand-written CSV" || bad "own CSV: $out"
printf 'step,loss\n0,4\n' > "$dir/badhdr.csv"
expect_error "overlay CSV with another header" "badhdr.csv: header" "$PY" scripts/plot_losses.py "$dir/van" --overlay "$dir/badhdr.csv" -o "$dir/y.png"
expect_error "unknown overlay name" "overlay huge" "$PY" scripts/plot_losses.py "$dir/van" --overlay huge -o "$dir/y.png"
report plot
