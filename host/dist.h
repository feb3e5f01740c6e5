// Data parallelism on the host side: which rank this process is, and the few collectives
// the CPU backend and the loop need. Works unchanged in a plain single process (no mpirun):
// dist_init() then reports rank 0 of 1 and every collective is a no-op.
#pragma once
#include <cstddef>

namespace noln {

struct Dist {
    int rank = 0;
    int world = 1;
};

// Initialises MPI if the program was started by mpirun (or always when force_mpi);
// safe to call more than once. dist_finalize() is registered with atexit.
const Dist& dist_init(int* argc = nullptr, char*** argv = nullptr);
const Dist& dist();  // the state after dist_init (rank 0 of 1 before it)

void dist_allreduce_sum(float* buf, size_t n);   // in place, over all ranks
void dist_allreduce_sum(double* buf, size_t n);
void dist_allreduce_max(double* buf, size_t n);
// Every rank's `bytes` from mine into all (world * bytes), in rank order.
void dist_allgather(const void* mine, size_t bytes, void* all);
void dist_broadcast(void* buf, size_t bytes, int root = 0);
void dist_barrier();

}  // namespace noln
