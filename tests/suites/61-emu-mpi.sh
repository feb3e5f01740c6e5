#!/usr/bin/env bash
# NCCL collectives over MPI in the emulator: two ranks on one machine.
set -u
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
OMP_NUM_THREADS=1 timeout 120 mpirun -np 2 --oversubscribe build/emu/tests/test_nccl
