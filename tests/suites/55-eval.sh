#!/usr/bin/env bash
# Evals and LN-free export in C++ (tests/eval/): HellaSwag on a constructed eval file, val
# CE against direct forwards, export refusals, eps-trick parameters, the split-ln_1 fold.
# needs: build/tests/eval/test_eval
set -uo pipefail
. tests/lib.sh
run build/tests/eval/test_eval
report eval
