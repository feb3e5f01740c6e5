# Writes small token shards for the trainer's end-to-end tests (the layout of docs/formats.md, Token shards):
# a noisy "t -> 3t+k mod V" sequence, so a tiny model has something to learn.
import random, struct, sys

def write(path, toks):
    hdr = [20240520, 1, len(toks)] + [0] * 253
    with open(path, "wb") as f:
        f.write(struct.pack("<256i", *hdr))
        f.write(struct.pack("<%dH" % len(toks), *toks))

out, vocab = sys.argv[1], int(sys.argv[2])
rng = random.Random(1234)
for name, n in [("train_000.bin", 12000), ("train_001.bin", 12000), ("val_000.bin", 4000)]:
    t = [0]
    for _ in range(n - 1):
        t.append((3 * t[-1] + rng.randrange(4)) % vocab)
    write(f"{out}/{name}", t)

# A small HellaSwag-style eval file (docs/formats.md, HellaSwag eval file): 8 examples of 4 completions each;
# the labelled completion continues the context's rule.
examples = []
for i in range(8):
    ctx = [(i * 5 + 1) % vocab]
    for _ in range(5):
        ctx.append((3 * ctx[-1] + rng.randrange(4)) % vocab)
    comps = [[(3 * ctx[-1] + 1) % vocab, (9 * ctx[-1] + 4) % vocab]]
    for k in range(3):
        comps.append([rng.randrange(vocab), rng.randrange(vocab)])
    label = i % 4
    comps[0], comps[label] = comps[label], comps[0]
    rec = [i, label, 4, len(ctx)] + ctx
    for c in comps:
        rec += [len(c)] + c
    rec = [65535, 2 * (len(rec) + 2)] + rec
    examples.append(rec)
longest = max(2 * len(r) for r in examples)
with open(f"{out}/hellaswag.bin", "wb") as f:
    f.write(struct.pack("<256i", *([20240522, 1, len(examples), longest] + [0] * 252)))
    for r in examples:
        f.write(struct.pack("<%dH" % len(r), *r))
