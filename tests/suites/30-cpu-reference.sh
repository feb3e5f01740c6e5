#!/usr/bin/env bash
# The CPU GPT-2 against an independent PyTorch GPT-2 (scripts/torch_gpt2.py) on four LN
# configurations: (a) all REAL, (b) REAL/FROZEN mix with split QKV, (c) BOS/EOT specials,
# (d) aux loss with EOT tokens and masked targets. Then a state whose gradients were nudged
# must make test_gpt2_cpu fail.
set -uo pipefail
PY=${PYTHON:-/usr/bin/python3}
out=build/cpu-ref
pass=0; fail=0
if ! "$PY" scripts/torch_gpt2.py "$out"; then
  echo "cpu-reference: torch_gpt2.py failed"; echo "cpu-reference: 0 passed, 1 failed"; exit 1
fi
for c in a b c d; do
  if ./test_gpt2_cpu "$out/cfg_${c}_model.bin" "$out/cfg_${c}_state.bin"; then
    pass=$((pass+1)); echo "--- config $c: PASS"
  else
    fail=$((fail+1)); echo "--- config $c: FAIL"
  fi
done
# Negative control: the tool must reject gradients off by 1e-3 of a tensor's scale.
if ./test_gpt2_cpu "$out/cfg_b_model.bin" "$out/cfg_b_state_perturbed.bin" > "$out/perturbed.log" 2>&1; then
  fail=$((fail+1)); echo "--- perturbed state: test_gpt2_cpu passed it (FAIL)"
elif grep -q "^FAIL ln1w" "$out/perturbed.log"; then
  pass=$((pass+1)); echo "--- perturbed state: rejected on ln1w as it should be"
else
  fail=$((fail+1)); echo "--- perturbed state: failed for another reason:"; cat "$out/perturbed.log"
fi
echo "cpu-reference: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
