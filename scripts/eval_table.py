#!/usr/bin/python3
"""The evaluation table of a reproduction: the original, vanilla fine-tuned and LN-free models
on OpenWebText val, the Pile, Pile-filtered and HellaSwag, printed in the layout of paper (b)'s
Table 1 beside the published numbers (scripts/published/results.csv) with the differences,
then the per-token loss distribution (mean, median, 95th and 99.9th percentile, max) of every
model on every token set, so that rare blow-ups show at a glance.

    /usr/bin/python3 scripts/eval_table.py --model small [--paper b]
        [--original M] [--vanilla M] [--lnfree M]
        [--owt GLOB] [--pile GLOB] [--pile-filtered GLOB] [--hellaswag FILE]
        [-b 8] [-t 1024] [--max-batches 0] [--gelu tanh|erf] [--noln-eval ./noln_eval] [--json OUT.json]

Each model M is a checkpoint (model_*.bin), an llm.c .bin or a Hugging Face GPT-2 folder; each
token set a glob of llm.c shards. Anything left out prints as "-". Every number comes from
`noln_eval stats` / `noln_eval hellaswag` (the CPU model; docs/reproduce.md).
"""
import argparse
import csv
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GELU = "tanh"  # --gelu
VARIANTS = [("original", "original"), ("vanilla", "vanilla FT"), ("lnfree", "LN-free FT")]
SETS = [("owt", "OpenWebText val"), ("pile", "Pile"), ("pile_filtered", "Pile-filtered")]


def die(msg):
    print(f"eval_table: {msg}", file=sys.stderr)
    sys.exit(1)


def published(paper, model):
    out = {}
    with open(os.path.join(HERE, "published", "results.csv")) as f:
        for row in csv.DictReader(f):
            if row["paper"] == paper and row["model"] == model:
                out[row["variant"]] = {k: float(v) for k, v in row.items()
                                       if k not in ("paper", "model", "variant") and v != ""}
    return out


def run_cell(tool, args):
    try:
        r = subprocess.run([tool] + args, capture_output=True, text=True, env=dict(os.environ, NOLN_GELU=GELU))
    except OSError as e:
        die(f"{tool}: {e}")
    if r.returncode != 0:
        die(f"{tool} {' '.join(args)} failed:\n{r.stderr.strip()}")
    words = r.stdout.split()
    if words[:1] == ["hellaswag"]:
        words = words[1:]
    try:
        return {words[i]: float(words[i + 1]) for i in range(0, len(words) - 1, 2)}
    except ValueError:
        die(f"{tool} {' '.join(args)}: unexpected output {r.stdout.strip()!r}")


def fmt(x, nd=4, sign=False):
    if x is None:
        return "-"
    return f"{x:+.{nd}f}" if sign else f"{x:.{nd}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, choices=["small", "medium", "large", "xl"])
    ap.add_argument("--paper", default="b", choices=["a", "b"], help="whose published numbers (default b)")
    for v, _ in VARIANTS:
        ap.add_argument(f"--{v}", metavar="MODEL")
    ap.add_argument("--owt", metavar="GLOB")
    ap.add_argument("--pile", metavar="GLOB")
    ap.add_argument("--pile-filtered", dest="pile_filtered", metavar="GLOB")
    ap.add_argument("--hellaswag", metavar="FILE")
    ap.add_argument("-b", type=int, default=8, help="sequences per forward (default 8)")
    ap.add_argument("-t", type=int, default=1024, help="sequence length (default 1024)")
    ap.add_argument("--max-batches", type=int, default=0, help="batches per token set (default 0 = all)")
    ap.add_argument("--gelu", default="tanh", choices=["tanh", "erf"],
                    help="the MLP's GELU of the runs (erf for paper-a-small's --gelu erf; default tanh)")
    ap.add_argument("--noln-eval", default=os.path.join(os.path.dirname(HERE), "noln_eval"))
    ap.add_argument("--json", help="also write every number to this JSON file")
    a = ap.parse_args()
    global GELU
    GELU = a.gelu

    models = [(v, name, getattr(a, v)) for v, name in VARIANTS if getattr(a, v)]
    sets = [(k, name, getattr(a, k)) for k, name in SETS if getattr(a, k)]
    if not models:
        die("no model given (--original, --vanilla, --lnfree)")
    if not sets and not a.hellaswag:
        die("no token set or HellaSwag file given")
    pub = published(a.paper, a.model)
    ours = {}
    for v, _, path in models:
        ours[v] = {}
        for k, _, glob in sets:
            ours[v][k] = run_cell(a.noln_eval, ["stats", path, glob, str(a.b), str(a.t), str(a.max_batches)])
        if a.hellaswag:
            ours[v]["hellaswag"] = run_cell(a.noln_eval, ["hellaswag", path, a.hellaswag])

    cols = [(k, name) for k, name, _ in sets] + ([("hellaswag", "HellaSwag acc %")] if a.hellaswag else [])
    print(f"GPT-2 {a.model}: ours / paper ({a.paper}) / difference"
          f"  (cross-entropy in nats, mean over every token; HellaSwag acc_norm in %)")
    cell_w = 26
    print((f"{'':12}" + "".join(f"| {name:<{cell_w - 2}}" for _, name in cols)).rstrip())
    print((f"{'model':12}" + "".join(f"| {'ours':>7} {'paper':>7} {'diff':>8} " for _ in cols)).rstrip())
    for v, name in VARIANTS:
        if v not in ours:
            continue
        line = f"{name:12}"
        for k, _ in cols:
            if k == "hellaswag":
                x = 100.0 * ours[v][k]["acc_norm"]
                nd = 1
            else:
                x = ours[v][k]["mean"]
                nd = 4
            p = pub.get(v, {}).get(k)
            line += f"| {fmt(x, nd):>7} {fmt(p, nd):>7} {fmt(None if p is None else x - p, nd, True):>8} "
        print(line.rstrip())
    if sets:
        print()
        print("per-token cross-entropy (nats)")
        print(f"{'token set':16} {'model':12} {'tokens':>10} {'mean':>8} {'median':>8} {'p95':>8} {'p99.9':>8} {'max':>8}")
        for k, sname, _ in sets:
            for v, name in VARIANTS:
                if v not in ours:
                    continue
                s = ours[v][k]
                print(f"{sname:16} {name:12} {int(s['tokens']):>10} {s['mean']:8.4f} {s['median']:8.4f} "
                      f"{s['p95']:8.4f} {s['p99.9']:8.4f} {s['max']:8.4f}")
    if a.hellaswag:
        n = {int(ours[v]['hellaswag']['n']) for v in ours}
        print(f"\nHellaSwag: {', '.join(map(str, sorted(n)))} examples")
    if a.json:
        tmp = a.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"model": a.model, "paper": a.paper, "ours": ours, "published": pub}, f, indent=1)
        os.replace(tmp, a.json)


if __name__ == "__main__":
    main()
