#!/usr/bin/env python3
"""Independent figures for tests/train/test_plan.cpp: the memory of a GPT-2 run per rank,
counted here from the model's shapes by hand (not by train/plan.cpp). Prints the C++ table
the test holds. Usage: plan_figures.py > /tmp/figures.txt (then paste).

Per rank, BF16 build (2-byte parameters, gradients and activations; fp32 m, v, masters):
  P = Vp*C + maxT*C + L*(12*C*C + 13*C) + 2*C
  -z 0: 2P + 2P + 4P*3            -z 1 over R ranks, S = ceil(P/R): 2P + 2*R*S + 4*S*3
  activations of B sequences of T (N = B*T), bytes:
    2 * ( N*C*(L*(1 + 3 + 1 + 1 + 4) + Lln*(2 + 1) + Lg*4 + 4 + 3 + 4 + 4 + 1 + 1)   # per-layer and one-off
          + N*Vp )                                                                        # logits
    + 4 * ( 5*L*N + 5*N + 2*ceil(N/8) + 2*ceil(N/32)*C + ceil(N/256)*4*C                  # fp32
            + L*N*NH + N*NH )                                                             # attention lse, D
    + 4 * ( 5*N + 1 )                                                                    # int32
  where Lg = 1 with -r >= 1 (else L) and Lln = 1 with -r 2 (else L).
  A run in which no ln_1 ever splits (no ln1qk/ln1v removal: the vanilla preset) has no V
  path buffers: ln1v (Lln*N*C), dlnv (N*C) and ln1v's rstd (L*N fp32) drop out.
  The largest B: activations(B) <= GiB*2^30 - 2 GiB headroom - state.
"""
import math

SIZES = [("Small", 12, 768, 12), ("Medium", 24, 1024, 16), ("Large", 36, 1280, 20), ("XL", 48, 1600, 25)]
Vp, maxT, T = 50304, 1024, 1024


def params(L, C):
    return Vp * C + maxT * C + L * (12 * C * C + 13 * C) + 2 * C


def state(L, C, R, z, fx=2, master=True):
    P = params(L, C)
    S = P if (z == 0 or R == 1) else -(-P // R)
    g = P if (z == 0 or R == 1) else S * R
    return fx * P + fx * g + 4 * S * (3 if master else 2)


def acts(L, C, NH, B, r, fx=2, split=True):
    N = B * T
    Lg = 1 if r >= 1 else L
    Lln = 1 if r >= 2 else L
    v = 1 if split else 0  # the V path's buffers
    # per layer: qkv 3, atty 1, residual2 1, fch 4, residual3 1 = 10 ; ln1, ln1v, ln2 (Lln) ; fch_gelu 4 (Lg)
    # one-off: encoded 1, attproj 1, fcproj 1, lnf 1 = 4 ; backward dres, dln, dlnv, datty 4 ; dqkv 3 ; dfch 4 ; dfchg 4
    x = N * C * (L * 10 + Lln * (2 + v) + Lg * 4 + 4 + (3 + v) + 3 + 4 + 4) + N * Vp
    # flash-style attention keeps a log-sum-exp per (layer, token, head) and its backward a D per (token, head)
    # per layer and token: ln1 mean, rstd, ln1v rstd, ln2 mean, rstd = 5 (4 without a split);
    # per token: lnf mean and rstd, losses, the logits' log-sum-exp, aux sigma = 5
    f = (4 + v) * L * N + 5 * N + 2 * math.ceil(N / 8) + 2 * math.ceil(N / 32) * C + math.ceil(N / 256) * 4 * C
    f += L * N * NH + N * NH
    i = 5 * N + 1
    return fx * x + 4 * f + 4 * i


def max_b(L, C, NH, R, z, r, gib):
    avail = gib * 2**30 - 2 * 2**30 - state(L, C, R, z)
    b = 0
    while acts(L, C, NH, b + 1, r) <= avail:
        b += 1
    return b


if __name__ == "__main__":
    for name, L, C, NH in SIZES:
        print(f"// {name}: P = {params(L, C)}, state -z 0 = {state(L, C, 1, 0)} bytes, "
              f"activations per sequence -r 0/1/2 = {acts(L, C, NH, 1, 0)}/{acts(L, C, NH, 1, 1)}/{acts(L, C, NH, 1, 2)}"
              f", without a split {acts(L, C, NH, 1, 0, split=False)}/{acts(L, C, NH, 1, 1, split=False)}"
              f"/{acts(L, C, NH, 1, 2, split=False)}")
    for name, L, C, NH in SIZES:
        for gib in (40, 80, 141):
            for z in (0, 1):
                for r in (0, 1, 2):
                    mb = [max_b(L, C, NH, R, z, r, gib) for R in range(1, 9)]
                    print(f'    {{"{name}", {gib}, {z}, {r}, {{{", ".join(map(str, mb))}}}}},')
