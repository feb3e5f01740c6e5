#!/usr/bin/env bash
# The libFuzzer harnesses (tests/fuzz/), one per file reader, each run briefly on the seed
# corpus our own writers produce: a crash, a sanitizer report (ASan, UBSan, leaks), an
# uncaught exception or an allocation past 2 GB fails the case. FUZZ_SECONDS per harness
# (default 8: about a minute in all); `make fuzz` runs them longer.
# needs: build/fuzz/fuzz_model build/fuzz/fuzz_train_state build/fuzz/fuzz_shard build/fuzz/fuzz_tokenizer build/fuzz/fuzz_hf build/fuzz/fuzz_eval_file build/fuzz/fuzz_debug_state build/fuzz/make_seeds
set -uo pipefail
. tests/lib.sh
for name in model train_state shard tokenizer hf eval_file debug_state; do
  if out=$(bash tests/fuzz/run_fuzz.sh "${FUZZ_SECONDS:-8}" "$name"); then ok "$out"
  else bad "$out"; fi
done
report fuzz
