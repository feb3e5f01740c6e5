#!/usr/bin/env bash
# The CPU GPT-2 against an independent PyTorch GPT-2 (scripts/torch_gpt2.py) on four LN
# configurations: (a) all REAL, (b) REAL/FROZEN mix with split QKV, (c) BOS/EOT specials,
# (d) aux loss with EOT tokens and masked targets, (e) = (b) with the exact erf GELU (--gelu erf,
# against F.gelu approximate='none'). Then a state whose gradients were nudged must make
# test_gpt2_cpu fail, and so must config e run with the tanh GELU.
# needs: test_gpt2_cpu
set -uo pipefail
. tests/lib.sh
out=build/cpu-ref
if ! "$PY" scripts/torch_gpt2.py "$out"; then bad "torch_gpt2.py failed"; report cpu-reference; exit 1; fi
for c in a b c d; do
  if ./test_gpt2_cpu "$out/cfg_${c}_model.bin" "$out/cfg_${c}_state.bin"; then ok "config $c"
  else bad "config $c"; fi
done
if ./test_gpt2_cpu "$out/cfg_e_model.bin" "$out/cfg_e_state.bin" erf; then ok "config e (erf GELU)"
else bad "config e (erf GELU)"; fi
if ./test_gpt2_cpu "$out/cfg_e_model.bin" "$out/cfg_e_state.bin" tanh > "$out/e_tanh.log" 2>&1; then
  bad "config e checked with the tanh GELU: passed, so the GELU choice is not tested"
else ok "config e checked with the tanh GELU: rejected"; fi
# Negative control: the tool must reject gradients off by 1e-3 of a tensor's scale.
if ./test_gpt2_cpu "$out/cfg_b_model.bin" "$out/cfg_b_state_perturbed.bin" > "$out/perturbed.log" 2>&1; then
  bad "perturbed state: test_gpt2_cpu passed it"
elif grep -q "^FAIL ln1w" "$out/perturbed.log"; then ok "perturbed state: rejected on ln1w as it should be"
else bad "perturbed state: failed for another reason"; cat "$out/perturbed.log"; fi
report cpu-reference
