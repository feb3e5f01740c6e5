#!/usr/bin/env bash
# scripts/prepare_data.sh's --from-dir paths on local stand-ins (docs/data.md "Paper data"):
# owt on the SOTU corpus (valid shards, every token kept, the document split deterministic
# and repeatable), owt from an already-split train.jsonl/val.jsonl, pile from pre-tokenized
# and text jsonl, hellaswag from a hand-written jsonl, with the token ids worked out by hand
# ("Hello" 15496, " world" 995, EOT 50256); bad jsonl exits 1 naming the file and line.
# needs: prepare_shards
set -uo pipefail
. tests/lib.sh
W=build/tests/data-scripts
rm -rf "$W"; mkdir -p "$W"
scripts/fetch_assets.sh > /dev/null || { bad "fetch_assets.sh"; report data-scripts; exit 1; }
shard_ids() { "$PY" - "$1" <<'PYEOF'
import struct, sys
b = open(sys.argv[1], "rb").read()
h = struct.unpack("<256i", b[:1024])
assert h[0] == 20240520 and h[1] == 1 and len(b) == 1024 + 2 * h[2], h[:3]
print(" ".join(map(str, struct.unpack("<%dH" % h[2], b[1024:]))))
PYEOF
}
ntok() { "$PY" -c "import struct,sys; print(struct.unpack('<3i', open(sys.argv[1],'rb').read(12))[2])" "$1"; }

# 1. owt on SOTU: 233 documents -> 232 train + 1 val, all 2,074,512 tokens kept (docs/data.md)
for run in a b; do
  scripts/prepare_data.sh owt --from-dir data/assets/sotu --out "$W/$run" > "$W/owt_$run.out" 2>&1 || { bad "owt --from-dir ($run)"; tail -3 "$W/owt_$run.out"; }
done
tr=$(ntok "$W/a/owt/owt_train_000000.bin") va=$(ntok "$W/a/owt/owt_val_000000.bin")
[ $((tr + va)) = 2074512 ] && ok "owt from SOTU: $tr train + $va val tokens = all 2,074,512" || bad "owt token count $tr + $va"
grep -q "train: 232 documents" "$W/owt_a.out" && grep -q "val: 1 documents" "$W/owt_a.out" && ok "owt split: 232 train documents, 1 val (0.0005 of 233, at least one)" || bad "owt split counts"
cmp -s "$W/a/owt/owt_val_000000.bin" "$W/b/owt/owt_val_000000.bin" && cmp -s "$W/a/owt/owt_train_000000.bin" "$W/b/owt/owt_train_000000.bin" \
  && ok "owt split deterministic: two runs give identical shards" || bad "owt split differs between runs"
[ "$(shard_ids "$W/a/owt/owt_val_000000.bin" | cut -d' ' -f1)" = 50256 ] && ok "val shard starts with EOT" || bad "val shard first token"

# 2. owt from an already-split pair: kept as it is
mkdir -p "$W/split"
echo '{"text": "Hello world"}' > "$W/split/train.jsonl"
echo '{"text": " world"}' > "$W/split/val.jsonl"
scripts/prepare_data.sh owt --from-dir "$W/split" --out "$W/s" > "$W/s.out" 2>&1
[ "$(shard_ids "$W/s/owt/owt_train_000000.bin")" = "50256 15496 995" ] && [ "$(shard_ids "$W/s/owt/owt_val_000000.bin")" = "50256 995" ] \
  && ok "owt from train.jsonl + val.jsonl: ids as worked out by hand" || { bad "already-split owt"; cat "$W/s.out"; }

# 3. pile: pre-tokenized rows copied as they are, text rows tokenized with EOT first
mkdir -p "$W/pile"
printf '{"input_ids": [1, 2, 50256, 3]}\n{"text": "Hello", "meta": {"pile_set_name": "x"}}\n' > "$W/pile/part.jsonl"
scripts/prepare_data.sh pile --from-dir "$W/pile" --out "$W/p" > "$W/p.out" 2>&1
[ "$(shard_ids "$W/p/pile/pile_val_000000.bin")" = "1 2 50256 3 50256 15496" ] && ok "pile --from-dir: pile_val_000000.bin holds the ids" || { bad "pile --from-dir"; cat "$W/p.out"; }
[ ! -e "$W/p/pile/gpt2_tokenizer.bin" ] && ok "eval sets write no tokenizer file" || bad "pile wrote a tokenizer file"

# 4. hellaswag: llm.c's eval file from a hand-written jsonl
mkdir -p "$W/hs"
printf '%s\n' '{"ctx": "Hello", "endings": ["world", "Hello", "world world", "Hello world"], "label": "1"}' \
              '{"ctx": "Hello world", "endings": ["world", "world", "world", "Hello"], "label": 3}' > "$W/hs/val.jsonl"
scripts/prepare_data.sh hellaswag --from-dir "$W/hs" --out "$W/h" > "$W/h.out" 2>&1
got=$("$PY" - "$W/h/hellaswag/hellaswag_val.bin" <<'PYEOF'
import struct, sys
b = open(sys.argv[1], "rb").read()
h = struct.unpack("<256i", b[:1024])
assert h[0] == 20240522 and h[1] == 1, h[:4]
at, out = 1024, []
for _ in range(h[2]):
    n = struct.unpack("<2H", b[at:at + 4])[1]
    r = struct.unpack("<%dH" % (n // 2), b[at:at + n])
    at += n
    idx, label, k, ctxlen = r[2:6]
    ctx, p, ends = r[6:6 + ctxlen], 6 + ctxlen, []
    for _ in range(k):
        ends.append(r[p + 1:p + 1 + r[p]])
        p += 1 + r[p]
    out.append(f"{idx}:{label}:{list(ctx)}:{[list(e) for e in ends]}")
print(" | ".join(out))
PYEOF
)
want="0:1:[15496]:[[995], [18435], [995, 995], [18435, 995]] | 1:3:[15496, 995]:[[995], [995], [995], [18435]]"
[ "$got" = "$want" ] && ok "hellaswag --from-dir: contexts, ' '+endings and labels as worked out by hand" || { bad "hellaswag eval file: $got"; cat "$W/h.out"; }

# 5. bad input
mkdir -p "$W/bad1" "$W/bad2" "$W/bad3"
printf '{"text": "ok"}\n{"txt": "typo"}\n' > "$W/bad1/a.jsonl"
printf '{"input_ids": [1, 50257]}\n' > "$W/bad2/a.jsonl"
printf '{"ctx": "x", "endings": ["a", "b", "c", "d"], "label": 4}\n' > "$W/bad3/a.jsonl"
expect_error "jsonl line without text named" "a.jsonl:2: no \"text\"" scripts/prepare_data.sh pile --from-dir "$W/bad1" --out "$W/x"
expect_error "token id outside the vocabulary" "a.jsonl:1: token id 50257" scripts/prepare_data.sh pile --from-dir "$W/bad2" --out "$W/x"
expect_error "hellaswag label 4 refused" "a.jsonl:1: label 4" scripts/prepare_data.sh hellaswag --from-dir "$W/bad3" --out "$W/x"
expect_error "unknown set" "unknown set" scripts/prepare_data.sh books --from-dir "$W/bad3"
if /usr/bin/python3 -c "import datasets" 2> /dev/null; then skipped "download path without datasets (datasets is installed here)"
else expect_error "download path says what it needs" "pip install datasets" "$PY" scripts/download_data.py owt "$W/x"; fi
report data-scripts
