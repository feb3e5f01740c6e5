#!/usr/bin/env python3
"""PTX/ptxas audit of CUDA translation units (docs/gpu.md, "The PTX/ptxas audit").

For each unit (a .cu file plus extra flags) and architecture (--arch, sm_90 by default) one
nvcc call compiles the device code to a cubin with `-Xptxas -v --keep`: the kept .ptx is what ptxas compiled, and
ptxas's report gives registers, shared memory, stack frame and spills per kernel. The PTX is
split per `.entry` (and per `.func`, followed through `call`s), so each instruction is counted
for the kernel that executes it. Then every rule of RULES runs on every kernel, the table is
written to OUT/report.md and printed, and the exit status is 1 if a failing rule fired.

    scripts/ptx_audit.py --nvcc NVCC --flags "NVCC_FLAGS" --out DIR \
        --unit NAME:SOURCE[:EXTRA FLAGS] ... [--arch sm_90 --arch sm_80] [--require-flash NAME]
        [--strict-tables] [--dyn-smem KERNEL=EXPR]

The flags are the build's own (cuda/cuda.mk's NVCC_FLAGS); their architecture options are
replaced by the audited one. `make ptx-audit` runs this on the trainer in both precisions.

Adding a rule: append a Rule to RULES (a name, "fail" or "report", which kernels it applies
to, the check, the message). A "report" rule only marks the table; a "fail" rule fails the run.
The trainer's memory-bound kernels (MEMORY_BOUND_KERNELS) must issue 128-bit global loads
(`ld128`, failing); every other kernel only gets the report-only mark (`ld128-report`). The
per-kernel counts ld128/ld16/ld32 and st128/st16/st32 are in Kernel.ops.
"""
import argparse
import concurrent.futures
import os
import re
import shlex
import subprocess
import sys

# ---- the audited architectures (--arch; the trainer is built for both). Per-SM limits from
# NVIDIA's tuning guides (Hopper: 64 resident warps, 32 resident blocks, 64K 32-bit registers,
# 228 KB shared memory per SM of which at most 227 KB per block; Ampere A100: the same but
# 164 KB per SM, 163 KB per block) and the allocation rules of the toolkit's occupancy
# calculator (include/cuda_occupancy.h: registers are allocated per warp in units of 256 and
# spread over 4 sub-partitions; shared memory in units of 128 bytes after the driver's 1 KB
# reservation per block).
_SM_COMMON = dict(warp_size=32, max_warps=64, max_blocks=32, max_threads_per_block=1024, regs=65536,
                  regs_per_block=65536, max_regs_per_thread=255, reg_unit=256, sub_partitions=4,
                  smem_reserved_per_block=1024, smem_unit=128)
SMS = {
    "sm_90": dict(_SM_COMMON, name="H100 SXM (sm_90)", smem=228 * 1024, smem_per_block_optin=227 * 1024),
    "sm_80": dict(_SM_COMMON, name="A100 (sm_80)", smem=164 * 1024, smem_per_block_optin=163 * 1024),
}

# ---- what the PTX instructions are
TENSOR_CORE_OPS = ("mma.sync", "wmma.mma", "wgmma.mma_async")
FLASH_MARK = "flash"  # fused attention kernels have it in their name and must use tensor cores

# Kernels without __launch_bounds__ whose block size the audit takes from here instead (the
# constant their launcher uses). A debt list: every new kernel must declare its bounds, and a
# kernel that gains them must leave this table (both are failures).
BLOCK_SIZE_TABLE = {
    "adamw_kernel": 512,                    # adamw.cuh: block = 512
    "copy_master_kernel": 512,              # adamw.cuh
    "aux_sigma_kernel": 256,                # aux_loss.cuh: AUX_THREADS
    "aux_reduce_kernel": 1024,              # aux_loss.cuh
    "aux_backward_kernel": 256,             # aux_loss.cuh: AUX_THREADS
    "encoder_forward_kernel": 256,          # encoder.cuh: block = 256
    "encoder_backward_wte_kernel": 256,     # encoder.cuh
    "encoder_backward_wpe_kernel": 256,     # encoder.cuh
    "gelu_forward_kernel": 256,             # gelu.cuh: block = 256
    "gelu_backward_kernel": 256,            # gelu.cuh
    "global_norm_partial_kernel": 512,      # global_norm.cuh: GN_THREADS
    "global_norm_finish_kernel": 1024,      # global_norm.cuh
    "ln_obs_finish_kernel": 256,            # ln_path.cuh
    "ln_path_backward_dwdb_kernel": 128,    # ln_path.cuh: block = 128
    "ln_path_backward_finish_kernel": 128,  # ln_path.cuh
    "bias_backward_partial_kernel": 128,    # matmul.cuh: block = 128
    "bias_backward_finish_kernel": 128,     # matmul.cuh
    "residual_forward_kernel": 256,         # residual.cuh: block = 256
    "residual_backward_kernel": 256,        # residual.cuh
}

# Dynamic shared memory per block of the kernels that use `extern __shared__`: kernel name ->
# the C++ expression its launcher passes. The audit evaluates each expression in the unit
# itself (a second, PTX-only compile of the unit plus one `__device__` variable per
# expression, read back from the PTX), so the numbers never go stale. A kernel using dynamic
# shared memory without an entry fails (its occupancy would be a guess). --dyn-smem adds more.
DYNAMIC_SMEM_TABLE = {
    "attention_flash_forward_kernel": "att_flash::FWD_SMEM",
    "attention_flash_backward_dkdv_kernel": "att_flash::BWD_SMEM",
    "attention_flash_backward_dq_kernel": "att_flash::BWD_SMEM",
}

# The trainer's memory-bound kernels: streaming over activations, gradients or parameters,
# their time is bytes / bandwidth, so they must move 16 bytes per access (ld.global.v4.u32 or
# .v8.b16 / .v4.f32 ...). A 128-bit path with a scalar tail or misaligned fallback passes; a
# kernel with only scalar global loads fails. Small fixed-size finishes (one block, a few KB)
# and the attention kernels (their own issue) are not listed.
MEMORY_BOUND_KERNELS = {
    "encoder_forward_kernel", "encoder_backward_wte_kernel", "encoder_backward_wpe_kernel",
    "residual_forward_kernel", "residual_backward_kernel", "gelu_forward_kernel", "gelu_backward_kernel",
    "ln_path_forward_kernel", "ln_path_recompute_kernel", "ln_path_backward_dx_kernel", "ln_path_backward_dwdb_kernel",
    "bias_backward_partial_kernel", "classifier_kernel", "aux_sigma_kernel", "aux_backward_kernel",
    "adamw_kernel", "global_norm_partial_kernel",
}

# Kernels allowed a local-memory stack frame (name -> why). Empty: local memory lives in
# DRAM, so an array indexed at run time or a non-inlined call in a kernel is a slow path.
STACK_ALLOWED = {}


class Kernel:
    def __init__(self, unit, mangled, arch="sm_90"):
        self.unit, self.mangled, self.sm = unit, mangled, SMS[arch]
        self.name = self.base = mangled
        self.regs = self.smem = self.stack = self.spill_st = self.spill_ld = self.barriers = None
        self.maxntid = None       # from .maxntid / .reqntid (launch bounds)
        self.block = None         # block size used for occupancy
        self.block_from = ""      # "bounds" or "table"
        self.dyn_smem = None      # bytes, when known
        self.uses_dyn_smem = False
        self.ops = {}             # instruction class -> count (own body and called .funcs)
        self.occ = None           # (active warps, limiter) or None
        self.fails, self.marks = [], []

    def count(self, key):
        return self.ops.get(key, 0)

    @property
    def is_flash(self):
        return FLASH_MARK in self.base


# ---- rules: each sees one kernel (or, for unit rules, the list of a unit's kernels)
class Rule:
    def __init__(self, name, severity, applies, check, message):
        self.name, self.severity, self.applies, self.check, self.message = name, severity, applies, check, message


def _block_ok(k):
    if k.maxntid is not None:
        return k.base not in BLOCK_SIZE_TABLE
    return k.base in BLOCK_SIZE_TABLE


def _block_msg(k):
    if k.maxntid is not None:
        return "has __launch_bounds__(%d) and an entry in BLOCK_SIZE_TABLE: remove the entry" % k.maxntid
    return "no __launch_bounds__ (.maxntid): declare the block size on the kernel"


RULES = [
    Rule("spills", "fail", lambda k: True,
         lambda k: k.spill_st == 0 and k.spill_ld == 0,
         lambda k: "spills to local memory: %d bytes stored, %d bytes loaded" % (k.spill_st, k.spill_ld)),
    # spills live in the stack frame too; this rule is for the frames that are not spills
    Rule("stack", "fail", lambda k: k.base not in STACK_ALLOWED and k.spill_st == 0 and k.spill_ld == 0,
         lambda k: k.stack == 0,
         lambda k: "%d-byte local-memory stack frame (an array indexed at run time, or a call that was not inlined)" % k.stack),
    Rule("tensor-cores", "fail", lambda k: k.is_flash,
         lambda k: k.count("tc") > 0,
         lambda k: "fused attention kernel without a tensor-core instruction (%s) in its PTX" % ", ".join(TENSOR_CORE_OPS)),
    Rule("launch-bounds", "fail", lambda k: True, _block_ok, _block_msg),
    Rule("dyn-smem", "fail", lambda k: k.uses_dyn_smem,
         lambda k: k.dyn_smem is not None,
         lambda k: "uses dynamic shared memory but has no entry in DYNAMIC_SMEM_TABLE (the size its launcher passes)"),
    Rule("occupancy", "fail", lambda k: k.block is not None,
         lambda k: k.occ is not None and k.occ[0] > 0,
         lambda k: "cannot launch on %s: %s" % (k.sm["name"], k.occ[1] if k.occ else "?")),
    # The trainer's memory-bound kernels need a 128-bit load path (a scalar tail or misaligned
    # fallback beside it is fine); other kernels with only scalar 16-bit loads are marked.
    Rule("ld128", "fail", lambda k: k.base in MEMORY_BOUND_KERNELS,
         lambda k: k.count("ld128") > 0,
         lambda k: "memory-bound kernel without a 128-bit global load (%d scalar 16-bit, %d scalar 32-bit)"
         % (k.count("ld16"), k.count("ld32"))),
    Rule("ld128-report", "report", lambda k: not k.is_flash and k.base not in MEMORY_BOUND_KERNELS,
         lambda k: k.count("ld16") == 0 or k.count("ld128") > 0,
         lambda k: "%d scalar 16-bit global loads and no 128-bit one" % k.count("ld16")),
]


# ---- compiling
ARCH_OPTS = ("-gencode", "--generate-code", "-arch", "--gpu-architecture", "-code", "--gpu-code")


def strip_arch(flags):
    """The build's flags minus its architecture options (and -c/-o), which the audit sets."""
    out, skip = [], False
    for f in flags:
        if skip:
            skip = False
            continue
        if f in ARCH_OPTS or f in ("-o", "--output-file"):
            skip = True
            continue
        if f.split("=", 1)[0] in ARCH_OPTS or f in ("-c", "--compile"):
            continue
        out.append(f)
    return out


def run_nvcc(nvcc, args, log, what):
    try:
        r = subprocess.run([nvcc] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    except OSError as e:
        raise SystemExit("ptx-audit: cannot run nvcc (%s): %s" % (nvcc, e))
    with open(log, "w") as f:
        f.write(" ".join(shlex.quote(c) for c in [nvcc] + args) + "\n" + r.stdout)
    if r.returncode != 0:
        sys.stdout.write(r.stdout)
        raise SystemExit("ptx-audit: nvcc failed on %s (command in %s)" % (what, log))
    return r.stdout


def compile_unit(nvcc, flags, src, extra, arch, workdir):
    """(PTX, ptxas -v report) of one unit: one nvcc call, the PTX kept from it."""
    os.makedirs(workdir, exist_ok=True)
    log = run_nvcc(nvcc, strip_arch(flags) + extra + ["-arch=" + arch, "-cubin", "-Xptxas", "-v", "--keep",
                                                     "--keep-dir", workdir, src, "-o",
                                                     os.path.join(workdir, "unit.cubin")],
                   os.path.join(workdir, "nvcc.log"), src)
    with open(os.path.join(workdir, os.path.splitext(os.path.basename(src))[0] + ".ptx")) as f:
        return f.read(), log


def probe_values(nvcc, flags, src, extra, arch, workdir, exprs):
    """The value of each C++ expression in the unit's scope: the unit plus one __device__
    variable per expression, compiled to PTX, where each variable's initialiser is a constant."""
    if not exprs:
        return {}
    probe = os.path.join(workdir, "probe.cu")
    with open(probe, "w") as f:
        f.write('#include "%s"\n' % os.path.abspath(src))
        for i, e in enumerate(exprs):
            f.write("__device__ unsigned long long ptx_audit_probe_%d = (unsigned long long)(%s);\n" % (i, e))
    out = os.path.join(workdir, "probe.ptx")
    run_nvcc(nvcc, strip_arch(flags) + extra + ["-arch=" + arch, "-ptx", probe, "-o", out],
             os.path.join(workdir, "probe.log"), probe)
    with open(out) as f:
        ptx = f.read()
    vals = {}
    for i, e in enumerate(exprs):
        m = re.search(r"\bptx_audit_probe_%d\s*=\s*(\d+)" % i, ptx)
        if not m:
            raise SystemExit("ptx-audit: no constant for %s in %s" % (e, out))
        vals[e] = int(m.group(1))
    return vals


# ---- ptxas -v report
def parse_ptxas(text):
    """mangled name -> dict(regs, smem, stack, spill_st, spill_ld, barriers), entries and funcs."""
    info, cur = {}, None
    for line in text.splitlines():
        m = re.search(r"(?:Compiling entry function|Function properties for) '?([\w$.]+)'?", line)
        if m:
            cur = info.setdefault(m.group(1), dict(regs=0, smem=0, stack=0, spill_st=0, spill_ld=0, barriers=0))
            continue
        if cur is None:
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m:
            cur["stack"], cur["spill_st"], cur["spill_ld"] = map(int, m.groups())
        m = re.search(r"Used (\d+) registers", line)
        if m:
            cur["regs"] = int(m.group(1))
            b = re.search(r"used (\d+) barriers", line)
            s = re.search(r"(\d+) bytes smem", line)
            cur["barriers"] = int(b.group(1)) if b else 0
            cur["smem"] = int(s.group(1)) if s else 0
    return info


# ---- PTX
MEM_RE = re.compile(r"^\s*(?:@!?%\w+\s+)?(ld|st)\.global((?:\.[\w:]+)*)\s")
CALL_TARGET_RE = re.compile(r"\bcall(?:\.uni)?\s+(?:\([^)]*\)\s*,\s*)?([A-Za-z_$][\w$]*)")


def classify(line, ops):
    s = line.strip()
    if not s or s.startswith("//"):
        return
    if any(op in s for op in TENSOR_CORE_OPS):
        ops["tc"] = ops.get("tc", 0) + 1
    m = MEM_RE.match(line)
    if m:  # global loads and stores by width: ld128/ld16/ld32/ld_other, st128/...
        op, mods = m.group(1), m.group(2).split(".")
        width = next((int(x[1:]) for x in mods if re.fullmatch(r"v\d+", x)), 1)
        bits = next((int(re.sub(r"^bf|^[ubsf]", "", x)) for x in mods if re.fullmatch(r"(?:bf|[ubsf])\d+", x)), 0)
        if width * bits == 128:
            key = op + "128"
        elif width == 1 and bits in (16, 32):
            key = op + str(bits)
        else:
            key = op + "_other"
        ops[key] = ops.get(key, 0) + 1


def parse_ptx(ptx):
    """name -> dict(kind, directives, ops, calls, dyn_smem) for every .entry and .func with a body."""
    lines = [l.split("//", 1)[0] for l in ptx.splitlines()]
    dyn_syms = set(re.findall(r"\.extern\s+\.shared\s+[^;]*?([\w$]+)\s*\[\s*\]", ptx))
    funcs, i = {}, 0
    head_re = re.compile(r"^\s*(?:\.visible\s+|\.weak\s+|\.extern\s+)?\.(entry|func)\s+(?:\([^)]*\)\s*)?([\w$]+)")
    while i < len(lines):
        m = head_re.match(lines[i])
        if not m:
            i += 1
            continue
        kind, name = m.groups()
        # header up to the body's opening brace (or a ';' for a declaration without body)
        j, header = i, []
        while j < len(lines) and "{" not in lines[j] and not lines[j].rstrip().endswith(";"):
            header.append(lines[j])
            j += 1
        if j >= len(lines) or "{" not in lines[j]:
            i = j + 1
            continue
        header.append(lines[j].split("{")[0])
        depth, body, k = 0, [], j
        while k < len(lines):
            depth += lines[k].count("{") - lines[k].count("}")
            body.append(lines[k])
            if depth == 0:
                break
            k += 1
        hdr = "\n".join(header)
        d = {}
        for key in ("maxntid", "reqntid"):
            mm = re.search(r"\." + key + r"\s+(\d+)(?:\s*,\s*(\d+))?(?:\s*,\s*(\d+))?", hdr)
            if mm:
                d[key] = 1
                for g in mm.groups():
                    d[key] *= int(g) if g else 1
        ops = {}
        text = "\n".join(body)
        for line in body:
            classify(line, ops)
        calls = set(CALL_TARGET_RE.findall(text))  # a call's operands may span lines
        funcs[name] = dict(kind=kind, directives=d, ops=ops, calls=calls,
                           dyn_smem=any(s in text for s in dyn_syms))
        i = k + 1
    return funcs


def closure_ops(name, funcs, seen=None):
    """Instruction counts of a function and of everything it calls (each callee once)."""
    seen = set() if seen is None else seen
    seen.add(name)
    f = funcs[name]
    ops, dyn = dict(f["ops"]), f["dyn_smem"]
    for c in f["calls"]:
        if c in funcs and c not in seen:
            o, dd = closure_ops(c, funcs, seen)
            for key, v in o.items():
                ops[key] = ops.get(key, 0) + v
            dyn = dyn or dd
    return ops, dyn


def demangle(names):
    try:
        r = subprocess.run(["c++filt"], input="\n".join(names), stdout=subprocess.PIPE, universal_newlines=True)
        out = r.stdout.splitlines()
        if r.returncode == 0 and len(out) == len(names):
            return out
    except OSError:
        pass
    return list(names)


def short_name(demangled):
    """'void foo<64, true>(float*, int)' -> 'foo<64, true>' (return type and parameters dropped)."""
    s, depth, cut = demangled, 0, len(demangled)
    for i, ch in enumerate(s):
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == "(" and depth == 0:
            cut = i
            break
    s = s[:cut].strip()
    if s.startswith("void "):
        s = s[5:]
    return s


def base_name(short):
    s = short.split("<", 1)[0]
    return s.rsplit("::", 1)[-1]


# ---- occupancy (theoretical, the occupancy calculator's model)
def occupancy(k):
    """(resident warps per SM, what limits them) for block size k.block on k.sm."""
    if k.block is None:
        return None
    SM = k.sm
    ws = SM["warp_size"]
    warps = -(-k.block // ws)
    if k.block > SM["max_threads_per_block"]:
        return (0, "block of %d threads" % k.block)
    limits = {"warps": SM["max_warps"] // warps, "blocks": SM["max_blocks"]}
    regs_warp = -(-k.regs * ws // SM["reg_unit"]) * SM["reg_unit"]
    parts = SM["sub_partitions"]
    if k.regs > SM["max_regs_per_thread"] or regs_warp * (-(-warps // parts) * parts) > SM["regs_per_block"]:
        return (0, "%d registers x %d threads" % (k.regs, k.block))
    if regs_warp:
        limits["registers"] = ((SM["regs"] // parts) // regs_warp) * parts // warps
    smem = k.smem + (k.dyn_smem or 0) + SM["smem_reserved_per_block"]
    smem = -(-smem // SM["smem_unit"]) * SM["smem_unit"]
    if smem > SM["smem_per_block_optin"] + SM["smem_reserved_per_block"]:
        return (0, "%d bytes of shared memory per block" % smem)
    limits["shared memory"] = SM["smem"] // smem
    blocks = min(limits.values())
    limiter = min(limits, key=lambda x: (limits[x], x != "warps"))
    return (blocks * warps, limiter)


# ---- one unit
def audit_unit(label, src, extra, arch, args):
    workdir = os.path.join(args.out, label + "-" + arch)
    ptx, log = compile_unit(args.nvcc, args.flags, src, extra, arch, workdir)
    info = parse_ptxas(log)
    funcs = parse_ptx(ptx)
    entries = [n for n, f in funcs.items() if f["kind"] == "entry"]
    missing = [n for n in entries if n not in info]
    if missing:
        raise SystemExit("ptx-audit: no ptxas report for %s in %s" % (", ".join(missing), src))
    kernels = []
    for mangled, dem in zip(entries, demangle(entries)):
        k = Kernel(label, mangled, arch)
        k.name = short_name(dem)
        k.base = base_name(k.name)
        for key, v in info[mangled].items():
            setattr(k, key, v)
        d = funcs[mangled]["directives"]
        k.maxntid = d.get("reqntid", d.get("maxntid"))
        k.ops, k.uses_dyn_smem = closure_ops(mangled, funcs)
        if k.maxntid is not None:
            k.block, k.block_from = k.maxntid, "bounds"
        elif k.base in BLOCK_SIZE_TABLE:
            k.block, k.block_from = BLOCK_SIZE_TABLE[k.base], "table"
        kernels.append(k)
    dyn = {k.base: args.dyn_smem[k.base] for k in kernels if k.uses_dyn_smem and k.base in args.dyn_smem}
    values = probe_values(args.nvcc, args.flags, src, extra, arch, workdir, sorted(set(dyn.values())))
    for k in kernels:
        if k.base in dyn:
            k.dyn_smem = values[dyn[k.base]]
        k.occ = occupancy(k)
    for k in kernels:
        for r in RULES:
            if r.applies(k) and not r.check(k):
                (k.fails if r.severity == "fail" else k.marks).append((r.name, r.message(k)))
    kernels.sort(key=lambda k: k.name)
    return kernels


def table(label, src, extra, sm, kernels):
    out = ["### %s: `%s`%s, %s" % (label, src, (" `" + " ".join(extra) + "`") if extra else "", sm["name"]), "",
           "| kernel | regs | smem static | smem dyn | stack | spill st/ld | block | occupancy (limit) "
           "| tensor-core ops | ld.global 128-bit / 16-bit / 32-bit | st.global 128 / 16 / 32 | verdict |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for k in kernels:
        if k.occ is None:
            occ = "?"
        else:
            pct = 100.0 * k.occ[0] / sm["max_warps"]
            occ = "%s%d%% (%s)" % ("<=" if k.uses_dyn_smem and k.dyn_smem is None else "", round(pct), k.occ[1])
        dyn = ("%d" % k.dyn_smem) if k.dyn_smem is not None else ("?" if k.uses_dyn_smem else "0")
        blk = ("%d (%s)" % (k.block, k.block_from)) if k.block else "?"
        verdict = "; ".join("FAIL %s" % n for n, _ in k.fails) or "ok"
        if k.marks:
            verdict += "; " + "; ".join("report: %s" % n for n, _ in k.marks)
        out.append("| `%s` | %d | %d | %s | %d | %d/%d | %s | %s | %d | %d / %d / %d | %d / %d / %d | %s |" % (
            k.name, k.regs, k.smem, dyn, k.stack, k.spill_st, k.spill_ld, blk, occ, k.count("tc"),
            k.count("ld128"), k.count("ld16"), k.count("ld32"), k.count("st128"), k.count("st16"),
            k.count("st32"), verdict))
    return out


def parse_unit(spec):
    parts = spec.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise SystemExit("ptx-audit: --unit wants NAME:SOURCE[:FLAGS], not %r" % spec)
    return parts[0], parts[1], shlex.split(parts[2]) if len(parts) > 2 else []


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nvcc", default="/usr/local/cuda/bin/nvcc")
    ap.add_argument("--flags", default="", help="the build's nvcc flags (architecture options are replaced)")
    ap.add_argument("--out", required=True, help="folder for the kept PTX, the logs and report.md")
    ap.add_argument("--unit", action="append", required=True, help="NAME:SOURCE[:EXTRA FLAGS]")
    ap.add_argument("--require-flash", action="append", default=[], metavar="NAME",
                    help="unit NAME must hold at least one kernel named *%s*" % FLASH_MARK)
    ap.add_argument("--arch", action="append", choices=sorted(SMS), help="architectures to audit (default sm_90)")
    ap.add_argument("--strict-tables", action="store_true",
                    help="fail on BLOCK_SIZE_TABLE / DYNAMIC_SMEM_TABLE entries that match no kernel")
    ap.add_argument("--dyn-smem", action="append", default=[], metavar="KERNEL=EXPR",
                    help="one more DYNAMIC_SMEM_TABLE entry")
    args = ap.parse_args()
    table_ = dict(DYNAMIC_SMEM_TABLE)
    for d in args.dyn_smem:
        name, _, expr = d.partition("=")
        if not name or not expr:
            raise SystemExit("ptx-audit: --dyn-smem wants KERNEL=EXPR, not %r" % d)
        table_[name] = expr
    args.dyn_smem = table_
    args.flags = shlex.split(args.flags)
    args.arch = args.arch or ["sm_90"]
    os.makedirs(args.out, exist_ok=True)
    units = [parse_unit(u) for u in args.unit]
    report = ["# PTX/ptxas audit (scripts/ptx_audit.py)", "",
              "Occupancy: theoretical, resident warps / 64 per SM for the block size shown "
              "(from `__launch_bounds__`, or the script's BLOCK_SIZE_TABLE). Rules: %s." % (
                  ", ".join("%s (%s)" % (r.name, r.severity) for r in RULES)), ""]
    failures, marks, seen = [], 0, set()
    jobs = [(label, src, extra, arch) for label, src, extra in units for arch in args.arch]
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1)) as pool:
        done = list(pool.map(lambda j: audit_unit(j[0], j[1], j[2], j[3], args), jobs))  # nvcc runs in parallel
    for (label, src, extra, arch), kernels in zip(jobs, done):
        report += table(label, src, extra, SMS[arch], kernels) + [""]
        where = "%s/%s" % (label, arch)
        for k in kernels:
            failures += ["%s %s: %s: %s" % (where, k.name, n, msg) for n, msg in k.fails]
            marks += len(k.marks)
        if label in args.require_flash and not any(k.is_flash for k in kernels):
            failures.append("%s: no kernel named *%s* (fused attention) in %s" % (where, FLASH_MARK, src))
        seen |= {k.base for k in kernels}
    if args.strict_tables:  # a table entry no audited kernel uses has gone stale
        for tname, tab in (("BLOCK_SIZE_TABLE", BLOCK_SIZE_TABLE), ("DYNAMIC_SMEM_TABLE", args.dyn_smem),
                           ("MEMORY_BOUND_KERNELS", MEMORY_BOUND_KERNELS)):
            failures += ["%s: entry %s matches no kernel of the audited units: remove it" % (tname, n)
                         for n in sorted(set(tab) - seen)]
    summary = "ptx-audit: %d failure(s), %d report-only mark(s)" % (len(failures), marks)
    report += ["## Failures", ""] + (["- " + f for f in failures] or ["none"]) + ["", summary]
    path = os.path.join(args.out, "report.md")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(report) + "\n")
    os.replace(path + ".tmp", path)
    print("\n".join(report))
    for f in failures:
        print("FAIL " + f)
    print("report: " + path)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
