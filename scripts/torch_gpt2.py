#!/usr/bin/env python3
"""An independent PyTorch GPT-2 with noln's LayerNorm path machinery (docs/method.md §1-4).

It writes tiny random models (llm.c v3 .bin files with noln's LN trailer) and llm.c-style
debug states (inputs, targets, logits, loss, every parameter gradient, plus noln's trailer
with the CE/aux split, AdamW settings and the losses of 10 AdamW steps on the same batch),
for the LN configurations the CPU model is checked on (test_gpt2_cpu). The reference runs
in float64; the parameters it starts from are float32 values, so the C++ fp32 model and
this script start from the same point.

Configuration (e) is (b) with the exact erf GELU (F.gelu approximate='none', nanoGPT's and
so paper (a)'s): check it with `test_gpt2_cpu MODEL STATE erf`.

Usage: /usr/bin/python3 scripts/torch_gpt2.py OUTDIR [--configs a,b,c,d,e] [shape options]
Writes OUTDIR/cfg_X_model.bin and OUTDIR/cfg_X_state.bin per configuration, and
OUTDIR/cfg_b_state_perturbed.bin (one gradient element nudged) for the negative test.
Shape options (default: the tiny L=3 NH=4 C=32 V=97 Vp=128, B=2 T=12, 10 AdamW steps):
--layers, --heads, --width, --vocab, --padded-vocab, --batch, --seq (T; max_seq_len is max(T, 16)),
--steps; `--shape small` / `--shape xl` are GPT-2 Small's and XL's width and heads at
T=1024 (3 layers, V=2001, Vp=2048, B=2, 2 steps), what make gpu-check runs on a GPU.
The tiny default runs on one thread (reproducible timing in the suites); larger shapes use
every core.
"""
import argparse
import math
import os
import struct

import numpy as np
import torch

EPS = 1e-5
# The shape every configuration is built at (main() may change it from the command line).
SHAPE = {"L": 3, "NH": 4, "C": 32, "V": 97, "Vp": 128, "B": 2, "T": 12, "steps": 10}
SHAPES = {"small": {"L": 3, "NH": 12, "C": 768, "V": 2001, "Vp": 2048, "B": 2, "T": 1024, "steps": 2},
          "xl": {"L": 3, "NH": 25, "C": 1600, "V": 2001, "Vp": 2048, "B": 2, "T": 1024, "steps": 2}}
PARAM_NAMES = ["wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
               "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"]
DECAYED = {"wte", "wpe", "qkvw", "attprojw", "fcw", "fcprojw"}


class Cfg:
    def __init__(self, maxT=16, V=97, Vp=128, L=3, NH=4, C=32, gelu="tanh"):
        self.maxT, self.V, self.Vp, self.L, self.NH, self.C = maxT, V, Vp, L, NH, C
        self.gelu = gelu  # "tanh" (GPT-2's) or "erf" (exact)

    def shapes(self):
        maxT, Vp, L, C = self.maxT, self.Vp, self.L, self.C
        return {"wte": (Vp, C), "wpe": (maxT, C), "ln1w": (L, C), "ln1b": (L, C),
                "qkvw": (L, 3 * C, C), "qkvb": (L, 3 * C), "attprojw": (L, C, C),
                "attprojb": (L, C), "ln2w": (L, C), "ln2b": (L, C), "fcw": (L, 4 * C, C),
                "fcb": (L, 4 * C), "fcprojw": (L, C, 4 * C), "fcprojb": (L, C),
                "lnfw": (C,), "lnfb": (C,)}


def random_params(cfg, gen):
    """float32-valued random weights, large enough that every path matters. Matrices scale
    as 1/sqrt(width) (exactly the tiny shape's 0.15 at C=32), so wider models keep
    activations of the same size."""
    p = {}
    ws = math.sqrt(32.0 / cfg.C)
    for name, shape in cfg.shapes().items():
        if name in ("ln1w", "ln2w", "lnfw"):
            t = 1.0 + 0.2 * torch.randn(shape, generator=gen)
        elif name in ("wte", "wpe"):
            t = 0.5 * torch.randn(shape, generator=gen)
        elif name in DECAYED:
            t = (0.15 * ws) * torch.randn(shape, generator=gen)
        else:  # biases and LN betas
            t = 0.1 * torch.randn(shape, generator=gen)
        p[name] = t.float()
    p["wte"][cfg.V:] = 0  # vocab padding rows
    return p


class LN:
    """One LayerNorm path: REAL, or FROZEN with divisor sigma (sigma_bos for the specials)."""
    def __init__(self, frozen=False, sigma=1.0, sigma_bos=1.0):
        self.frozen, self.sigma, self.sigma_bos = frozen, sigma, sigma_bos


class LNConfig:
    def __init__(self, L, bos_special=False, eot_special=False, eot_token=0):
        self.ln2 = [LN() for _ in range(L)]
        self.ln1qk = [LN() for _ in range(L)]
        self.ln1v = [LN() for _ in range(L)]
        self.lnf = LN()
        self.bos_special, self.eot_special, self.eot_token = bos_special, eot_special, eot_token


def layer_norm(x, w, b, path, lncfg, tokens, is_v):
    mu = x.mean(-1, keepdim=True)
    if not path.frozen:
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + EPS) * w + b
    s = torch.full(x.shape[:2], float(np.float32(path.sigma)), dtype=x.dtype)
    sb = float(np.float32(path.sigma_bos))
    if lncfg.bos_special:
        s[:, 0] = sb
    if lncfg.eot_special and is_v:
        s[tokens == lncfg.eot_token] = sb
    return (x - mu) / s[..., None] * w + b


def gelu(x, kind="tanh"):
    if kind == "erf":
        return torch.nn.functional.gelu(x, approximate="none")
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def forward(cfg, p, lncfg, x, y, aux_lambda):
    """Returns (loss, ce, aux, logits[:, :, :V]). Every ln_1 is computed as two paths; when
    the paths agree that is the same as one normalisation."""
    B, T = x.shape
    C, NH, V = cfg.C, cfg.NH, cfg.V
    hs = C // NH
    h = p["wte"][x] + p["wpe"][:T]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for l in range(cfg.L):
        xqk = layer_norm(h, p["ln1w"][l], p["ln1b"][l], lncfg.ln1qk[l], lncfg, x, False)
        xv = layer_norm(h, p["ln1w"][l], p["ln1b"][l], lncfg.ln1v[l], lncfg, x, True)
        W, bias = p["qkvw"][l], p["qkvb"][l]
        qk = xqk @ W[:2 * C].T + bias[:2 * C]
        v = xv @ W[2 * C:].T + bias[2 * C:]
        q, k = qk[..., :C], qk[..., C:]
        q, k, v = (t.view(B, T, NH, hs).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hs)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        a = (att @ v).transpose(1, 2).reshape(B, T, C)
        h = h + a @ p["attprojw"][l].T + p["attprojb"][l]
        m = layer_norm(h, p["ln2w"][l], p["ln2b"][l], lncfg.ln2[l], lncfg, x, False)
        m = gelu(m @ p["fcw"][l].T + p["fcb"][l], cfg.gelu)
        h = h + m @ p["fcprojw"][l].T + p["fcprojb"][l]
    f = layer_norm(h, p["lnfw"], p["lnfb"], lncfg.lnf, lncfg, x, False)
    logits = (f @ p["wte"].T)[..., :V]
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1), ignore_index=-1)
    aux = torch.zeros((), dtype=h.dtype)
    if aux_lambda > 0:
        mu = h.mean(-1, keepdim=True)
        sig = torch.sqrt(((h - mu) ** 2).mean(-1) + EPS)
        pos = torch.arange(T)[None, :].expand(B, T)
        sel = (pos > 0) & (x != lncfg.eot_token)
        S = (sig[sel].mean() if sel.any() else sig.mean()).detach()
        aux = aux_lambda * ((sig - S) ** 2).mean()
    return ce + aux, ce, aux, logits


def write_model(path, cfg, p, lncfg):
    hdr = np.zeros(256, dtype="<i4")
    hdr[:8] = [20240326, 3, cfg.maxT, cfg.V, cfg.L, cfg.NH, cfg.C, cfg.Vp]
    tr = np.zeros(256, dtype="<i4")
    tr[:6] = [20241120, 1, cfg.L, int(lncfg.bos_special) | (int(lncfg.eot_special) << 1),
              lncfg.eot_token, 3 * cfg.L + 1]
    recs = b"".join(struct.pack("<iff", int(q.frozen), q.sigma, q.sigma_bos)
                    for q in lncfg.ln2 + lncfg.ln1qk + lncfg.ln1v + [lncfg.lnf])
    with open(path + ".tmp", "wb") as f:
        f.write(hdr.tobytes())
        for n in PARAM_NAMES:
            f.write(p[n].numpy().astype("<f4").tobytes())
        f.write(tr.tobytes())
        f.write(recs)
    os.replace(path + ".tmp", path)


def write_state(path, x, y, logits, loss, grads, aux_lambda, ce, aux, opt, losses):
    B, T = x.shape
    hdr = np.zeros(256, dtype="<i4")
    hdr[:4] = [20240327, 2, B, T]
    ti = np.zeros(16, dtype="<i4")
    ti[:3] = [20241121, 1, len(losses)]
    tf = np.zeros(16, dtype="<f4")
    tf[:8] = [aux_lambda, ce, aux, opt["lr"], opt["beta1"], opt["beta2"], opt["eps"], opt["wd"]]
    with open(path + ".tmp", "wb") as f:
        f.write(hdr.tobytes())
        f.write(x.numpy().astype("<i4").tobytes())
        f.write(y.numpy().astype("<i4").tobytes())
        f.write(logits.detach().numpy().astype("<f4").tobytes())
        f.write(np.array([loss], dtype="<f4").tobytes())
        for n in PARAM_NAMES:
            f.write(grads[n].numpy().astype("<f4").tobytes())
        f.write(ti.tobytes())
        f.write(tf.tobytes())
        f.write(np.array(losses, dtype="<f4").tobytes())
    os.replace(path + ".tmp", path)


def make_case(name, gen):
    """The configurations: (a) all REAL; (b) REAL/FROZEN mix with split QKV; (c) BOS/EOT
    specials; (d) aux loss with EOT tokens and masked targets; (e) = (b) with the erf GELU."""
    cfg = Cfg(maxT=max(SHAPE["T"], 16), V=SHAPE["V"], Vp=SHAPE["Vp"], L=SHAPE["L"], NH=SHAPE["NH"], C=SHAPE["C"],
              gelu="erf" if name == "e" else "tanh")
    L, V = cfg.L, cfg.V
    eot = V - 1
    B, T = SHAPE["B"], SHAPE["T"]
    opt = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "wd": 0.0}
    lam = 0.0
    ln = LNConfig(L, eot_token=eot)
    x = torch.randint(0, V - 1, (B, T), generator=gen)
    if name in ("b", "e"):
        ln.ln2[0] = LN(True, 0.8)
        ln.ln2[1] = LN(True, 1.3)
        ln.ln1qk[0] = LN(True, 0.9)           # split: qk FROZEN, v REAL
        ln.ln1v[1] = LN(True, 1.1)            # split: qk REAL, v FROZEN
        ln.ln1qk[2] = LN(True, 0.7)           # split: both FROZEN, different sigmas
        ln.ln1v[2] = LN(True, 1.2)
        opt["wd"] = 0.1
    elif name == "c":
        ln.bos_special = ln.eot_special = True
        ln.ln2[0] = LN(True, 0.8, 2.5)
        ln.ln1qk[0] = LN(True, 0.9, 3.0)      # same sigmas on both ln1 paths: EOT still splits
        ln.ln1v[0] = LN(True, 0.9, 3.0)
        ln.ln1v[1] = LN(True, 1.1, 0.4)
        ln.ln2[2] = LN(True, 1.4, 1.9)
        ln.lnf = LN(True, 1.6, 2.2)
        x[0, 3] = eot
        x[1, 0] = eot
        x[1, 7] = eot
    elif name == "d":
        lam = 0.1
        ln.ln2[0] = LN(True, 0.8)
        ln.ln1v[0] = LN(True, 1.05)
        x[0, 5] = eot
        x[1, 2] = eot
        x[1, 9] = eot
        opt.update(beta2=0.999, wd=0.01)
    y = torch.randint(0, V, (B, T), generator=gen)
    if name == "d":
        y[0, 4] = -1
        y[1, 1] = -1
        y[1, 8] = -1
    return cfg, ln, x, y, lam, opt


def run_case(name, outdir, perturb):
    gen = torch.Generator().manual_seed(1234 + ord(name))
    cfg, ln, x, y, lam, opt = make_case(name, gen)
    p32 = random_params(cfg, gen)
    write_model(os.path.join(outdir, f"cfg_{name}_model.bin"), cfg, p32, ln)
    p = {n: t.double().requires_grad_(True) for n, t in p32.items()}
    loss, ce, aux, logits = forward(cfg, p, ln, x, y, lam)
    loss.backward()
    grads = {n: t.grad.detach().clone() for n, t in p.items()}
    first = (logits.detach().clone(), float(loss), float(ce), float(aux))

    groups = [{"params": [p[n] for n in PARAM_NAMES if n in DECAYED], "weight_decay": opt["wd"]},
              {"params": [p[n] for n in PARAM_NAMES if n not in DECAYED], "weight_decay": 0.0}]
    adam = torch.optim.AdamW(groups, lr=opt["lr"], betas=(opt["beta1"], opt["beta2"]),
                             eps=opt["eps"])
    losses = []
    for _ in range(SHAPE["steps"]):
        adam.zero_grad()
        l, _, _, _ = forward(cfg, p, ln, x, y, lam)
        losses.append(float(l))
        l.backward()
        adam.step()

    logits0, loss0, ce0, aux0 = first
    state = os.path.join(outdir, f"cfg_{name}_state.bin")
    write_state(state, x, y, logits0, loss0, grads, lam, ce0, aux0, opt, losses)
    print(f"cfg {name}: loss {loss0:.6f} (ce {ce0:.6f} aux {aux0:.6f}), "
          f"after {SHAPE['steps']} AdamW steps {losses[-1]:.6f} -> {state}")
    if perturb:
        # One small gradient element nudged by 1e-3 of its tensor's largest magnitude: far
        # below anything a human would spot, far above the check's tolerance.
        g = {n: t.clone() for n, t in grads.items()}
        g["ln1w"].view(-1)[5] += 1e-3 * g["ln1w"].abs().max()
        bad = os.path.join(outdir, f"cfg_{name}_state_perturbed.bin")
        write_state(bad, x, y, logits0, loss0, g, lam, ce0, aux0, opt, losses)
        print(f"cfg {name}: perturbed copy -> {bad}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--configs", default="a,b,c,d,e")
    ap.add_argument("--shape", choices=sorted(SHAPES), help="a preset shape (see the usage)")
    for opt, key in [("--layers", "L"), ("--heads", "NH"), ("--width", "C"), ("--vocab", "V"),
                     ("--padded-vocab", "Vp"), ("--batch", "B"), ("--seq", "T"), ("--steps", "steps")]:
        ap.add_argument(opt, type=int, dest=key)
    args = ap.parse_args()
    if args.shape:
        SHAPE.update(SHAPES[args.shape])
    for key in SHAPE:
        if getattr(args, key, None) is not None:
            SHAPE[key] = getattr(args, key)
    if SHAPE["L"] < 3 or SHAPE["T"] < 12 or SHAPE["B"] < 2 or SHAPE["C"] % SHAPE["NH"] or SHAPE["Vp"] < SHAPE["V"]:
        # the configurations set paths of layers 0-2 and tokens up to position 9 of batch row 1
        raise SystemExit("torch_gpt2.py: need layers >= 3, seq >= 12, batch >= 2, heads dividing width, "
                         "padded vocab >= vocab")
    os.makedirs(args.outdir, exist_ok=True)
    torch.set_num_threads(1 if SHAPE["C"] <= 64 else (os.cpu_count() or 1))
    for name in args.configs.split(","):
        if name not in "abcde" or len(name) != 1:
            raise SystemExit(f"torch_gpt2.py: unknown configuration '{name}' (a, b, c, d or e)")
        run_case(name, args.outdir, perturb=(name == "b"))


if __name__ == "__main__":
    main()
