#!/usr/bin/env bash
# The PTX/ptxas audit (make ptx-audit, scripts/ptx_audit.py) with the real nvcc, no GPU:
# the trainer passes in both precisions for sm_90 and sm_80 (BF16 must hold a *flash* kernel
# on tensor cores); then, for sm_90,
# the audit on tests/ptx_audit/*.cu with the same flags must reject a file without a
# flash kernel (plain.cu), accept good.cu (a flash kernel whose wmma sits in a called
# function, and a dynamic shared memory size evaluated in the file), and reject exactly
# bad.cu's five broken kernels (spill, local array, flash without mma, no launch bounds,
# dynamic shared memory of unknown size) while passing good.cu's kernels in the same PTX; and the
# occupancy arithmetic must give hand-computed H100 and A100 figures.
# needs:
set -u
. tests/lib.sh
need_nvcc 5 || { report ptx-audit; exit; }
W=build/ptx-audit-selftest
rm -rf "$W"; mkdir -p "$W"
audit() {  # audit NAME [ARGS]: tests/ptx_audit/NAME.cu, flash kernel required, output in $W/NAME.out
  make --no-print-directory -s ptx-audit PTX_AUDIT_UNITS="$1:tests/ptx_audit/$1.cu" PTX_AUDIT_REQUIRE="$1" \
       PTX_AUDIT_DIR="$W/$1" PTX_AUDIT_ARCHS=sm_90 PTX_AUDIT_ARGS="--dyn-smem staged_copy_kernel=STAGE_BYTES ${2:-}" > "$W/$1.out" 2>&1
}
row() { grep "^| \`$2\` |" "$W/$1/report.md"; }  # row NAME KERNEL: its line of the table

if make --no-print-directory -s ptx-audit > "$W/trainer.out" 2>&1; then
  ok "trainer (BF16 and FP32, sm_90 and sm_80): $(grep -c '^| `' build/ptx-audit/report.md) kernel rows, no spill, no stack frame, launch bounds, flash kernels on tensor cores"
else bad "trainer audit (build/ptx-audit/report.md):"; grep '^FAIL' "$W/trainer.out" || tail -5 "$W/trainer.out"; fi

if audit plain; then bad "plain.cu without a flash kernel accepted"
elif grep -q '^FAIL plain/sm_90: no kernel named \*flash\*' "$W/plain.out"; then ok "a unit without a flash kernel is rejected"
else bad "plain.cu: no 'no kernel named *flash*' line"; tail -3 "$W/plain.out"; fi

if audit good && row good attention_flash_wmma_kernel | grep -q '| [1-9][0-9]* | [0-9]* / [0-9]* / [0-9]* | [0-9 /]* | ok |' \
   && row good copy_vec_kernel | grep -q '| 1 / 0 / 0 | 1 / 0 / 0 | ok |' \
   && row good scale_bf16_kernel | grep -q '| 0 / 1 / 0 | 0 / 1 / 0 | ok; report: ld128 |' \
   && row good staged_copy_kernel | grep -q '| 98308 | .* | 256 (bounds) | 25% (shared memory) |'; then
  # 98308 + 1024 reserved = 99328 bytes, 2 blocks of 8 warps in 228 KB
  ok "good.cu passes: mma found through a call, 128-bit and 16-bit loads and stores counted, ld128 report-only, dynamic smem evaluated (98308 B, 25%)"
else bad "good.cu"; grep '^FAIL\|^| `' "$W/good.out"; fi

expected='FAIL bad/sm_90 attention_flash_scalar_kernel: tensor-cores
FAIL bad/sm_90 local_array_kernel: stack
FAIL bad/sm_90 spill_kernel: spills
FAIL bad/sm_90 unbounded_kernel: launch-bounds
FAIL bad/sm_90 unsized_smem_kernel: dyn-smem'
if audit bad; then bad "bad.cu accepted"
else
  got=$(grep '^FAIL ' "$W/bad.out" | cut -d: -f1,2 | sort)
  if [ "$got" = "$expected" ]; then ok "bad.cu: exactly its five broken kernels rejected, each for its rule"
  else bad "bad.cu failures differ from the expected five:"; echo "$got"; fi
fi

# --strict-tables (make ptx-audit's default): table entries that match no kernel are stale
if audit good --strict-tables; then bad "stale BLOCK_SIZE_TABLE entries accepted under --strict-tables"
elif grep -q '^FAIL BLOCK_SIZE_TABLE: entry adamw_kernel matches no kernel' "$W/good.out" \
     && ! grep -q 'DYNAMIC_SMEM_TABLE: entry staged_copy_kernel' "$W/good.out"; then
  ok "--strict-tables: table entries without a kernel fail, used ones do not"
else bad "--strict-tables messages"; grep '^FAIL' "$W/good.out" | head -3; fi

# warps per SM on H100 by hand: regs per warp rounded up to 256, 16384 registers per
# sub-partition (4), 64 warps, 32 blocks, shared memory + 1 KB reserved in 128-byte units of 228 KB
if "$PY" - <<'PYEOF'
import sys
sys.path.insert(0, "scripts")
import ptx_audit as pa
cases = [  # regs, block, static smem, dynamic smem -> warps per SM on H100, limiter
    (80, 256, 0, None, 24, "registers"),      # 2560 regs/warp: 6 per sub-partition, 3 blocks
    (40, 256, 0, None, 48, "registers"),      # 1280: 12 per sub-partition, 6 blocks
    (32, 256, 0, None, 64, "warps"),
    (255, 256, 0, None, 8, "registers"),      # 8192 regs/warp: 2 per sub-partition, 1 block
    (255, 512, 0, None, 0, None),             # 16 warps x 8192 > 65536: cannot launch
    (32, 128, 100 * 1024, 0, 8, "shared memory"),  # 103424 bytes: 2 blocks of 4 warps
    (32, 128, 0, 114 * 1024, 4, "shared memory"),  # 117760 bytes: a second block needs 235520 > 233472
    (16, 32, 0, None, 32, "blocks"),
]
a100 = [  # 167936 bytes per SM: 2 x (80 KB + 1 KB) = 165888 fits
    (32, 128, 80 * 1024, 0, 8, "shared memory"),
    (32, 128, 82 * 1024, 0, 4, "shared memory"),   # 2 x 84992 = 169984 > 167936: 1 block
]
bad = 0
for arch, regs, block, smem, dyn, warps, lim in [("sm_90",) + c for c in cases] + [("sm_80",) + c for c in a100]:
    k = pa.Kernel("t", "k", arch)
    k.regs, k.block, k.smem, k.dyn_smem = regs, block, smem, dyn
    got = pa.occupancy(k)
    if got[0] != warps or (lim and got[1] != lim):
        print("%s occupancy(%d regs, %d threads, %d+%s smem) = %s, expected %d (%s)" % (arch, regs, block, smem, dyn, got, warps, lim))
        bad += 1
sys.exit(bad)
PYEOF
then ok "occupancy arithmetic matches 8 hand-computed H100 cases and 2 A100 ones"; else bad "occupancy arithmetic"; fi

report ptx-audit
