#!/usr/bin/env bash
# NCCL collectives over MPI in the emulator: two ranks on one machine.
# needs: build/emu/tests/test_nccl
set -u
. tests/lib.sh
run env OMP_NUM_THREADS=1 timeout 120 mpirun -np 2 --oversubscribe build/emu/tests/test_nccl
report emu-mpi
