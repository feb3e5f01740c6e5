#!/usr/bin/python3
"""Plot train/val loss curves of one or more runs, with the LayerNorm removal steps marked.

    /usr/bin/python3 scripts/plot_losses.py RUN_DIR [RUN_DIR ...] -o losses.png
        [--labels vanilla,ln-free] [--title T] [--ymax Y] [--smooth N]
        [--overlay small|medium|large|xl|FILE.csv] [--xmax STEP]

--overlay draws paper (b)'s published training loss of that model's LN-removal run
(scripts/published/, source named in its README) under the runs: its per-step loss, the
min-max band of the points merged into each row, and its eval points. Published step g
(counted from 0) is drawn at step g+1.

Each RUN_DIR holds the trainer's main.log (lines `s:STEP trl:LOSS` and `s:STEP tel:LOSS`).
Removal steps come from the JSON log beside it when there is one (any *.jsonl file, one
object per line; see docs/demo.md): its {"event": "freeze", "path": ...} lines, or else a
step where a path's frozen count grows.
A RUN_DIR may also be a main.log file itself.
"""
import argparse
import glob
import json
import math
import os
import re
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PATHS = ("ln2", "ln1qk", "ln1v", "lnf")
PATH_COLORS = {"ln2": "tab:red", "ln1qk": "tab:orange", "ln1v": "tab:purple", "lnf": "black"}
LINE_RE = re.compile(r"^s:(\d+)\s+(trl|tel|hsa):(\S+)")


def die(msg):
    print(f"plot_losses: {msg}", file=sys.stderr)
    sys.exit(1)


def read_main_log(path):
    train, val = {}, {}
    with open(path) as f:
        for line in f:
            m = LINE_RE.match(line.strip())
            if not m:
                continue
            try:
                v = float(m.group(3))
            except ValueError:
                continue
            step = int(m.group(1))
            if m.group(2) == "trl":
                train[step] = v  # a resumed run rewrites steps: the last one wins
            elif m.group(2) == "tel":
                val[step] = v
    return sorted(train.items()), sorted(val.items())


def frozen_counts(obj):
    """Per-path frozen counts from one JSON log line, or None if it carries no LN state.
    Accepted shapes: {"frozen": {"ln2": 3, ...}}, {"frozen": {"ln2": [1,1,0], ...}},
    {"ln": {...same...}}, {"ln_state": {...}}, or top-level "frozen_ln2": 3, ..."""
    for key in ("frozen", "ln", "ln_state", "removed"):
        d = obj.get(key)
        if isinstance(d, dict):
            out = {}
            for p in PATHS:
                v = d.get(p)
                if isinstance(v, bool):
                    out[p] = int(v)
                elif isinstance(v, (int, float)):
                    out[p] = int(v)
                elif isinstance(v, list):
                    out[p] = sum(1 for x in v if (x.get("frozen") if isinstance(x, dict) else x))
                elif isinstance(v, dict) and "frozen" in v:
                    fz = v["frozen"]
                    out[p] = sum(map(bool, fz)) if isinstance(fz, list) else int(fz)
            if out:
                return out
    out = {p: int(obj[f"frozen_{p}"]) for p in PATHS if f"frozen_{p}" in obj}
    # the trainer's main.jsonl step lines: "ln2": [[frozen, sigma], ...] per layer
    for p in PATHS:
        v = obj.get(p)
        if isinstance(v, list) and all(isinstance(x, list) and x for x in v):
            out[p] = sum(1 for x in v if x[0])
    return out or None


def read_removals(run_dir):
    """[(step, path_kind)] for every removal found in the run's JSON log(s)."""
    events, counted = [], []
    for path in sorted(glob.glob(os.path.join(run_dir, "*.jsonl"))):
        prev = None
        with open(path) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    # a run killed while writing leaves a partial line, and its resumed run
                    # appends after it: skip it, say so
                    print(f"plot_losses: {path}:{n}: not a JSON object (a partial line of an "
                          f"interrupted run?), skipped", file=sys.stderr)
                    continue
                if not isinstance(obj, dict) or "step" not in obj:
                    continue
                # an explicit event line: {"step": S, "event": "remove", "path": "ln2", ...}
                if obj.get("event") in ("remove", "removed", "freeze") and obj.get("path"):
                    events.append((int(obj["step"]), str(obj["path"]).split("[")[0]))
                    continue
                cur = frozen_counts(obj)
                if cur is None:
                    continue
                if prev is not None:
                    for p in PATHS:
                        if cur.get(p, 0) > prev.get(p, 0):
                            counted.append((int(obj["step"]), p))
                elif any(cur.values()) and int(obj["step"]) > 0:
                    pass  # the log starts mid-removal (resumed run): earlier steps unknown
                prev = cur
    # explicit freeze events win; the frozen counts of step lines are the fallback
    return sorted(set(events or counted))


PUBLISHED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "published")


def read_published(name):
    """(label, [(step, loss, lo, hi)], [(step, eval)]) from scripts/published/paper_b_NAME.csv
    or a CSV path with the same columns; steps moved to our 1-based numbering."""
    path = name if name.endswith(".csv") else os.path.join(PUBLISHED_DIR, f"paper_b_{name}.csv")
    if not os.path.isfile(path):
        die(f"--overlay {name}: {path} is missing (expected small, medium, large, xl or a .csv)")
    want = ["step", "train_loss", "train_loss_min", "train_loss_max", "eval_loss"]
    train, evals = [], []
    with open(path) as f:
        header = f.readline().strip().split(",")
        if header != want:
            die(f"{path}: header {','.join(header)} (expected {','.join(want)})")
        for n, line in enumerate(f, 2):
            cells = line.strip().split(",")
            if len(cells) != 5:
                die(f"{path}:{n}: {len(cells)} columns (expected 5)")
            try:
                step = int(cells[0]) + 1
                train.append((step, float(cells[1]), float(cells[2]), float(cells[3])))
                if cells[4]:
                    evals.append((step, float(cells[4])))
            except ValueError:
                die(f"{path}:{n}: not numbers: {line.strip()}")
    if not train:
        die(f"{path}: no rows")
    label = f"paper (b) {name}" if not name.endswith(".csv") else os.path.basename(name)
    return label, train, evals


def smooth(values, n):
    if n <= 1:
        return values
    out, acc = [], []
    for v in values:
        acc.append(v)
        if len(acc) > n:
            acc.pop(0)
        out.append(sum(acc) / len(acc))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="run directories (or main.log files)")
    ap.add_argument("-o", "--out", default="losses.png", help="PNG to write")
    ap.add_argument("--labels", help="comma-separated legend names, one per run")
    ap.add_argument("--title", default="loss")
    ap.add_argument("--ymax", type=float, help="clip the y axis (removal spikes can be tall)")
    ap.add_argument("--smooth", type=int, default=1, help="moving average of N train points")
    ap.add_argument("--overlay", help="paper (b)'s published curve: small, medium, large, xl or a CSV")
    ap.add_argument("--xmax", type=float, help="cut the x axis at this step")
    args = ap.parse_args()

    labels = args.labels.split(",") if args.labels else []
    if labels and len(labels) != len(args.runs):
        die(f"--labels has {len(labels)} names for {len(args.runs)} runs")
    fig, ax = plt.subplots(figsize=(10, 5.5), dpi=110)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    marked = set()
    ymin, ymax_seen = math.inf, -math.inf
    overlay_note = ""
    if args.overlay:
        label, ptrain, pevals = read_published(args.overlay)
        if args.xmax is not None:
            ptrain = [r for r in ptrain if r[0] <= args.xmax]
            pevals = [r for r in pevals if r[0] <= args.xmax]
        xs = [r[0] for r in ptrain]
        ax.fill_between(xs, [r[2] for r in ptrain], [r[3] for r in ptrain], color="0.6", alpha=0.25,
                        lw=0, label=f"{label} train min-max")
        ax.plot(xs, [r[1] for r in ptrain], color="0.25", lw=1.0, label=f"{label} train")
        if pevals:
            ax.plot(*zip(*pevals), color="0.25", lw=0, marker="s", ms=5, label=f"{label} eval")
        ymin = min(ymin, min(r[1] for r in ptrain))
        overlay_note = f"; overlay {label}: {len(ptrain)} steps, {len(pevals)} eval points"
    for i, run in enumerate(args.runs):
        run_dir, log = (os.path.dirname(run) or ".", run) if os.path.isfile(run) else \
            (run, os.path.join(run, "main.log"))
        if not os.path.isfile(log):
            die(f"{log}: missing (is {run} a run directory?)")
        train, val = read_main_log(log)
        if not train and not val:
            die(f"{log}: no `s:STEP trl:LOSS` or `s:STEP tel:LOSS` lines")
        name = labels[i] if labels else os.path.basename(os.path.normpath(run_dir))
        col = colors[i % len(colors)]
        if train:
            xs, ys = zip(*train)
            ax.plot(xs, smooth(list(ys), args.smooth), color=col, lw=1.0, alpha=0.6,
                    label=f"{name} train")
            ymin, ymax_seen = min(ymin, min(ys)), max(ymax_seen, max(ys))
        if val:
            xs, ys = zip(*val)
            ax.plot(xs, ys, color=col, lw=2.0, marker="o", ms=4, label=f"{name} val")
            ymin = min(ymin, min(ys))
        for step, kind in read_removals(run_dir):
            c = PATH_COLORS.get(kind, "gray")
            ax.axvline(step, color=c, lw=0.8, ls="--", alpha=0.55,
                       label=f"remove {kind}" if kind not in marked else None)
            marked.add(kind)
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats)")
    ax.set_title(args.title)
    if args.xmax is not None:
        ax.set_xlim(right=args.xmax)
    if args.ymax is not None and ymin < args.ymax:
        ax.set_ylim(top=args.ymax, bottom=max(0.0, ymin - 0.1))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    tmp = args.out + ".tmp.png"
    fig.savefig(tmp)
    os.replace(tmp, args.out)
    print(f"plot_losses: wrote {args.out} ({len(args.runs)} run(s), removals marked: "
          f"{', '.join(sorted(marked)) or 'none'}{overlay_note})")


if __name__ == "__main__":
    main()
