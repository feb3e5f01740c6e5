"""Rewrites a BF16 checkpoint (v5 model file + version 2 state with master weights) in DIR at
STEP into what the trainer wrote before master weights existed: a v3 model file holding the
fp32 masters and a version 1 state file without them (docs/training.md). Independent of the
C++ readers: the layouts are taken from docs/training.md and docs/formats.md.

usage: legacy_ckpt.py DIR STEP
"""
import struct
import sys

d, step = sys.argv[1], int(sys.argv[2])
mpath = "%s/model_%08d.bin" % (d, step)
spath = "%s/state_%08d_%05d.bin" % (d, step, 0)
HDR = 256 * 4

st = bytearray(open(spath, "rb").read())
magic, version = struct.unpack_from("<ii", st, 0)
nparams, nmaster = struct.unpack_from("<QQ", st, 8 * 4)
loader_bytes = struct.unpack_from("<i", st, 7 * 4)[0]
assert magic == 20250713 and version == 2 and nmaster == nparams > 0, (magic, version, nparams, nmaster)
end_master = len(st) - loader_bytes
masters = bytes(st[end_master - 4 * nmaster:end_master])
struct.pack_into("<i", st, 4, 1)
struct.pack_into("<Q", st, 10 * 4, 0)
del st[end_master - 4 * nmaster:end_master]

mf = bytearray(open(mpath, "rb").read())
mmagic, mversion = struct.unpack_from("<ii", mf, 0)
assert mmagic == 20240326 and mversion == 5, (mmagic, mversion)
trailer = bytes(mf[HDR + 2 * nparams:])
struct.pack_into("<i", mf, 4, 3)
new_model = bytes(mf[:HDR]) + masters + trailer

open(spath, "wb").write(st)
open(mpath, "wb").write(new_model)
print("%s: v3 with %d fp32 masters; %s: version 1, %d bytes" % (mpath, nparams, spath, len(st)))
