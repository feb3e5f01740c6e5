#!/usr/bin/env bash
# LN-free export round trip: C++ writes HF exports of a tiny random model plus the engine's
# logits; scripts/check_export.py loads each export into its own PyTorch GPT-2 (HF's
# LayerNorm, eps 1e12) and compares logits, tolerance 1e-4 x max|logit| (measured: ~4e-6).
# A reference from a model with one divisor 2% off must be rejected. The exact folded
# export (eval/export_folded.h) of the same model, with and without a split ln_1, is checked
# the same way with --folded: as stock HF runs it and with no LayerNorm at all.
# needs: build/tests/eval/export_roundtrip
set -uo pipefail
. tests/lib.sh
dir=build/tests/eval/tmp/roundtrip
rm -rf "$dir" && mkdir -p "$dir"
if ! build/tests/eval/export_roundtrip "$dir"; then
  bad "export_roundtrip could not write the exports"; report roundtrip; exit 1
fi
for c in plain fold; do
  if "$PY" scripts/check_export.py "$dir/$c" --ref "$dir/$c.ref" --tol 1e-4; then
    ok "$c export matches the engine's logits"
  else bad "$c export does not match the engine's logits"; fi
done
for c in folded folded_split; do
  if "$PY" scripts/check_export.py "$dir/$c" --ref "$dir/$c.ref" --tol 1e-4 --folded; then
    ok "$c export matches the engine's logits, with and without LayerNorm modules"
  else bad "$c export does not match the engine's logits"; fi
done
if "$PY" scripts/check_export.py "$dir/folded" --ref "$dir/wrong.ref" --tol 1e-4 --folded >/dev/null 2>&1; then
  bad "check_export.py --folded accepted logits of a different model"
else ok "check_export.py --folded rejects logits of a model with one sigma 2% off"; fi
expect_error "a folded export read as a tied one is refused" "lm_head.weight differs" \
  "$PY" scripts/check_export.py "$dir/folded" --ref "$dir/folded.ref"
expect_error "--folded on an eps-trick export is refused" "not a folded export" \
  "$PY" scripts/check_export.py "$dir/plain" --ref "$dir/plain.ref" --folded
if "$PY" scripts/check_export.py "$dir/plain" --ref "$dir/wrong.ref" --tol 1e-4 >/dev/null 2>&1; then
  bad "check_export.py accepted logits of a different model"
else ok "check_export.py rejects logits of a model with one sigma 2% off"; fi
# bad input: a truncated reference and a missing export get an error, not a pass
head -c 100 "$dir/plain.ref" > "$dir/trunc.ref"
expect_error "truncated reference named in the error" "trunc.ref" "$PY" scripts/check_export.py "$dir/plain" --ref "$dir/trunc.ref"
expect_error "missing export reported" "missing" "$PY" scripts/check_export.py "$dir/nothing"
report roundtrip
