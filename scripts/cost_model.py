#!/usr/bin/env python3
"""ESTIMATED step time and MFU of the CUDA trainer (kernels/README.md, "Estimated step time").

No GPU measured any of this. Each kernel launch of one micro-step (the calls gpt2_cuda.cuh
makes for B sequences of T tokens) and of the once-per-step work (zero_grad, gradient
all-reduce, global norm, AdamW) gets its FLOPs and DRAM bytes; its time is a roofline with a
stated efficiency per kernel class (ASSUME) on a GPU of GPUS, plus a fixed per-launch cost; the
host's issue time per micro-step (launches, cuBLASLt calls) runs beside it. Since issue 10 the
host waits for the GPU once per optimizer step and each layer's gradient all-reduce runs beside
the last micro-step's backward (ASSUME sync_per_step, overlap; the ladder's first rows turn
them off).

    scripts/cost_model.py                      # the issue-9 targets: paper-b-small on 1 GPU, paper-b-xl on 8
    scripts/cost_model.py --kernels            # the same plus the per-kernel table of each
    scripts/cost_model.py --preset paper-b-medium --gpus 4 --gpu H200 --batch 8

MFU uses train_gpt2_noln.cu's count: 6 x parameters + 12 L C T FLOPs per token (PaLM's
appendix B, as llm.c), against the GPU's dense bf16 peak.
"""
import argparse
import math
import os
import re
import sys

# ---- GPUs: the dense bf16 peak and HBM bandwidth come from cuda/gpu_peaks.h (the table the
# trainer's MFU line and the dev/cuda lab use; `match` is its row); here only SMs, memory and
# the NCCL all-reduce bus bandwidth between 8 GPUs of one NVLink node (about 80% of the
# NVLink rate each way: an assumption, not a measurement).
GPUS = {
    "H100-SXM": dict(match="H100", sms=132, mem=80e9, busbw=360e9),
    "H200": dict(match="H200", sms=132, mem=141e9, busbw=360e9),
    "A100-SXM": dict(match="A100", sms=108, mem=80e9, busbw=240e9),
}


def load_peaks(path):
    """Fills GPUS' bf16 (FLOP/s) and hbm (bytes/s) from cuda/gpu_peaks.h's rows
    {"match", bf16 TFLOP/s, fp32 TFLOP/s, HBM TB/s}."""
    rows = {m.group(1): (float(m.group(2)), float(m.group(4))) for m in re.finditer(
        r'\{\s*"([^"]+)"\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*\}', open(path).read())}
    for name, g in GPUS.items():
        if g["match"] not in rows:
            raise SystemExit("cost_model: no row \"%s\" for %s in %s" % (g["match"], name, path))
        g["bf16"], g["hbm"] = rows[g["match"]][0] * 1e12, rows[g["match"]][1] * 1e12

# ---- efficiency assumptions (fractions of the GPU's peak), one per kernel class
ASSUME = dict(
    gemm=0.75,          # cuBLASLt bf16 GEMM, large shapes, before wave quantisation below
    gemm_tile=128,      # output tile edge for wave quantisation (tiles per wave = SMs)
    att_fwd=0.15,       # our flash forward (wmma, 4 warps/block, register-limited occupancy)
    att_bwd=0.10,       # our flash backward (dK/dV pass and dQ pass, both recompute S and dP)
    mem_scalar=0.35,    # memory-bound kernel with scalar 16-bit loads
    mem_vec=0.80,       # memory-bound kernel with 128-bit loads (every trainer kernel since issue 12)
    vec=1,              # 1: the trainer's memory-bound kernels use 128-bit loads (0: before issue 12)
    gelu_fused=0,       # 0: GELU by our kernel after the fc GEMM (GeluImpl::Kernels, the default); 1: epilogue
    memset=0.90,        # cudaMemset
    launch_us=1.0,      # GPU-side fixed cost per kernel (ramp-up and tail between launches)
    host_launch_us=3.0,  # host time to issue one kernel or memset
    host_gemm_us=3.0,   # host time per cuBLASLt call: a cached plan (12 with a heuristic query per call)
    sync_us=80.0,       # GPU idle around one host wait (the loss read back, the next inputs uploaded)
    sync_per_step=1,    # 1: one host wait per optimizer step (issue 10); 0: one per micro-step (before)
    overlap=1,          # 1: each layer's gradient all-reduce runs beside the last micro-step's
                        #    backward (issue 10, -z 0); only what outlasts the backward is exposed,
                        #    plus wte/wpe/lnf, reduced after the encoder backward. 0: after it
    bwd_share=2.0 / 3,  # the backward's share of a micro-step's GPU time (twice the forward's FLOPs)
    memsets=1,          # 1: only dqkv is zeroed (attention's backward accumulates); 2: every
                        #    activation gradient zeroed before an accumulating first write (before issue 12)
    bias_kernel=1,      # 1: bias gradients by our column-sum kernels (a re-read of every dout)
)

# What separates the estimate from higher MFU: each scenario applies its changes on top of the
# previous one (--ladder). The first is the trainer as it stands.
LADDER = [
    ("issue 9's BF16 trainer (flash attention, GELU epilogue; scalar loads, memsets, a heuristic per GEMM)",
     dict(vec=0, memsets=2, host_gemm_us=12.0, gelu_fused=1, sync_per_step=0, overlap=0)),
    ("+ 128-bit loads in every memory-bound kernel (issue 12)", dict(vec=1)),
    ("+ first writes with beta=0 / overwrite: only dqkv's memset left (issue 12)", dict(memsets=1)),
    ("+ cached cuBLASLt plans (issue 12)", dict(host_gemm_us=3.0)),
    ("+ one host wait per step, per-layer all-reduce beside the last backward (issue 10)",
     dict(sync_per_step=1, overlap=1)),
    ("+ GELU by our kernel until a GPU confirms the epilogue: the trainer as it stands (issue 12)",
     dict(gelu_fused=0)),
    ("+ the GELU epilogue back, once gpu-check shows it matches", dict(gelu_fused=1)),
    ("+ bias gradients fused into the GEMM (cuBLASLt BGRADB epilogue)", dict(bias_kernel=0)),
    ("+ flash attention at FlashAttention-2 speed (35% fwd, 25% bwd of peak)", dict(att_fwd=0.35, att_bwd=0.25)),
    ("+ GEMMs at 85% of peak (wgmma-class kernels, larger tiles)", dict(gemm=0.85)),
]

# ---- GPT-2 shapes by depth (host/gpt2_config.cpp), vocabulary 50257 padded to 50304
SHAPES = {12: (768, 12), 24: (1024, 16), 36: (1280, 20), 48: (1600, 25)}
V, VP = 50257, 50304
DEPTH_OF = {"small": 12, "medium": 24, "large": 36, "xl": 48}


def presets(path="docs/training.md"):
    """name -> (tokens per step, B, T) read from the preset table of docs/training.md, which
    tests/train/test_docs_presets.cpp keeps equal to train/presets.cpp (the one copy of the
    presets). Every paper preset runs at T = 1024 (the table's header text says so)."""
    out = {}
    cols = None
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == "preset":
            cols = cells
            continue
        if cols and len(cells) == len(cols) and cells[0].startswith("`"):
            row = dict(zip(cols, cells))
            tokens = row["tokens/step"].replace(",", "")
            if tokens.isdigit():  # `tiny` runs at another T ("1,024 (T = 64)"): not a GPT-2 run
                out[row["preset"].strip("`")] = (int(tokens), int(row["-b"]), 1024)
    if "paper-b-small" not in out or "paper-b-xl" not in out:
        raise SystemExit("cost_model: cannot read the presets' tokens/step and -b from %s" % path)
    return out


class Model:
    def __init__(self, L, T):
        self.L, self.T = L, T
        self.C, self.NH = SHAPES[L]
        C = self.C
        self.P = VP * C + T * C + L * (12 * C * C + 13 * C) + 2 * C  # host/gpt2_config.cpp

    def mfu_flops_per_token(self):
        return 6.0 * self.P + 12.0 * self.L * self.C * self.T


class Call:
    """`count` launches per micro-step (or per step) of one kind, each with `flops` FLOPs and
    `nbytes` DRAM bytes (per launch)."""
    def __init__(self, name, kind, flops, nbytes, count=1, shape=None):
        self.name, self.kind, self.flops, self.bytes, self.count, self.shape = name, kind, flops, nbytes, count, shape


def spread(name, kind, flops, nbytes, count):
    """`count` launches that together do `flops` and move `nbytes`."""
    return Call(name, kind, flops / count, nbytes / count, count)


def gemm(name, M, N, K, e, count, accumulate=False, extra_bytes=0):
    """C[M,N] (+)= A[M,K] B[K,N]: 2MNK FLOPs; reads A, B (and C when accumulating), writes C."""
    return Call(name, "gemm", 2.0 * M * N * K,
                e * (M * K + K * N + M * N * (2 if accumulate else 1)) + extra_bytes, count, (M, N, K))


def micro_step(m, B, e=2):
    """Every launch of one forward + backward on B sequences, as gpt2_cuda.cuh issues them
    (BF16: e = 2 bytes per element; no split ln1qk/ln1v layer, no aux loss)."""
    L, C, NH, T = m.L, m.C, m.NH, m.T
    N = B * T
    NC = N * C
    hs = C // NH
    tile = 64
    nt = math.ceil(T / tile)
    causal = nt * (nt + 1) / 2 / (nt * nt)  # fraction of 64x64 score tiles computed
    att_mm = 2.0 * B * NH * T * T * hs * causal  # one T x T x hs product over all (b, h)
    mv = "mem_vec" if ASSUME["vec"] else "mem"  # the trainer's memory-bound kernels
    calls = [
        Call("encoder forward", mv, 0, e * 3 * NC),
        # per layer: LN1 (fused residual add for l > 0) + obs finish, QKV, attention, proj, LN2, fc+gelu, fcproj
        Call("ln_path forward (fused residual: read 2, write 2)", mv, 10.0 * NC, e * 4 * NC + 12 * N, 2 * L + 1),
        Call("ln obs finish", "tiny", 0, 0, 2 * L + 1),
        gemm("matmul fwd qkv", N, 3 * C, C, e, L),
        Call("attention flash forward", "att_fwd", 2 * att_mm, e * 4 * NC + 4 * N * NH, L),
        gemm("matmul fwd attproj", N, C, C, e, L),
        gemm("matmul fwd fc (+gelu epilogue, pre-activation kept)", N, 4 * C, C, e, L, extra_bytes=e * 4 * NC)
        if ASSUME["gelu_fused"] else gemm("matmul fwd fc (pre-activation)", N, 4 * C, C, e, L),
        None if ASSUME["gelu_fused"] else Call("gelu forward (our kernel)", "mem_vec", 8.0 * 4 * NC, e * 8 * NC, L),
        gemm("matmul fwd fcproj", N, C, 4 * C, e, L),
        gemm("matmul fwd lm head", N, VP, C, e, 1),
        Call("classifier forward (online max/sum, lse kept)", mv, 5.0 * N * VP, e * N * VP),
        # backward
        # one read and one write of the logits with the forward's lse (before issue 12: a
        # second reduction pass, 3 passes)
        Call("classifier backward (dlogits in place)", mv, 8.0 * N * VP, e * (2 if ASSUME["vec"] else 3) * N * VP),
        gemm("matmul bwd lm head dx", N, C, VP, e, 1, True),
        gemm("matmul bwd lm head dW", VP, C, N, e, 1, True),
        spread("memsets (dln, dres; dfchg, dfch, dln, datty, dqkv, dln per layer)", "memset", 0,
               e * (2 * NC + L * (4 + 4 + 1 + 1 + 3 + 1) * NC), 2 + 6 * L) if ASSUME["memsets"] == 2 else None,
        spread("memset dqkv (attention's backward accumulates)", "memset", 0, e * L * 3 * NC, L)
        if ASSUME["memsets"] == 1 else None,
        gemm("matmul bwd fcproj dx", N, 4 * C, C, e, L, True),
        gemm("matmul bwd fcproj dW", 4 * C, C, N, e, L, True),
        gemm("matmul bwd fc dx", N, C, 4 * C, e, L, True),
        gemm("matmul bwd fc dW", C, 4 * C, N, e, L, True),
        gemm("matmul bwd attproj dx", N, C, C, e, L, True),
        gemm("matmul bwd attproj dW", C, C, N, e, L, True),
        gemm("matmul bwd qkv dx", N, C, 3 * C, e, L, True),
        gemm("matmul bwd qkv dW", C, 3 * C, N, e, L, True),
        spread("bias backward (partial + finish, 4 per layer)", mv, 9.0 * NC * L, e * 9 * NC * L, 8 * L)
        if ASSUME["bias_kernel"] else None,
        # gelu backward writes dfch (overwrite since issue 12: 3 arrays, before 4)
        Call("gelu backward", "mem_vec", 20.0 * 4 * NC, e * (12 if ASSUME["memsets"] < 2 else 16) * NC, L),
        Call("ln_path backward dx", mv, 12.0 * NC, e * 4 * NC + 8 * N, 2 * L + 1),
        spread("ln_path backward dgamma/dbeta (+finish)", mv, 4.0 * NC * (2 * L + 1), e * 2 * NC * (2 * L + 1),
               2 * (2 * L + 1)),
        Call("attention backward D = rowsum(dout * out)", "mem", 2.0 * NC, e * 2 * NC + 4 * N * NH, L),
        Call("attention flash backward dK/dV", "att_bwd", 4 * att_mm, e * 6 * NC + 8 * N * NH, L),
        Call("attention flash backward dQ", "att_bwd", 3 * att_mm, e * 6 * NC + 8 * N * NH, L),
        spread("encoder backward (wte buckets + wpe)", mv, NC, e * 4 * NC, 2),
    ]
    return [c for c in calls if c is not None]


def per_step(m, gpus, e=2):
    P = m.P
    calls = [
        Call("zero_grad memset", "memset", 0, e * P),
        spread("global norm (partials + finish)", "mem_vec" if ASSUME["vec"] else "mem", 2.0 * P, e * P, 17),
        # AdamW, bf16 build: reads param, grad, m, v, master (2e + 12), writes param, m, v, master (e + 12)
        spread("adamw (all tensors)", "mem_vec" if ASSUME["vec"] else "mem", 12.0 * P, (3 * e + 24) * P, 16),
    ]
    if gpus > 1:  # ring all-reduce: each GPU sends and receives 2 (g-1)/g of the bytes
        ring = 2.0 * (gpus - 1) / gpus
        layers = m.L * (12 * m.C * m.C + 13 * m.C)  # the per-layer tensors; the rest: wte, wpe, lnf
        calls.append(Call("NCCL all-reduce of the layers' gradients" +
                          (" (beside the last backward; only what outlasts it counts)" if ASSUME["overlap"] else ""),
                          "nccl", 0, e * layers * ring))
        calls.append(Call("NCCL all-reduce of wte, wpe, lnf gradients", "nccl_rest", 0, e * (P - layers) * ring))
    return calls


def gemm_eff(shape, g):
    """ASSUME gemm times the wave-quantisation loss of 128x128 output tiles over the SMs; a GEMM
    whose K is much longer than its output (a weight gradient) is assumed split along K."""
    M, N, K = shape
    t = ASSUME["gemm_tile"]
    tiles = math.ceil(M / t) * math.ceil(N / t)
    if K >= 4 * max(M, N):
        tiles = max(tiles, g["sms"] * 4)  # split-K fills the machine
    waves = math.ceil(tiles / g["sms"])
    return ASSUME["gemm"] * tiles / (waves * g["sms"])


def call_time(c, g):
    """Seconds of GPU time for one launch of c."""
    hbm = g["hbm"]
    if c.kind == "gemm":
        t = max(c.flops / (g["bf16"] * gemm_eff(c.shape, g)), c.bytes / (hbm * ASSUME["mem_vec"]))
    elif c.kind in ("att_fwd", "att_bwd"):
        t = max(c.flops / (g["bf16"] * ASSUME[c.kind]), c.bytes / (hbm * ASSUME["mem_vec"]))
    elif c.kind == "mem":
        t = c.bytes / (hbm * ASSUME["mem_scalar"])
    elif c.kind == "mem_vec":
        t = c.bytes / (hbm * ASSUME["mem_vec"])
    elif c.kind == "memset":
        t = c.bytes / (hbm * ASSUME["memset"])
    elif c.kind in ("nccl", "nccl_rest"):
        return c.bytes / g["busbw"]
    else:
        t = 0.0
    return t + ASSUME["launch_us"] * 1e-6


def total(calls, g):
    """(GPU seconds, launches, FLOPs, bytes) of a list of calls (each counted c.count times)."""
    t = sum(call_time(c, g) * c.count for c in calls if c.count)
    n = sum(c.count for c in calls if not c.kind.startswith("nccl"))
    return t, n, sum(c.flops for c in calls if c.count), sum(c.bytes for c in calls if c.count)


def activation_bytes_per_seq(m, e=2, flash=True):
    """Activation + backward scratch bytes per sequence of T tokens (gpt2_cuda.cuh's
    ensure_acts at B = 1); flash=False adds the T^2 attention matrix and fp32 dpre scratch."""
    L, C, NH, T = m.L, m.C, m.NH, m.T
    per_token = e * ((17 * L + 4) * C + VP) + 4 * (5 * L + 4) + e * 15 * C + 4 * 5  # acts, stats, bwd scratch, ints
    att = 4 * L * NH * T + 4 * NH * T if flash else e * L * NH * T * T + 4 * NH * T * T
    return per_token * T + att


def state_bytes(m):
    """bf16 params and grads, fp32 m, v and master weights."""
    return m.P * (2 + 2 + 4 + 4 + 4)


def estimate(name, tokens, B, T, gpus, gname, show_kernels=False):
    g = GPUS[gname]
    depth = DEPTH_OF[name.rsplit("-", 1)[-1]]
    m = Model(depth, T)
    seqs = tokens // T
    if seqs % (B * gpus):
        raise SystemExit("cost_model: %s: %d sequences per step are not a multiple of B=%d x %d GPUs" % (name, seqs, B, gpus))
    accum = seqs // (B * gpus)
    ms_calls, st_calls = micro_step(m, B), per_step(m, gpus)
    gpu_ms, launches, flops_ms, bytes_ms = total(ms_calls, g)
    ngemm = sum(c.count for c in ms_calls if c.kind == "gemm")
    host_ms = (launches - ngemm) * ASSUME["host_launch_us"] * 1e-6 + ngemm * ASSUME["host_gemm_us"] * 1e-6
    micro = max(gpu_ms, host_ms) + (0 if ASSUME["sync_per_step"] else ASSUME["sync_us"] * 1e-6)
    gpu_st, _, _, _ = total([c for c in st_calls if c.kind != "nccl"], g)
    if ASSUME["overlap"]:  # the layers' reduction hides behind the last backward as far as it lasts
        nccl = [c for c in st_calls if c.kind == "nccl"]
        gpu_st += max(0.0, sum(call_time(c, g) for c in nccl) - ASSUME["bwd_share"] * gpu_ms)
    else:
        gpu_st += total([c for c in st_calls if c.kind == "nccl"], g)[0]
    step = accum * micro + gpu_st + (ASSUME["sync_us"] * 1e-6 if ASSUME["sync_per_step"] else 0)
    mfu_flops = m.mfu_flops_per_token() * tokens / gpus
    mfu = mfu_flops / step / g["bf16"]
    mem = state_bytes(m) + B * activation_bytes_per_seq(m)
    r = dict(name=name, gpu=gname, gpus=gpus, B=B, accum=accum, step=step, micro=micro, gpu_ms=gpu_ms,
             host_ms=host_ms, mfu=mfu, tok_s=tokens / step, launches=launches, mem=mem, fits=mem < g["mem"],
             flops_ms=flops_ms, bytes_ms=bytes_ms, per_step=gpu_st)
    if show_kernels:
        print("\n%s on %d x %s, B=%d (%d micro-steps), per micro-step unless marked:" % (name, gpus, gname, B, accum))
        print("| kernel | launches | GFLOP | GB | est. ms | share |")
        print("|---|---|---|---|---|---|")
        rows = [(c, call_time(c, g) * c.count) for c in ms_calls if c.count] + \
               [(c, call_time(c, g) * c.count / accum) for c in st_calls]
        for c, t in sorted(rows, key=lambda x: -x[1]):
            print("| %s%s | %d | %.1f | %.3f | %.3f | %.1f%% |" % (
                c.name, " (per step / %d)" % accum if c in st_calls else "", c.count, c.flops / 1e9, c.bytes / 1e9,
                t * 1e3, 100 * t / micro))
    return r


def pick_batch(tokens, T, gpus, want, g, depth):
    """The preset's B when it divides the sequences per GPU, else (and for -b 0, which the
    trainer's memory plan resolves, train/plan.h) the largest divisor that fits."""
    per_gpu = tokens // T // gpus
    if want and (tokens // T) % gpus == 0 and per_gpu % want == 0:
        return want
    m = Model(depth, T)
    fits = [b for b in range(1, per_gpu + 1) if per_gpu % b == 0
            and state_bytes(m) + b * activation_bytes_per_seq(m) < 0.9 * g["mem"]]
    return max(fits) if fits else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", action="append", help="a preset name of docs/training.md (default: paper-b-small and paper-b-xl)")
    ap.add_argument("--gpus", type=int, help="GPUs (default: 1 for small/medium, 8 for large/xl)")
    ap.add_argument("--gpu", choices=sorted(GPUS), action="append")
    ap.add_argument("--batch", type=int, help="B per GPU (default: the preset's when it divides, else the largest that fits)")
    ap.add_argument("--kernels", action="store_true", help="print the per-kernel table too")
    ap.add_argument("--ladder", action="store_true", help="print MFU as each LADDER improvement is added")
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    a = ap.parse_args()
    pre = presets(os.path.join(a.root, "docs/training.md"))
    load_peaks(os.path.join(a.root, "cuda/gpu_peaks.h"))
    names = a.preset or ["paper-b-small", "paper-b-xl"]
    gpu_names = a.gpu or ["H100-SXM", "H200", "A100-SXM"]
    print("ESTIMATE (no GPU measurement): scripts/cost_model.py, assumptions in its ASSUME and GPUS tables")
    print("| preset | GPU | GPUs | B | micro-steps | est. step s | est. tok/s | est. MFU | GPU mem GB (est.) |")
    print("|---|---|---|---|---|---|---|---|---|")
    results = []
    for n in names:
        if n not in pre or not n.startswith("paper-"):
            raise SystemExit("cost_model: no GPT-2 paper preset %r in docs/training.md" % n)
        tokens, B0, T = pre[n]
        depth = DEPTH_OF[n.rsplit("-", 1)[-1]]
        gpus = a.gpus or (8 if depth >= 36 else 1)
        for gn in gpu_names:
            B = a.batch or pick_batch(tokens, T, gpus, B0, GPUS[gn], depth)
            r = estimate(n, tokens, B, T, gpus, gn)
            results.append(r)
            print("| %s | %s | %d | %d | %d | %.2f | %.0f | %.1f%% | %.0f%s |" % (
                n, gn, gpus, B, r["accum"], r["step"], r["tok_s"], 100 * r["mfu"], r["mem"] / 1e9,
                "" if r["fits"] else " (does not fit)"))
    if a.ladder:
        print("\nWhat separates the estimate from more (cumulative, ESTIMATES):")
        print("| change | " + " | ".join("%s %s x%d (B=%d)" % (r["name"], r["gpu"], r["gpus"], r["B"]) for r in results) + " |")
        print("|---|" + "---|" * len(results))
        saved = dict(ASSUME)
        for what, change in LADDER:
            ASSUME.update(change)
            cells = []
            for r in results:
                e = estimate(r["name"], pre[r["name"]][0], r["B"], pre[r["name"]][2], r["gpus"], r["gpu"])
                cells.append("%.1f%% (%.2f s)" % (100 * e["mfu"], e["step"]))
            print("| %s | %s |" % (what, " | ".join(cells)))
        ASSUME.clear()
        ASSUME.update(saved)
    if a.kernels:
        for r in results:
            estimate(r["name"], pre[r["name"]][0], r["B"], pre[r["name"]][2], r["gpus"], r["gpu"], True)
    xl = Model(48, 1024)
    print("\nActivation + backward scratch per sequence, GPT-2 XL (L=48, NH=25, T=1024, C=1600, bf16):")
    print("  with the T^2 attention matrix (bf16) and fp32 dpre scratch: %.2f GiB" % (activation_bytes_per_seq(xl, flash=False) / 2**30))
    print("  flash attention (fp32 log-sum-exp and D only):              %.2f GiB" % (activation_bytes_per_seq(xl) / 2**30))
    print("  T^2 share removed: attention matrix %.2f GiB + dpre %.3f GiB; LSE + D added: %.4f GiB" % (
        2 * 48 * 25 * 1024 * 1024 / 2**30, 4 * 25 * 1024 * 1024 / 2**30, (4 * 48 * 25 * 1024 + 4 * 25 * 1024) / 2**30))
    return 0


if __name__ == "__main__":
    sys.exit(main())
