#!/usr/bin/env bash
# The training loop's Catch2 tests (tests/train/): every preset's schedule, sigma EMA and
# freezing, LR schedule, argument parsing, resume exactness, NaN stop (fake backend).
# needs: build/tests/train/test_train
set -uo pipefail
. tests/lib.sh
run build/tests/train/test_train
report train-unit
