#!/usr/bin/env bash
# LN-free export round trip: C++ writes HF exports of a tiny random model plus the engine's
# logits; scripts/check_export.py loads each export into its own PyTorch GPT-2 (HF's
# LayerNorm, eps 1e12) and compares logits, tolerance 1e-4 x max|logit| (measured: ~4e-6).
# A reference from a model with one divisor 2% off must be rejected.
set -uo pipefail
PY=${PYTHON:-/usr/bin/python3}
dir=build/tests/eval/tmp/roundtrip
rm -rf "$dir" && mkdir -p "$dir"
pass=0; failed=0
ok() { echo "ok: $1"; pass=$((pass+1)); }
bad() { echo "FAILED: $1"; failed=$((failed+1)); }
if ! build/tests/eval/export_roundtrip "$dir"; then
  bad "export_roundtrip could not write the exports"
  echo "$pass passed, $failed failed"; exit 1
fi
for c in plain fold; do
  if "$PY" scripts/check_export.py "$dir/$c" --ref "$dir/$c.ref" --tol 1e-4; then
    ok "$c export matches the engine's logits"
  else bad "$c export does not match the engine's logits"; fi
done
if "$PY" scripts/check_export.py "$dir/plain" --ref "$dir/wrong.ref" --tol 1e-4 >/dev/null 2>&1; then
  bad "check_export.py accepted logits of a different model"
else ok "check_export.py rejects logits of a model with one sigma 2% off"; fi
# bad input: a truncated reference and a missing export get an error, not a pass
head -c 100 "$dir/plain.ref" > "$dir/trunc.ref"
out=$("$PY" scripts/check_export.py "$dir/plain" --ref "$dir/trunc.ref" 2>&1)
if [ $? -ne 0 ] && [[ "$out" == *"trunc.ref"* ]]; then ok "truncated reference named in the error"
else bad "truncated reference not reported: $out"; fi
out=$("$PY" scripts/check_export.py "$dir/nothing" 2>&1)
if [ $? -ne 0 ] && [[ "$out" == *"missing"* ]]; then ok "missing export reported"
else bad "missing export not reported: $out"; fi
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
