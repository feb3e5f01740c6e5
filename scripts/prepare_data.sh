#!/usr/bin/env bash
# The data of paper (b)'s runs and evaluation table in our formats (docs/data.md "Paper data"):
#
#   scripts/prepare_data.sh owt|pile|pile-filtered|hellaswag [--from-dir DIR] [--out DIR] [--raw DIR]
#
#   owt            OpenWebText, train/val split as paper (b) (nanoGPT: test_size 0.0005, seed 2357)
#                  -> OUT/owt/owt_train_*.bin, OUT/owt/owt_val_*.bin
#   pile           the Pile eval set paper (b) used -> OUT/pile/pile_val_000000.bin
#   pile-filtered  its Pile-filtered eval set       -> OUT/pile-filtered/pile_filtered_val_000000.bin
#   hellaswag      HellaSwag validation             -> OUT/hellaswag/hellaswag_val.bin (llm.c eval file)
#
# Without --from-dir the raw documents are downloaded with Python's Hugging Face `datasets`
# (scripts/download_data.py says what it fetches and needs) into RAW (default OUT/raw) as
# JSON Lines. --from-dir DIR reads already-downloaded *.txt / *.jsonl files from DIR instead
# (for owt: train.jsonl + val.jsonl are used as they are, any other documents are split with
# seed 2357). Tokenizing and writing are prepare_shards' (C++, GPT-2 BPE).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
what=$1; shift
from="" out=data raw=""
while [ $# -gt 0 ]; do
  case $1 in
    --from-dir) from=${2:?--from-dir needs a folder}; shift 2 ;;
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --raw) raw=${2:?--raw needs a folder}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "prepare_data: unknown argument $1" >&2; usage ;;
  esac
done
raw=${raw:-$out/raw}
[ -z "$from" ] || [ -d "$from" ] || { echo "prepare_data: --from-dir $from: no such folder" >&2; exit 1; }
[ -x ./prepare_shards ] || make -s prepare_shards
tok=(--tokenizer data/assets/gpt2)
[ -f data/assets/gpt2/encoder.json ] || scripts/fetch_assets.sh

case $what in
  owt)
    if [ -n "$from" ]; then "$PY" scripts/download_data.py split "$from" "$raw"
    else "$PY" scripts/download_data.py owt "$raw"; fi
    ./prepare_shards "${tok[@]}" -o "$out/owt/owt" --val "$raw/owt/val.jsonl" "$raw/owt/train.jsonl" ;;
  pile|pile-filtered)
    name=${what//-/_}
    src=$from
    if [ -z "$src" ]; then "$PY" scripts/download_data.py "$what" "$raw"; src=$raw/$what; fi
    ./prepare_shards "${tok[@]}" --split val --tokenizer-bin none -o "$out/$what/$name" "$src" ;;
  hellaswag)
    src=$from
    if [ -z "$src" ]; then "$PY" scripts/download_data.py hellaswag "$raw"; src=$raw/hellaswag; fi
    files=("$src"/*.jsonl)
    [ -e "${files[0]}" ] || { echo "prepare_data: $src: no *.jsonl files" >&2; exit 1; }
    ./prepare_shards "${tok[@]}" --hellaswag "$out/hellaswag/hellaswag_val.bin" "${files[@]}" ;;
  *) echo "prepare_data: unknown set '$what' (owt, pile, pile-filtered or hellaswag)" >&2; exit 2 ;;
esac
