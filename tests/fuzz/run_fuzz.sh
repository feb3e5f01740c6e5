#!/usr/bin/env bash
# run_fuzz.sh SECONDS NAME...: runs build/fuzz/fuzz_NAME for SECONDS each on its corpus
# build/fuzz/corpus/NAME (kept between runs, seeded by build/fuzz/make_seeds), and prints one
# line per harness: executions, time, corpus size and "no finding", or the finding's file
# (build/fuzz/findings/NAME/) and the sanitizer's summary. Exits 1 when any harness found
# something. Used by tests/suites/21-fuzz.sh (a few seconds each) and `make fuzz`.
set -uo pipefail
secs=$1; shift
B=build/fuzz
# the harnesses write every input to a file: a RAM disk keeps that cheap
[ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
"$B/make_seeds" "$B/seeds" > /dev/null || { echo "fuzz: make_seeds failed"; exit 1; }
status=0
for name in "$@"; do
  corpus=$B/corpus/$name findings=$B/findings/$name log=$B/logs/$name.log
  mkdir -p "$corpus" "$findings" "$B/logs"
  # -rss_limit_mb also caps a single allocation: a reader that sizes one from the file
  # without checking it is a finding, as std::bad_alloc would be.
  if "$B/fuzz_$name" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
       -artifact_prefix="$findings/" "$corpus" "$B/seeds/$name" > "$log" 2>&1; then
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    units=$(ls "$corpus" | wc -l)
    echo "fuzz $name: ${execs:-?} executions in ${secs} s, corpus $units files, no finding"
  else
    status=1
    echo "fuzz $name: FINDING (log $log, inputs in $findings/)"
    grep -E 'SUMMARY|ERROR|runtime error|terminate called|==[0-9]+==' "$log" | head -5
  fi
done
exit $status
