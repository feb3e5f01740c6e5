# Sourced by every test suite (tests/suites/*.sh, run from the repo root) and by
# dev/cuda/gpu_check.sh: the counters, pass/fail helpers and log comparisons they share.
# A suite counts its cases with ok/bad/skipped (or expect_error, need_nvcc), runs test
# programs that print their own counts with `run`, and ends with `report NAME`, which prints
# the line tests/run_suites.sh sums, `NAME: N passed, M failed[, K skipped]`, and fails the
# suite when a case failed or a program exited non-zero.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # our tests run as root
PY=${PYTHON:-/usr/bin/python3}   # Debian's python3, which has torch (CONTRIBUTING.md)
NVCC=${NVCC:-/usr/local/cuda/bin/nvcc}
pass=0; fail=0; skip=0; status=0; results=()

ok()      { pass=$((pass+1)); results+=("PASS $1"); echo "PASS $1"; }
bad()     { fail=$((fail+1)); results+=("FAIL $1"); echo "FAIL $1"; }
skipped() { skip=$((skip+1)); echo "SKIP $1"; }

# run CMD...: a test program that prints its own counts (Catch2, tests/emu/check.h); a
# non-zero exit fails the suite.
run() { echo "--- $*"; "$@" || status=1; }

# report NAME: the closing count line (when the suite counted cases itself); the suite's
# exit status.
report() {
  if [ "$skip" -gt 0 ]; then echo "$1: $pass passed, $fail failed, $skip skipped"
  elif [ $((pass + fail)) -gt 0 ]; then echo "$1: $pass passed, $fail failed"; fi
  [ "$fail" -eq 0 ] && [ "$status" -eq 0 ]
}

# expect_error NAME PATTERN CMD...: CMD must exit non-zero and print (stdout or stderr) a line
# matching the grep pattern PATTERN: bad input gets a message that names the problem.
expect_error() {
  local name=$1 pat=$2; shift 2
  local out
  if out=$("$@" 2>&1); then bad "$name: accepted (exit 0)"; echo "$out" | tail -5
  elif grep -q -- "$pat" <<< "$out"; then ok "$name"
  else bad "$name: the message lacks '$pat'"; echo "$out" | tail -5; fi
}

# need_nvcc N: true when the real nvcc is there; otherwise counts N skipped cases, says why.
need_nvcc() {
  [ -x "$NVCC" ] && return 0
  skip=$((skip+$1)); echo "SKIP nvcc not found at $NVCC ($1 cases)"; return 1
}

# ends_promptly NAME PATTERN CMD...: CMD (typically an mpirun job with one failing rank) must
# end by itself within 30 s, with a non-zero status and a line matching PATTERN in its
# output; a hang is killed by timeout and fails the case. The output is in $PROMPT_OUT.
ends_promptly() {
  local name=$1 pat=$2; shift 2
  local t0=$SECONDS rc
  PROMPT_OUT=$(timeout -k 5 30 "$@" 2>&1); rc=$?
  if [ $rc = 124 ] || [ $rc = 137 ]; then bad "$name: still running after 30 s (killed)"; echo "$PROMPT_OUT" | tail -5
  elif [ $rc = 0 ]; then bad "$name: exit 0"; echo "$PROMPT_OUT" | tail -5
  elif grep -q -- "$pat" <<< "$PROMPT_OUT"; then ok "$name (exit $rc after $((SECONDS - t0)) s)"
  else bad "$name: the output lacks '$pat'"; echo "$PROMPT_OUT" | tail -5; fi
}

# same_model_body A.bin B.bin: two model files hold the same header, parameters and LN state
# byte for byte; only the checkpoint id and checksum in a v2 LN trailer (slots 6-11 of its
# header, docs/formats.md) may differ, as they do between two runs.
same_model_body() {
  "$PY" - "$1" "$2" <<'PYEOF'
import struct, sys
a, b = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
def masked(x):
    L = struct.unpack_from('<i', x, 16)[0]
    t = len(x) - 1024 - 12 * (3 * L + 1)  # where the trailer starts
    if t <= 1024 or struct.unpack_from('<i', x, t)[0] != 20241120: return x
    return x[:t + 24] + bytes(24) + x[t + 48:]
sys.exit(0 if masked(a) == masked(b) else 1)
PYEOF
}

# same_state_body A.bin B.bin: two training-state files (docs/training.md) hold the same
# header and body apart from header slots 12-17 (run id, the model file's checksum, their own)
same_state_body() {
  "$PY" - "$1" "$2" <<'PYEOF'
import sys
a, b = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
masked = lambda x: x[:48] + bytes(24) + x[72:]
sys.exit(0 if len(a) == len(b) and masked(a) == masked(b) else 1)
PYEOF
}

# same_losses A/main.log B/main.log [TOL [MIN]]: the train and val losses (s:N trl:/tel:
# lines) of two runs name the same steps, at least MIN of them (default 10), and agree within
# TOL relative (default 1e-4). Prints the count and the worst difference; non-zero if not.
same_losses() {
  "$PY" - "$1" "$2" "${3:-1e-4}" "${4:-10}" <<'PYEOF'
import sys
def losses(p):
    return {(l.split()[0], l.split()[1].split(':')[0]): float(l.split(':')[2])
            for l in open(p) if ' trl:' in l or ' tel:' in l}
a, b, tol = losses(sys.argv[1]), losses(sys.argv[2]), float(sys.argv[3])
if len(a) < int(sys.argv[4]) or a.keys() != b.keys():
    print("different logged steps:", sorted(a), sorted(b)); sys.exit(1)
worst = max(abs(a[k] - b[k]) / abs(a[k]) for k in a)
print("%d losses, max relative difference %.3g (tolerance %g)" % (len(a), worst, tol))
sys.exit(0 if worst <= tol else 1)
PYEOF
}
