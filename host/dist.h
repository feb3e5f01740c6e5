// Data parallelism on the host side: which rank this process is, and the few collectives
// the CPU backend and the loop need. Works unchanged in a plain single process (no mpirun):
// dist_init() then reports rank 0 of 1 and every collective is a no-op.
#pragma once
#include <cstddef>

namespace noln {

struct Dist {
    int rank = 0;
    int world = 1;
    int local_rank = 0;  // rank among the ranks on this node (MPI_COMM_TYPE_SHARED): picks the GPU
    int local_size = 1;
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

// Faults: a rank that fails where the others may be waiting in a collective ends the whole
// job. dist_abort runs the hooks registered with dist_on_abort (the CUDA model's is
// ncclCommAbort, so no NCCL call stays blocked), then MPI_Abort; in a single process it
// only runs the hooks. (Minimal: issue 11 builds the host side of this, which this meets.)
void dist_on_abort(void (*hook)(void*), void* arg);
void dist_remove_abort_hook(void* arg);
[[noreturn]] void dist_abort(int code);

}  // namespace noln
