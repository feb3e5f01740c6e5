#!/usr/bin/env python3
"""An independent GPT-2 BPE encoder in Python, the reference io/bpe.cpp is compared with.

It follows the published algorithm directly and shares nothing with the C++ code: the
pre-tokeniser is GPT-2's regex run by the `regex` module (Debian python3-regex), the merge
loop works on strings, one lowest-rank pair at a time.

  ref_bpe.py ENCODER_JSON VOCAB_BPE FILE...   one line per FILE: its ids, space-separated
  ref_bpe.py --fuzz N SEED OUT                write N random lines of mixed-script text

Exits 3 (for "skipped") when the regex module is missing.
"""
import json
import random
import sys
import unicodedata

PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def printable_alphabet():
    # bytes that are printable in Latin-1 stand for themselves; the rest take U+0100 onwards
    keep = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


class Encoder:
    def __init__(self, encoder_path, vocab_path):
        import regex
        self.pat = regex.compile(PATTERN)
        with open(encoder_path, encoding="utf-8") as f:
            self.vocab = json.load(f)
        with open(vocab_path, encoding="utf-8") as f:
            rows = f.read().split("\n")[1:]
        self.rank = {tuple(r.split(" ")): i for i, r in enumerate(rows) if r}
        self.alpha = printable_alphabet()
        self.memo = {}

    def merge(self, word):
        if word in self.memo:
            return self.memo[word]
        parts = list(word)
        while len(parts) > 1:
            pairs = [(self.rank.get((parts[i], parts[i + 1]), None), i) for i in range(len(parts) - 1)]
            ranked = [p for p in pairs if p[0] is not None]
            if not ranked:
                break
            best = min(ranked)[0]
            a, b = next((parts[i], parts[i + 1]) for r, i in ranked if r == best)
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == a and parts[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        ids = [self.vocab[p] for p in parts]
        self.memo[word] = ids
        return ids

    def encode(self, text):
        ids = []
        for piece in self.pat.findall(text):
            word = "".join(self.alpha[b] for b in piece.encode("utf-8"))
            ids.extend(self.merge(word))
        return ids


def fuzz(n, seed, out):
    """Lines mixing scripts, digits, punctuation, odd spaces, contractions and marks; only
    characters assigned in this Python's Unicode, so both sides agree on their classes."""
    rng = random.Random(seed)
    blocks = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x5FF),
              (0x600, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F), (0x3040, 0x30FF), (0x4E00, 0x4FFF),
              (0xAC00, 0xAD00), (0x2000, 0x206F), (0x2150, 0x218F), (0x1F300, 0x1F64F),
              (0x0660, 0x0669), (0xFF10, 0xFF5A)]
    specials = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "''", " '", "\t", "\n", "\n\n",
                "   ", "\u00a0", "\u3000", "\x0b", "\x0c", "\r\n", "\u0085", "\u2028", " 123",
                "4567890", " the", "don't", "I'M", "x\u0301", "\u200b"]
    with open(out, "w", encoding="utf-8", newline="") as f:
        for _ in range(n):
            s = []
            for _ in range(rng.randint(1, 30)):
                if rng.random() < 0.3:
                    s.append(rng.choice(specials))
                    continue
                lo, hi = rng.choice(blocks)
                for _ in range(rng.randint(1, 6)):
                    c = chr(rng.randint(lo, hi))
                    if unicodedata.category(c) not in ("Cn", "Cs", "Co"):
                        s.append(c)
                if rng.random() < 0.5:
                    s.append(" ")
            f.write("".join(s).replace("\n", " ") + "\n")


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--fuzz":
        fuzz(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
        return 0
    try:
        import regex  # noqa: F401
    except ImportError:
        print("ref_bpe.py: Python module 'regex' missing (apt-get install python3-regex)", file=sys.stderr)
        return 3
    enc = Encoder(sys.argv[1], sys.argv[2])
    for path in sys.argv[3:]:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
        print(" ".join(map(str, enc.encode(text))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
