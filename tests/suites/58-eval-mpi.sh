#!/usr/bin/env bash
# eval/eval over 2 MPI ranks: the val loss of 2 ranks x 3 batches equals 1 rank x 6 batches
# (each rank reads its own slice), and HellaSwag counts each of the 9 examples once.
# needs: build/tests/eval/eval_mpi
set -uo pipefail
. tests/lib.sh
bin=build/tests/eval/eval_mpi
dir=build/tests/eval/tmp/mpi
rm -rf "$dir"
"$bin" write "$dir" || { bad "eval_mpi write"; report eval-mpi; exit 1; }
one=$("$bin" run "$dir" 6) || bad "single-rank run failed"
two=$(mpirun -np 2 --oversubscribe "$bin" run "$dir" 3 2>&1) || bad "2-rank run failed: $two"
echo "1 rank, 6 batches: $one"
echo "2 ranks, 3 batches each: $two"
read -r _ v1 _ n1 c1 <<< "$one"
read -r _ v2 _ n2 c2 <<< "$(echo "$two" | grep '^val ')"
if [ -n "${v2:-}" ] && awk -v a="$v1" -v b="$v2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-5 * a) }'; then
  ok "val loss over 2 ranks equals 1 rank over the same batches"
else bad "val loss differs: '$one' vs '$two'"; fi
if [ "${n2:-}" = 9 ] && [ "${n1:-}" = 9 ] && [ "${c1:-x}" = "${c2:-y}" ]; then
  ok "HellaSwag over 2 ranks: 9 examples, same correct count"
else bad "HellaSwag counts differ: '$one' vs '$two'"; fi
report eval-mpi
