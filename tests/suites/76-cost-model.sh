#!/usr/bin/env bash
# scripts/cost_model.py (the ESTIMATED step time and MFU of kernels/README.md) runs on every
# GPU and preset it prints, reads the presets from docs/training.md's table (kept equal to train/presets.cpp by a test), and its kernel list keeps
# three invariants derived here independently: the GEMM FLOPs of a micro-step are 6 x (matmul
# weights) x tokens; the flash kernels execute 9 T x T x hs products per layer over the
# computed causal tiles; the parameter count is GPT-2's (124,475,904 for d12 with Vp=50304); the
# gradient all-reduce (split into the layers' part and wte/wpe/lnf since issue 10's overlap)
# still moves 2 (g-1)/g x 2 bytes per parameter.
# Each check compares against a number computed from the shapes, never from the script.
# needs:
set -u
. tests/lib.sh
if out=$("$PY" scripts/cost_model.py --ladder --kernels 2>&1) && echo "$out" | grep -q '^| paper-b-xl | H100-SXM | 8 |' \
   && echo "$out" | grep -q '^| paper-b-small | A100-SXM | 1 | 128 | 4 |'; then
  ok "cost_model.py prints paper-b-small (1 GPU; the preset's -b 0: 128, the largest divisor of its 512 sequences that fits, x 4) and paper-b-xl (8 GPUs) on 3 GPUs, ladder and kernel tables"
else bad "cost_model.py run"; echo "$out" | tail -5; fi
if "$PY" - <<'PYEOF'
import sys
sys.path.insert(0, "scripts")
import cost_model as cm
cm.load_peaks("cuda/gpu_peaks.h")
bad = 0
for L, C, NH in ((12, 768, 12), (48, 1600, 25)):
    m = cm.Model(L, 1024)
    B, T = 3, 1024
    N = B * T
    calls = cm.micro_step(m, B)
    got = sum(c.flops * c.count for c in calls if c.kind == "gemm")
    want = 6.0 * (L * 12 * C * C + 50304 * C) * N  # qkv 3C^2 + proj C^2 + fc 4C^2 + fcproj 4C^2, lm head
    if abs(got - want) > 1e-9 * want:
        print("d%d GEMM FLOPs %.6g, expected %.6g" % (L, got, want)); bad += 1
    tiles = 16 * 17 / 2  # 64-wide tiles of T=1024 on or below the diagonal
    want_att = 9 * 2.0 * B * NH * (64 * 64 * tiles) * (C // NH) * L
    got_att = sum(c.flops * c.count for c in calls if c.kind.startswith("att_"))
    if abs(got_att - want_att) > 1e-9 * want_att:
        print("d%d attention FLOPs %.6g, expected %.6g" % (L, got_att, want_att)); bad += 1
# the two all-reduce calls together move a ring all-reduce of all 2-byte gradients:
# 2 (g-1)/g x 2 bytes x P per GPU (XL with Vp 50304: 50304*1600 + 1024*1600 + 48*(12*1600^2
# + 13*1600) + 2*1600 = 1,557,686,400 parameters; 8 GPUs)
ar = sum(c.bytes for c in cm.per_step(cm.Model(48, 1024), 8) if c.kind.startswith("nccl"))
if abs(ar - 2 * 7 / 8 * 2 * 1557686400) > 1:
    print("XL all-reduce bytes %.0f" % ar); bad += 1
if cm.Model(12, 1024).P != 124475904:
    print("d12 parameters %d" % cm.Model(12, 1024).P); bad += 1
sys.exit(bad)
PYEOF
then ok "GEMM FLOPs = 6 x matmul weights x tokens, flash FLOPs = 9 causal-tile products per layer, d12 has 124,475,904 parameters, XL's all-reduce moves 2 x 7/8 x 2 B per parameter"
else bad "cost model invariants"; fi
report cost-model
