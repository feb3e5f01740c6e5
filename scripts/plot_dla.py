#!/usr/bin/python3
"""Bar chart of how exact direct logit attribution is, per model, from noln_dla --json output.

    /usr/bin/python3 scripts/plot_dla.py LABEL=A.json[,B.json ...] [LABEL=...] -o dla.png
        [--title T] [--table FILE]

Each LABEL names one model; its JSON files are noln_dla runs on different texts. Two panels
(log scale): DLA's error against the direct effect (the "nmae" field, averaged over the
files, in %) and the worst |sum of contributions - logit| relative to max(1, max |logit|).
Prints (and with --table writes) the same numbers as a table. docs/dla.md defines both.
"""
import argparse
import json
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FLOOR = 1e-16  # a log axis cannot show 0: values below are drawn at this height


def die(msg):
    print(f"plot_dla: {msg}", file=sys.stderr)
    sys.exit(1)


def load(spec):
    if "=" not in spec:
        die(f"'{spec}': expected LABEL=FILE.json[,FILE.json ...]")
    label, files = spec.split("=", 1)
    runs = []
    for f in files.split(","):
        try:
            with open(f) as fh:
                j = json.load(fh)
        except (OSError, ValueError) as e:
            die(f"{f}: {e}")
        for key in ("nmae", "max_abs_sum_error", "max_abs_logit", "lnf_frozen"):
            if key not in j:
                die(f"{f}: no '{key}' (not noln_dla --json output?)")
        runs.append(j)
    nmae = sum(j["nmae"] for j in runs) / len(runs)
    rel = max(j["max_abs_sum_error"] / max(1.0, j["max_abs_logit"]) for j in runs)
    return label, nmae, rel, all(j["lnf_frozen"] for j in runs), len(runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="LABEL=FILE.json[,FILE.json ...]")
    ap.add_argument("-o", "--out", default="dla.png", help="the PNG to write (atomically)")
    ap.add_argument("--title", default="direct logit attribution: how exact, per model")
    ap.add_argument("--table", help="also write the table to this file")
    args = ap.parse_args()
    rows = [load(s) for s in args.models]

    lines = [f"{'model':34s} {'ln_f':6s} {'DLA error (NMAE)':>17s} {'max |sum-logit| (rel)':>22s}  texts"]
    for label, nmae, rel, frozen, n in rows:
        lines.append(f"{label:34s} {'FROZEN' if frozen else 'REAL':6s} {100 * nmae:16.3g}% {rel:22.2e}  {n}")
    print("\n".join(lines))
    if args.table:
        with open(args.table + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(args.table + ".tmp", args.table)

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    labels = [r[0] for r in rows]
    colors = ["tab:green" if r[3] else "tab:red" for r in rows]
    for ax, vals, title, ylabel in (
            (a1, [max(100 * r[1], FLOOR) for r in rows], "DLA vs direct effect", "normalised mean abs. error (%)"),
            (a2, [max(r[2], FLOOR) for r in rows], "sum of contributions vs logit", "max |sum - logit| / max |logit|")):
        bars = ax.bar(range(len(rows)), vals, color=colors)
        ax.set_yscale("log")
        ax.set_ylim(FLOOR / 10, max(vals) * 30)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
        for b, v in zip(bars, vals):
            ax.annotate(f"{v:.2g}", (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom", fontsize=8)
    fig.suptitle(args.title + "  (green: ln_f frozen, red: real LayerNorm)", fontsize=10)
    fig.tight_layout()
    tmp = args.out + ".tmp.png"
    fig.savefig(tmp)
    os.replace(tmp, args.out)
    print(f"plot_dla: wrote {args.out} ({len(rows)} model(s))")


if __name__ == "__main__":
    main()
