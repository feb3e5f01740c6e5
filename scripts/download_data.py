#!/usr/bin/env python3
"""Downloads (or splits) the raw documents of paper (b)'s data as JSON Lines, for
scripts/prepare_data.sh, which turns them into llm.c shards / eval files with prepare_shards.

    download_data.py owt RAW_DIR            OpenWebText, paper (b)'s train/val split
    download_data.py pile RAW_DIR           the Pile evaluation set ("pile-apollo")
    download_data.py pile-filtered RAW_DIR  the Pile-filtered evaluation set
    download_data.py hellaswag RAW_DIR      HellaSwag validation (10,042 examples)
    download_data.py split SRC_DIR RAW_DIR  --from-dir: SRC_DIR's documents split like owt

The first four need internet and the Hugging Face `datasets` package (pip install datasets;
Python >= 3.8); `split` needs neither. What each fetches (docs/data.md):
  owt:            `openwebtext` (8,013,769 documents), split as nanoGPT does:
                  train_test_split(test_size=0.0005, seed=2357, shuffle=True), test -> val
                  (4,007 documents, about 4.5M tokens)
  pile:           `apollo-research/monology-pile-uncopyrighted-tokenizer-gpt2`, split train,
                  the first 10,000 rows (pre-tokenized GPT-2 ids; 10,000 x 1,024 = 10.24M tokens)
  pile-filtered:  `lucabaroni/apollo-pile-filtered-10k`, split train, all 10,000 rows
  hellaswag:      `Rowan/hellaswag`, split validation (ctx, endings, label)
"""
import json
import os
import random
import sys

VAL_FRACTION, SPLIT_SEED = 0.0005, 2357


def die(msg):
    print(f"download_data: {msg}", file=sys.stderr)
    sys.exit(1)


def write_jsonl(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    n = 0
    with open(path + ".tmp", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
            n += 1
    os.replace(path + ".tmp", path)
    print(f"download_data: wrote {path}: {n} documents")


def hf():
    try:
        import datasets  # noqa: F401
    except ImportError:
        die("the download path needs the Hugging Face `datasets` package: pip install datasets "
            "(or prepare already-downloaded files with --from-dir)")
    return datasets


def owt(raw):
    ds = hf().load_dataset("openwebtext", split="train")
    parts = ds.train_test_split(test_size=VAL_FRACTION, seed=SPLIT_SEED, shuffle=True)
    write_jsonl(os.path.join(raw, "owt", "train.jsonl"), ({"text": r["text"]} for r in parts["train"]))
    write_jsonl(os.path.join(raw, "owt", "val.jsonl"), ({"text": r["text"]} for r in parts["test"]))


def pile(raw, name):
    d = hf()
    if name == "pile":
        rows = d.load_dataset("apollo-research/monology-pile-uncopyrighted-tokenizer-gpt2",
                              split="train", streaming=True).take(10000)
    else:
        rows = d.load_dataset("lucabaroni/apollo-pile-filtered-10k", split="train")
    write_jsonl(os.path.join(raw, name, name.replace("-", "_") + ".jsonl"),
                ({"input_ids": list(r["input_ids"])} for r in rows))


def hellaswag(raw):
    rows = hf().load_dataset("Rowan/hellaswag", split="validation")
    write_jsonl(os.path.join(raw, "hellaswag", "hellaswag_val.jsonl"),
                ({"ctx": r["ctx"], "endings": list(r["endings"]), "label": int(r["label"])} for r in rows))


def documents(src):
    """Every document of SRC_DIR in name order: each *.txt file is one, each *.jsonl line one."""
    names = sorted(n for n in os.listdir(src) if n.endswith((".txt", ".jsonl")))
    if not names:
        die(f"{src}: no *.txt or *.jsonl files")
    for n in names:
        p = os.path.join(src, n)
        if n.endswith(".txt"):
            with open(p, encoding="utf-8", errors="surrogateescape") as f:
                yield f.read()
            continue
        with open(p) as f:
            for i, line in enumerate(f, 1):
                if line.strip():
                    obj = json.loads(line)
                    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                        die(f"{p}:{i}: expected an object with a string \"text\"")
                    yield obj["text"]


def split(src, raw):
    """Already-split input (train.jsonl + val.jsonl in SRC_DIR) is kept as it is; otherwise the
    documents are split here: val = a seeded sample (seed 2357) of max(1, round(0.0005 n))
    documents. Deterministic, but not the permutation `datasets` draws (only the download
    reproduces paper (b)'s exact split)."""
    out = os.path.join(raw, "owt")
    if all(os.path.isfile(os.path.join(src, f)) for f in ("train.jsonl", "val.jsonl")):
        for f in ("train.jsonl", "val.jsonl"):
            write_jsonl(os.path.join(out, f), ({"text": t} for t in documents_of(os.path.join(src, f))))
        return
    docs = list(documents(src))
    n_val = max(1, round(VAL_FRACTION * len(docs)))
    if n_val >= len(docs):
        die(f"{src}: {len(docs)} document(s) cannot be split into train and val")
    val = set(random.Random(SPLIT_SEED).sample(range(len(docs)), n_val))
    write_jsonl(os.path.join(out, "train.jsonl"), ({"text": t} for i, t in enumerate(docs) if i not in val))
    write_jsonl(os.path.join(out, "val.jsonl"), ({"text": t} for i, t in enumerate(docs) if i in val))


def documents_of(path):
    with open(path) as f:
        for line in f:
            if line.strip():
                yield json.loads(line)["text"]


def main():
    a = sys.argv[1:]
    if len(a) == 2 and a[0] == "owt":
        owt(a[1])
    elif len(a) == 2 and a[0] in ("pile", "pile-filtered"):
        pile(a[1], a[0])
    elif len(a) == 2 and a[0] == "hellaswag":
        hellaswag(a[1])
    elif len(a) == 3 and a[0] == "split":
        split(a[1], a[2])
    else:
        die("usage: download_data.py owt|pile|pile-filtered|hellaswag RAW_DIR, or split SRC_DIR RAW_DIR")


if __name__ == "__main__":
    main()
