#!/usr/bin/env bash
# Catch2 tests of the CPU model: finite differences of every op and of the whole model (in
# double precision) in several LN configurations, AdamW by hand, the Model interface, dN init,
# and the debug-state reader/writer on good and bad files.
# needs: build/tests/cpu_tests
set -uo pipefail
. tests/lib.sh
run build/tests/cpu_tests
report cpu-ops
