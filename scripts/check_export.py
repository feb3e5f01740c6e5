#!/usr/bin/python3
"""Check an LN-free Hugging Face export (model.safetensors + config.json) without
`transformers`: load it into a small GPT-2 written here that computes exactly what HF's
GPT2LMHeadModel computes (torch.nn.functional.layer_norm with the config's epsilon, GELU
tanh approximation, causal attention, tied unembedding), then compare its logits with the
engine's logits for the same tokens.

    /usr/bin/python3 scripts/check_export.py EXPORT_DIR --ref REF.bin [--tol 1e-3] [--folded]

--folded checks an exact folded export (noln_eval export-folded, docs/export.md): its lm_head
is untied, and it is run twice, once as stock GPT2LMHeadModel computes it (the identity
LayerNorm modules as stored) and once with no LayerNorm at all (each LN the identity, the
unembedding bias b_U[v] = sum of lm_head row v); both must match the engine.

REF.bin (written by the engine side, eval/export_hf.h write_logits_ref, e.g. via ./noln_eval ref; see docs/export.md):
    int32[4] header: magic 20250603, B, T, V
    int32[B*T]       tokens
    float32[B*T*V]   logits (unpadded V)
Without --ref the script only loads the export and runs a forward on a few tokens.
Exit status 0 when the max |logit difference| <= tol * max(1, max |engine logit|), else 1.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

REF_MAGIC = 20250603
DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64,
          "I32": np.int32, "U8": np.uint8, "BOOL": np.bool_}


def die(msg):
    print(f"check_export: {msg}", file=sys.stderr)
    sys.exit(1)


def read_safetensors(path):
    """safetensors: u64 header length, JSON header {name: {dtype, shape, data_offsets}}, data."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        die(f"{path}: truncated (no header length)")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        die(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = info["dtype"]
        if dt == "BF16":  # widen bf16 to fp32 by shifting into the high half
            a, b = info["data_offsets"]
            u16 = np.frombuffer(data[a:b], dtype=np.uint16).astype(np.uint32) << 16
            arr = u16.view(np.float32)
        elif dt in DTYPES:
            a, b = info["data_offsets"]
            if b > len(data):
                die(f"{path}: tensor {name} runs past the end of the file")
            arr = np.frombuffer(data[a:b], dtype=DTYPES[dt])
        else:
            die(f"{path}: tensor {name} has unsupported dtype {dt}")
        out[name] = arr.reshape(info["shape"]).copy()
    return out


class HFGPT2:
    """GPT2LMHeadModel's forward, from an HF state dict (Conv1D weights are (in, out))."""

    def __init__(self, sd, cfg, dtype, folded=False):
        def get(name):
            for key in (name, "transformer." + name):
                if key in sd:
                    return torch.from_numpy(sd[key]).to(dtype)
            die(f"export has no tensor {name}")
        self.L, self.NH = cfg["n_layer"], cfg["n_head"]
        self.eps = float(cfg["layer_norm_epsilon"])
        self.wte, self.wpe = get("wte.weight"), get("wpe.weight")
        self.C = self.wte.shape[1]
        self.blocks = []
        for l in range(self.L):
            p = f"h.{l}."
            self.blocks.append({k: get(p + k) for k in (
                "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
                "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")})
        self.lnf_w, self.lnf_b = get("ln_f.weight"), get("ln_f.bias")
        self.unembed = self.wte
        if folded:  # an untied lm_head (config tie_word_embeddings false)
            if "lm_head.weight" not in sd:
                die("a folded export needs lm_head.weight (the untied unembedding)")
            self.unembed = torch.from_numpy(sd["lm_head.weight"]).to(dtype)
            if self.unembed.shape != self.wte.shape:
                die(f"lm_head.weight has shape {tuple(self.unembed.shape)}, wte {tuple(self.wte.shape)}")
        # HF ties lm_head to wte; an explicit lm_head.weight must then equal wte
        elif "lm_head.weight" in sd:
            lm = torch.from_numpy(sd["lm_head.weight"]).to(dtype)
            if lm.shape != self.wte.shape or not torch.equal(lm, self.wte):
                die("lm_head.weight differs from wte.weight (the unembedding must be tied)")

    def ln(self, x, w, b):
        return F.layer_norm(x, (self.C,), w, b, self.eps)

    def forward(self, idx, no_ln=False):
        """no_ln: every LayerNorm replaced by the identity and the unembedding given the bias
        b_U[v] = sum_i lm_head[v, i] (the folded export's variant without LayerNorm)."""
        B, T = idx.shape
        C, NH = self.C, self.NH
        ln = (lambda x, w, b: x) if no_ln else self.ln
        hs = C // NH
        x = self.wte[idx] + self.wpe[:T]
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        for p in self.blocks:
            h = ln(x, p["ln_1.weight"], p["ln_1.bias"])
            qkv = h @ p["attn.c_attn.weight"] + p["attn.c_attn.bias"]
            q, k, v = qkv.split(C, dim=2)
            q, k, v = (t.view(B, T, NH, hs).transpose(1, 2) for t in (q, k, v))
            att = (q @ k.transpose(-2, -1)) / (hs ** 0.5)
            att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
            y = (att @ v).transpose(1, 2).reshape(B, T, C)
            x = x + y @ p["attn.c_proj.weight"] + p["attn.c_proj.bias"]
            h = ln(x, p["ln_2.weight"], p["ln_2.bias"])
            h = F.gelu(h @ p["mlp.c_fc.weight"] + p["mlp.c_fc.bias"], approximate="tanh")
            x = x + h @ p["mlp.c_proj.weight"] + p["mlp.c_proj.bias"]
        if no_ln:
            return x @ self.unembed.T + self.unembed.sum(-1)
        x = self.ln(x, self.lnf_w, self.lnf_b)
        return x @ self.unembed.T


def read_ref(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 16:
        die(f"{path}: truncated header")
    magic, B, T, V = struct.unpack("<4i", raw[:16])
    if magic != REF_MAGIC:
        die(f"{path}: wrong magic {magic} (expected {REF_MAGIC})")
    want = 16 + 4 * B * T + 4 * B * T * V
    if B <= 0 or T <= 0 or V <= 0 or len(raw) != want:
        die(f"{path}: size {len(raw)} does not match B={B} T={T} V={V} (expected {want})")
    tok = np.frombuffer(raw[16:16 + 4 * B * T], dtype=np.int32).reshape(B, T)
    logits = np.frombuffer(raw[16 + 4 * B * T:], dtype=np.float32).reshape(B, T, V)
    return tok, logits


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", help="export directory (model.safetensors + config.json)")
    ap.add_argument("--ref", help="engine tokens + logits to compare against")
    ap.add_argument("--tol", type=float, default=1e-3,
                    help="max |diff| allowed, relative to max(1, max |engine logit|)")
    ap.add_argument("--double", action="store_true", help="run the PyTorch model in float64")
    ap.add_argument("--folded", action="store_true",
                    help="an exact folded export: untied lm_head, checked with and without LayerNorm modules")
    args = ap.parse_args()

    cfg_path = os.path.join(args.dir, "config.json")
    st_path = os.path.join(args.dir, "model.safetensors")
    for p in (cfg_path, st_path):
        if not os.path.isfile(p):
            die(f"{p}: missing")
    with open(cfg_path) as f:
        cfg = json.load(f)
    for key in ("n_layer", "n_head", "n_embd", "layer_norm_epsilon"):
        if key not in cfg:
            die(f"{cfg_path}: no '{key}'")
    if float(cfg["layer_norm_epsilon"]) < 1e11:
        print(f"check_export: warning: layer_norm_epsilon = {cfg['layer_norm_epsilon']} "
              "(an LN-free export uses 1e12)")
    dtype = torch.float64 if args.double else torch.float32
    if args.folded and not (cfg.get("noln_folded") is True and cfg.get("tie_word_embeddings") is False):
        die(f"{cfg_path}: not a folded export (needs \"noln_folded\": true and "
            "\"tie_word_embeddings\": false; see docs/export.md)")
    model = HFGPT2(read_safetensors(st_path), cfg, dtype, folded=args.folded)
    V = int(cfg.get("vocab_size", model.wte.shape[0]))

    if args.ref is None:
        tok = torch.arange(min(16, cfg.get("n_positions", 16))).remainder(V).view(1, -1)
        with torch.no_grad():
            lg = model.forward(tok)[..., :V]
        if not torch.isfinite(lg).all():
            die("non-finite logits")
        print(f"check_export: loaded {args.dir} (L={model.L} C={model.C} V={V}); "
              f"forward on {tok.shape[1]} tokens finite; no --ref, nothing compared")
        return

    tok, ref = read_ref(args.ref)
    if ref.shape[2] != V:
        die(f"{args.ref}: V={ref.shape[2]} but the export has vocab_size {V}")
    if tok.min() < 0 or tok.max() >= V:
        die(f"{args.ref}: token ids outside [0, {V})")
    ref = ref.astype(np.float64)
    scale = max(1.0, float(np.abs(ref).max()))
    # next-token CE from both sides, a number people can read
    def ce(x):
        x = x[:, :-1]
        y = tok[:, 1:]
        m = x.max(-1, keepdims=True)
        lse = (m[..., 0] + np.log(np.exp(x - m).sum(-1)))
        return float((lse - np.take_along_axis(x, y[..., None], -1)[..., 0]).mean())
    all_ok = True
    for no_ln in ([False, True] if args.folded else [False]):
        with torch.no_grad():
            lg = model.forward(torch.from_numpy(tok.astype(np.int64)), no_ln=no_ln)[..., :V].double().numpy()
        diff = np.abs(lg - ref)
        ok = diff.max() <= args.tol * scale
        all_ok = all_ok and ok
        what = (" (no LayerNorm: identity + b_U)" if no_ln else " (stock modules)") if args.folded else ""
        print(f"check_export{what}: B={tok.shape[0]} T={tok.shape[1]} V={V}: max |diff| {diff.max():.3e} "
              f"(rel {diff.max() / scale:.2e}, mean {diff.mean():.3e}, max |logit| {scale:.3g}, "
              f"tol {args.tol * scale:.3e}); CE engine {ce(ref):.5f} export {ce(lg):.5f}: "
              f"{'OK' if ok else 'MISMATCH'}")
    sys.exit(0 if all_ok else 1)

if __name__ == "__main__":
    main()
