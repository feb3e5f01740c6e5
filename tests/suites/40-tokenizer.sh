#!/usr/bin/env bash
# GPT-2 tokenizer and data preparation (tests/tokenizer/): fetches the assets (cached under
# data/assets), runs the Catch2 tests of io/bpe and io/progress, compares io/bpe with
# the independent Python reference on both corpora and on mixed-script fuzz text, and runs
# prepare_shards end to end.
# needs: build/tests/tokenizer/test_tokenizer build/tests/tokenizer/bpe_encode_files prepare_shards
set -uo pipefail
. tests/lib.sh
G=data/assets/gpt2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

if ! bash scripts/fetch_assets.sh; then
  echo "assets unavailable (see above): only the tests that need no asset run"
  run build/tests/tokenizer/test_tokenizer '~[assets]'
  skipped "the tests that need the assets"
  report tokenizer; exit
fi
run build/tests/tokenizer/test_tokenizer

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
      ok "$set: ${#files[@]} files, $(wc -w < "$T/ours.txt") tokens, same as the reference"
    else
      bad "$set: ids differ from the reference; first differing file (line):"
      cmp "$T/ref.txt" "$T/ours.txt" | head -1
    fi
  done
else
  skipped "reference comparison: $PY has no 'regex' module (apt-get install python3-regex)"
fi

# prepare_shards end to end: 3 addresses for training, Moby Dick for validation, small
# shards so the split into several files is exercised.
docs=(data/assets/sotu/1790_george_washington_n.txt data/assets/sotu/1861_abraham_lincoln_r.txt
      data/assets/sotu/2016_barack_obama_d.txt)
./prepare_shards -o "$T/out/x" --shard-size 7000 --val data/assets/moby-dick/data.txt "${docs[@]}" \
  > "$T/log" 2>&1 || { cat "$T/log"; bad "prepare_shards"; report tokenizer; exit 1; }
grep -c "^wrote $T/out/x_train_" "$T/log" | sed 's/^/train shards: /'
run "$PY" tests/tokenizer/check_shards.py $G/encoder.json "$T/out/gpt2_tokenizer.bin" \
  "$(ls "$T"/out/x_train_*.bin | tr '\n' ' '),$(ls "$T"/out/x_val_*.bin | tr '\n' ' ')" \
  "${docs[@]}" data/assets/moby-dick/data.txt

# --val-fraction: train + val together are still exactly the documents; a rerun with a
# bigger shard size leaves no stale shard behind.
./prepare_shards -o "$T/out/x" --val-fraction 0.1 --tokenizer-bin none "${docs[@]}" > "$T/log2" 2>&1 \
  || { cat "$T/log2"; bad "prepare_shards --val-fraction"; report tokenizer; exit 1; }
run "$PY" tests/tokenizer/check_shards.py $G/encoder.json "$T/out/gpt2_tokenizer.bin" \
  "$(ls "$T"/out/x_train_*.bin | tr '\n' ' '),$(ls "$T"/out/x_val_*.bin | tr '\n' ' ')" "${docs[@]}"
if [ "$(ls "$T"/out/x_train_*.bin | wc -l)" -eq 1 ] && [ "$(ls "$T"/out/x_val_*.bin | wc -l)" -eq 1 ]; then
  ok "a rerun leaves no stale shard"; else bad "stale shards left"; ls "$T/out"; fi

# Bad input: exit 1 with a message naming the problem, and nothing written.
expect_error "missing input" "/nonexistent.txt: no such file" ./prepare_shards -o "$T/bad/x" /nonexistent.txt
expect_error "--val with --val-fraction" "either --val or --val-fraction" \
  ./prepare_shards -o "$T/bad/x" --val "${docs[0]}" --val-fraction 0.1 "${docs[1]}"
expect_error "--shard-size 0" "--shard-size" ./prepare_shards -o "$T/bad/x" --shard-size 0 "${docs[0]}"
expect_error "unknown flag" "unknown flag --frobnicate" ./prepare_shards --frobnicate 1 "${docs[0]}"
expect_error "missing tokenizer" "/nowhere/encoder.json" ./prepare_shards -o "$T/bad/x" --tokenizer /nowhere "${docs[0]}"
[ ! -e "$T/bad" ] && ok "failing runs leave no file" || bad "a failing run left files"
report tokenizer
