#!/usr/bin/env bash
# Runs every test suite in tests/suites/ (in name order) and prints one closing line,
# `N passed, M failed[, K skipped]`, summed over all of them.
#
#   tests/run_suites.sh [PATTERN]          the suites whose name contains PATTERN (all without)
#   tests/run_suites.sh --needs [PATTERN]  the make targets those suites need, from the line
#                                          `# needs: TARGET...` each suite has (`make test
#                                          SUITE=x` builds them, and only them, first)
#
# A suite is a bash script run from the repo root that sources tests/lib.sh. Its count comes
# from its output:
#  - Catch2 v2 summaries ("All tests passed (A assertions in N test cases)" or
#    "test cases: N | P passed | F failed"), summed over every Catch2 run in the suite;
#  - otherwise lines of the form `N passed, M failed[, K skipped]`, summed.
# A suite that exits non-zero but reports no failure counts one extra failure, so a
# crash can never pass silently. Logs are kept in build/test-logs/.
set -uo pipefail
cd "$(dirname "$0")/.."
needs=0; [ "${1:-}" = --needs ] && { needs=1; shift; }
only="${1:-}"
suites=()
for suite in tests/suites/*.sh; do
  name=$(basename "$suite" .sh)
  [ -n "$only" ] && [[ "$name" != *"$only"* ]] && continue
  suites+=("$suite")
done

if [ $needs = 1 ]; then
  targets=()
  for suite in ${suites[@]+"${suites[@]}"}; do
    if line=$(grep -m1 '^# needs:' "$suite"); then targets+=(${line#\# needs:})
    else echo "warning: $suite has no '# needs:' line (the make targets it runs, or none); suite 10 fails on it" >&2; fi
  done
  [ ${#targets[@]} -eq 0 ] || printf '%s\n' "${targets[@]}" | sort -u | tr '\n' ' '
  echo
  exit 0
fi

mkdir -p build/test-logs
tp=0; tf=0; ts=0; bad=()
for suite in ${suites[@]+"${suites[@]}"}; do
  name=$(basename "$suite" .sh)
  log=build/test-logs/$name.log
  echo "=== suite $name"
  start=$(date +%s)
  bash "$suite" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  read -r p f s < <(awk '
    /^All tests passed \(.* in [0-9]+ test cases?\)/ {
      n = $0; sub(/^.* in /, "", n); sub(/ test case.*/, "", n); P += n; next }
    /^test cases: / {
      line = $0; gsub(/\|/, " ", line); k = split(line, w, " ")
      for (i = 1; i < k; i++) { if (w[i+1] == "passed") P += w[i]; if (w[i+1] == "failed") F += w[i] }
      next }
    /^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$/ {
      line = $0; sub(/^[A-Za-z_-]+: /, "", line); gsub(/,/, "", line); k = split(line, w, " ")
      P += w[1]; F += w[3]; if (k >= 5) S += w[5]; next }
    END { printf "%d %d %d\n", P, F, S }' "$log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "suite $name exited with status $rc without reporting a failure: counted as 1 failed"; fi
  echo "=== suite $name: $p passed, $f failed, $s skipped ($(( $(date +%s) - start ))s)"
  tp=$((tp+p)); tf=$((tf+f)); ts=$((ts+s))
  [ "$f" -ne 0 ] && bad+=("$name")
done
[ ${#bad[@]} -gt 0 ] && echo "failing suites: ${bad[*]} (logs in build/test-logs/)"
if [ "$ts" -gt 0 ]; then echo "$tp passed, $tf failed, $ts skipped"; else echo "$tp passed, $tf failed"; fi
[ "$tf" -eq 0 ]
