#!/usr/bin/env python3
"""PyTorch peer of bench_cpu: the same GPT-2 shapes, trained the same way, timed the same way.

For each configuration it runs bench_cpu (--ours) in a subprocess, then a plain nn.Module
GPT-2 of the same shape in fp32 (tied embeddings, padded vocab, tanh GELU, causal attention
written out, AdamW, global norm clipping) with torch.set_num_threads equal to bench_cpu's
threads, and prints both throughputs and their ratio (ours / torch).

Usage: /usr/bin/python3 bench/bench_torch.py --ours build/bench/bench_cpu
           [--configs demo,d4,d6,d12] [--threads N] [--steps N] [--torch-only]
"""
import argparse
import math
import os
import re
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# name: (L, C, NH, B, T), the same table as PRESETS in bench/bench_cpu.cpp
PRESETS = {"demo": (4, 64, 4, 16, 64), "d4": (4, 256, 4, 8, 64), "d6": (6, 384, 6, 4, 128),
           "d12": (12, 768, 12, 4, 64)}
V, VP = 50257, 50304


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.nh = NH
        self.ln1, self.ln2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.qkv, self.proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.fc, self.fcproj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

    def forward(self, x, mask):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.nh, C // self.nh).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // self.nh))
        att = att.masked_fill(mask[:T, :T], float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.proj(y)
        return x + self.fcproj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT2(nn.Module):
    def __init__(self, L, C, NH, maxT):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(VP, C), nn.Embedding(maxT, C)
        self.blocks = nn.ModuleList(Block(C, NH) for _ in range(L))
        self.lnf = nn.LayerNorm(C)
        self.register_buffer("mask", torch.ones(maxT, maxT, dtype=torch.bool).triu(1))
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for b in self.blocks:
            x = b(x, self.mask)
        logits = self.lnf(x) @ self.wte.weight.t()  # tied unembedding, padded columns too
        return F.cross_entropy(logits[..., :V].reshape(-1, V), targets.reshape(-1))


def bench_torch(name, steps, warmup):
    L, C, NH, B, T = PRESETS[name]
    torch.manual_seed(0)
    model = GPT2(L, C, NH, T)
    decay = [p for p in model.parameters() if p.dim() == 2]
    other = [p for p in model.parameters() if p.dim() != 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": other, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.95), eps=1e-8)
    idx = torch.randint(0, V, (B, T))
    tg = torch.randint(0, V, (B, T))
    t_fwd, t_bwd, t_opt, t_step = [], [], [], []
    for s in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        loss = model(idx, tg)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        t3 = time.perf_counter()
        if s >= warmup:
            t_fwd.append(t1 - t0)
            t_bwd.append(t2 - t1)
            t_opt.append(t3 - t2)
            t_step.append(t3 - t0)
    med = lambda v: sorted(v)[len(v) // 2]
    step = med(t_step)
    print(f"torch {name}: forward {1e3 * med(t_fwd):.2f} ms  backward {1e3 * med(t_bwd):.2f} ms"
          f"  clip+adamw {1e3 * med(t_opt):.2f} ms  step {1e3 * step:.2f} ms"
          f"  tokens/s {B * T / step:.0f} (loss {loss.item():.4f})", flush=True)
    return B * T / step


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ours", default="build/bench/bench_cpu")
    ap.add_argument("--configs", default="demo,d4,d6,d12")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--torch-only", action="store_true")
    a = ap.parse_args()
    names = a.configs.split(",")
    for n in names:
        if n not in PRESETS:
            sys.exit(f"bench_torch.py: unknown config '{n}' (known: {', '.join(PRESETS)})")
    torch.set_num_threads(a.threads)
    rows = []
    for n in names:
        ours = None
        if not a.torch_only:
            cmd = [a.ours, "--config", n, "--threads", str(a.threads), "--steps", str(a.steps),
                   "--warmup", str(a.warmup)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            sys.stdout.write(r.stdout)
            if r.returncode != 0:
                sys.exit(f"bench_torch.py: {' '.join(cmd)} failed:\n{r.stderr}")
            m = re.search(r"^RESULT \S+ tokens_per_s=([0-9.]+)", r.stdout, re.M)
            ours = float(m.group(1))
        theirs = bench_torch(n, a.steps, a.warmup)
        rows.append((n, ours, theirs))
    print(f"\nsummary ({a.threads} threads, torch {torch.__version__}): training tokens/s")
    print(f"{'config':8} {'ours':>10} {'torch':>10} {'ours/torch':>11}")
    for n, ours, theirs in rows:
        o = f"{ours:10.0f}" if ours else f"{'-':>10}"
        ratio = f"{ours / theirs:11.2f}" if ours else f"{'-':>11}"
        print(f"{n:8} {o} {theirs:10.0f} {ratio}")


if __name__ == "__main__":
    main()
