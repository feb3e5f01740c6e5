#!/usr/bin/env bash
# GPT-2 tokenizer and data preparation (tests/tokenizer/): fetches the assets (cached under
# data/assets), runs the Catch2 tests of io/bpe and io/progress, compares io/bpe with
# the independent Python reference on both corpora and on mixed-script fuzz text, and runs
# prepare_shards end to end.
set -uo pipefail
PY=/usr/bin/python3
G=data/assets/gpt2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
say() { echo "tok-$1: $2 passed, $3 failed${4:+, $4 skipped}"; }

if ! bash scripts/fetch_assets.sh; then
  echo "assets unavailable (see above): only the tests that need no asset run"
  build/tests/tokenizer/test_tokenizer '~[assets]'
  say assets 0 0 1
  exit 0
fi
build/tests/tokenizer/test_tokenizer

# Same ids as the Python reference, on the whole of both corpora and on fuzz text.
if $PY -c 'import regex' 2>/dev/null; then
  $PY tests/tokenizer/ref_bpe.py --fuzz 2000 17 "$T/fuzz.txt"
  for set in sotu moby fuzz; do
    case $set in
      sotu) files=(data/assets/sotu/*.txt) ;;
      moby) files=(data/assets/moby-dick/data.txt) ;;
      fuzz) files=("$T/fuzz.txt") ;;
    esac
    $PY tests/tokenizer/ref_bpe.py $G/encoder.json $G/vocab.bpe "${files[@]}" > "$T/ref.txt"
    build/tests/tokenizer/bpe_encode_files $G/encoder.json $G/vocab.bpe "${files[@]}" > "$T/ours.txt"
    if cmp -s "$T/ref.txt" "$T/ours.txt"; then
      echo "$set: ${#files[@]} files, $(wc -w < "$T/ours.txt") tokens, same as the reference"
      say ref-$set 1 0
    else
      echo "$set: ids differ from the reference; first differing file (line):"
      cmp "$T/ref.txt" "$T/ours.txt" | head -1
      say ref-$set 0 1
    fi
  done
else
  echo "SKIP reference comparison: $PY has no 'regex' module (apt-get install python3-regex)"
  say ref 0 0 1
fi

# prepare_shards end to end: 3 addresses for training, Moby Dick for validation, small
# shards so the split into several files is exercised.
docs=(data/assets/sotu/1790_george_washington_n.txt data/assets/sotu/1861_abraham_lincoln_r.txt
      data/assets/sotu/2016_barack_obama_d.txt)
./prepare_shards -o "$T/out/x" --shard-size 7000 --val data/assets/moby-dick/data.txt "${docs[@]}" \
  > "$T/log" 2>&1 || { cat "$T/log"; say prepare 0 1; exit 1; }
grep -c "^wrote $T/out/x_train_" "$T/log" | sed 's/^/train shards: /'
$PY tests/tokenizer/check_shards.py $G/encoder.json "$T/out/gpt2_tokenizer.bin" \
  "$(ls "$T"/out/x_train_*.bin | tr '\n' ' '),$(ls "$T"/out/x_val_*.bin | tr '\n' ' ')" \
  "${docs[@]}" data/assets/moby-dick/data.txt

# --val-fraction: train + val together are still exactly the documents; a rerun with a
# bigger shard size leaves no stale shard behind.
./prepare_shards -o "$T/out/x" --val-fraction 0.1 --tokenizer-bin none "${docs[@]}" > "$T/log2" 2>&1 \
  || { cat "$T/log2"; say prepare 0 1; exit 1; }
$PY tests/tokenizer/check_shards.py $G/encoder.json "$T/out/gpt2_tokenizer.bin" \
  "$(ls "$T"/out/x_train_*.bin | tr '\n' ' '),$(ls "$T"/out/x_val_*.bin | tr '\n' ' ')" "${docs[@]}"
p=0; f=0
[ "$(ls "$T"/out/x_train_*.bin | wc -l)" -eq 1 ] && [ "$(ls "$T"/out/x_val_*.bin | wc -l)" -eq 1 ] && p=$((p+1)) || { f=$((f+1)); echo "FAILED: stale shards left"; ls "$T/out"; }

# Bad input: exit 1 with a message naming the problem, and nothing written.
expect_fail() {  # expect_fail PATTERN ARGS...
  local pat=$1; shift
  if ./prepare_shards "$@" > "$T/err" 2>&1; then echo "FAILED: prepare_shards $* succeeded"; f=$((f+1))
  elif grep -q -- "$pat" "$T/err"; then p=$((p+1))
  else echo "FAILED: prepare_shards $*: message lacks '$pat':"; cat "$T/err"; f=$((f+1)); fi
}
expect_fail "/nonexistent.txt: no such file" -o "$T/bad/x" /nonexistent.txt
expect_fail "either --val or --val-fraction" -o "$T/bad/x" --val "${docs[0]}" --val-fraction 0.1 "${docs[1]}"
expect_fail "--shard-size" -o "$T/bad/x" --shard-size 0 "${docs[0]}"
expect_fail "unknown flag --frobnicate" --frobnicate 1 "${docs[0]}"
expect_fail "/nowhere/encoder.json" -o "$T/bad/x" --tokenizer /nowhere "${docs[0]}"
[ ! -e "$T/bad" ] && p=$((p+1)) || { f=$((f+1)); echo "FAILED: a failing run left files"; }
say prepare $p $f
