#!/usr/bin/env python3
"""Checks what prepare_shards wrote, reading the files on its own (struct, no project code):

  check_shards.py ENCODER_JSON TOKENIZER_BIN SHARDS_A,SHARDS_B,... DOC...

- every shard: header magic 20240520, version 1, size exactly 1024 + 2 * ntok, tokens < 50257;
- the shards (in the order given, comma-separated, each a list of files) decoded with
  encoder.json are exactly "<|endoftext|>" + DOC for each DOC in order;
- gpt2_tokenizer.bin: magic 20240328, version 2, 50257 tokens, EOT 50256, and each token's
  bytes equal encoder.json's key mapped back through GPT-2's byte alphabet.
Prints "shards: N passed, M failed".
"""
import json
import struct
import sys

from ref_bpe import printable_alphabet  # byte -> character of GPT-2's alphabet


def main():
    enc_path, tok_bin, shard_lists, docs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    back = {c: b for b, c in printable_alphabet().items()}
    with open(enc_path, encoding="utf-8") as f:
        enc = json.load(f)
    token_bytes = {}
    for key, i in enc.items():
        token_bytes[i] = key.encode() if key == "<|endoftext|>" else bytes(back[c] for c in key)
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAILED:", what)

    stream = []
    for path in [p for group in shard_lists.split(",") for p in group.split()]:
        with open(path, "rb") as f:
            data = f.read()
        magic, version, n = struct.unpack("<3i", data[:12])
        check(magic == 20240520 and version == 1, f"{path}: header {magic} {version}")
        check(len(data) == 1024 + 2 * n, f"{path}: {len(data)} bytes for {n} tokens")
        toks = struct.unpack(f"<{n}H", data[1024:1024 + 2 * n])
        check(max(toks) < 50257, f"{path}: token {max(toks)} >= 50257")
        stream.extend(toks)
    want = b"".join(b"<|endoftext|>" + open(d, "rb").read() for d in docs)
    got = b"".join(token_bytes[t] for t in stream)
    check(got == want, f"decoded shards ({len(got)} bytes) differ from the documents ({len(want)} bytes)")
    check(stream.count(50256) == len(docs), f"{stream.count(50256)} EOTs for {len(docs)} documents")

    with open(tok_bin, "rb") as f:
        data = f.read()
    magic, version, n, eot = struct.unpack("<4I", data[:16])
    check((magic, version, n, eot) == (20240328, 2, 50257, 50256), f"{tok_bin}: header {magic} {version} {n} {eot}")
    at, ok = 1024, True
    for i in range(n):
        length = data[at]
        ok = ok and data[at + 1:at + 1 + length] == token_bytes[i]
        at += 1 + length
    check(ok and at == len(data), f"{tok_bin}: token bytes differ from encoder.json")
    print(f"shards: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
