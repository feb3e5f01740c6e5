#!/usr/bin/env bash
# NCCL collectives over MPI in the emulator: two ranks on one machine, in each CUEMU_STREAMS
# mode (a collective on a side stream, ordered by events or not).
# needs: build/emu/tests/test_nccl
set -u
. tests/lib.sh
for mode in sync defer-side defer-default; do
  run env CUEMU_STREAMS=$mode OMP_NUM_THREADS=1 timeout 120 mpirun -np 2 --oversubscribe build/emu/tests/test_nccl
done
report emu-mpi
