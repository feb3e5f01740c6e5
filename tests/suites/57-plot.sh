#!/usr/bin/env bash
# scripts/plot_losses.py on two synthetic runs written here (main.log + the trainer's
# main.jsonl shapes): a PNG is written, the freeze events are found, and bad input
# (a missing run, a log without loss lines) exits non-zero naming the file.
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
report plot
