#!/usr/bin/env bash
# The attribution tool noln_dla (docs/dla.md) and noln_eval export-folded, on the tiny models
# tests/eval/export_roundtrip writes: the sum check and the DLA error on an LN-free model
# (split ln_1 sigmas) and on the same weights with real LayerNorm, --text through the BPE on
# a model with GPT-2's vocabulary, and bad input. The DLA maths itself is tested in
# tests/eval/test_dla.cpp (suite 55).
# needs: build/tests/eval/export_roundtrip noln_dla noln_eval
set -uo pipefail
. tests/lib.sh
dir=build/tests/eval/tmp/dla
rm -rf "$dir" && mkdir -p "$dir"
if ! build/tests/eval/export_roundtrip "$dir" >/dev/null; then
  bad "export_roundtrip could not write the models"; report dla; exit 1
fi
TOK=5,17,33,2,90,41,7,64,12

# field FILE KEY: a number from noln_dla --json output
field() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
# check NAME EXPR FILE: EXPR (python, over fields j[...]) is true for the JSON in FILE
check() {
  if "$PY" -c 'import json,sys; j=json.load(open(sys.argv[2])); sys.exit(0 if eval(sys.argv[1]) else 1)' "$2" "$3"; then
    ok "$1"; else bad "$1"; cat "$3" | head -c 600; fi
}

if ./noln_dla "$dir/lnfree.bin" --tokens $TOK --top 5 --json > "$dir/lnfree.json"; then
  ok "noln_dla on the LN-free model exits 0"
else bad "noln_dla on the LN-free model failed"; fi
echo "LN-free: max |sum - logit| $(field "$dir/lnfree.json" max_abs_sum_error) (max |logit| $(field "$dir/lnfree.json" max_abs_logit)), DLA error $(field "$dir/lnfree.json" nmae)"
check "LN-free: contributions sum to every logit within 1e-5 relative" \
  'all(abs(l["sum"] - l["logit"]) <= 1e-5 * max(1, j["max_abs_logit"]) for l in j["logits"]) and len(j["logits"]) == 5' "$dir/lnfree.json"
check "LN-free: DLA equals the direct effect (error < 1e-9)" 'j["lnf_frozen"] and j["nmae"] < 1e-9' "$dir/lnfree.json"
check "LN-free: 2 embeddings + 3 layers x (4 heads + attn bias + mlp + mlp bias) components" \
  'len(j["components"]) == 23 and all(len(l["dla"]) == 23 for l in j["logits"])' "$dir/lnfree.json"
if ./noln_dla "$dir/lnfree.bin" --tokens $TOK --exact > "$dir/lnfree.txt" && grep -q "check: .*OK" "$dir/lnfree.txt"; then
  ok "the table output ends with the sum check OK"
else bad "the table output lacks 'check: ... OK'"; cat "$dir/lnfree.txt"; fi

./noln_dla "$dir/real.bin" --tokens $TOK --json > "$dir/real.json" || bad "noln_dla on the real-LN model failed"
echo "real LN: naive DLA error $(field "$dir/real.json" nmae)"
check "real LN: naive DLA's error against the direct effect is clearly non-zero (> 5%)" \
  'not j["lnf_frozen"] and j["nmae"] > 0.05' "$dir/real.json"
./noln_dla "$dir/real.bin" --tokens $TOK --target 42 --top 2 --json > "$dir/target.json"
check "--target 42 --top 2: token 42 first, then the top 2" \
  'j["target"] == 42 and j["logits"][0]["token"] == 42 and len(j["logits"]) == 3' "$dir/target.json"

# noln_eval export-folded: the LN-free model folds, the real one is refused
if ./noln_eval export-folded "$dir/lnfree.bin" "$dir/folded" 2>/dev/null && [ -f "$dir/folded/model.safetensors" ]; then
  ok "noln_eval export-folded writes the LN-free model"
else bad "noln_eval export-folded failed on the LN-free model"; fi
expect_error "export-folded refuses a model with REAL paths" "still REAL" ./noln_eval export-folded "$dir/real.bin" "$dir/nope"

# bad input
expect_error "missing model named" "nothing.bin" ./noln_dla "$dir/nothing.bin" --tokens 1,2
expect_error "input longer than the context" "longer than the model's context of 24" \
  ./noln_dla "$dir/lnfree.bin" --tokens $(seq -s, 1 25)
expect_error "--exact on a model with real LayerNorm" "ln_f is a REAL LayerNorm" \
  ./noln_dla "$dir/real.bin" --tokens $TOK --exact
expect_error "empty --text" "is empty" ./noln_dla "$dir/lnfree.bin" --text ""
expect_error "token outside the vocabulary" "outside the model's vocabulary" ./noln_dla "$dir/lnfree.bin" --tokens 1,96
expect_error "neither --text nor --tokens" "exactly one of" ./noln_dla "$dir/lnfree.bin"

# --text through GPT-2's BPE (the assets suite 40 fetches)
if [ -f data/assets/gpt2/encoder.json ] && [ -f data/assets/gpt2/vocab.bpe ]; then
  if ./noln_dla "$dir/wide.bin" --text "The whale swam past the ship" --target " the" --exact > "$dir/wide.txt"; then
    grep -q 'target " the" (id 262)' "$dir/wide.txt" && grep -q "check: .*OK" "$dir/wide.txt" &&
      ok "--text and a text --target go through the BPE; the sum check holds" ||
      { bad "--text output unexpected"; cat "$dir/wide.txt"; }
  else bad "noln_dla --text failed"; cat "$dir/wide.txt"; fi
  expect_error "a --target of two tokens" "give one token" \
    ./noln_dla "$dir/wide.bin" --text "The whale" --target " the ship"
  expect_error "text longer than the context" "longer than the model's context of 32" \
    ./noln_dla "$dir/wide.bin" --text "$(printf 'one two three four five six seven eight %.0s' 1 2 3 4 5)"
else
  skipped "--text cases: data/assets/gpt2 is missing (scripts/fetch_assets.sh)"
fi
report dla
