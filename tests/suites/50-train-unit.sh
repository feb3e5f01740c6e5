#!/usr/bin/env bash
# The training loop's Catch2 tests (tests/train/): every preset's schedule, sigma EMA and
# freezing, LR schedule, argument parsing, resume exactness, NaN stop (fake backend).
set -uo pipefail
exec build/tests/train/test_train
