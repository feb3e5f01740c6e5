// Data parallelism on the host side: which rank this process is, and the few collectives
// the CPU backend and the loop need. Works unchanged in a plain single process (no mpirun):
// dist_init() then reports rank 0 of 1 and every collective is a no-op.
//
// Faults (docs/training.md "Faults"): no rank may be left waiting in a collective that
// another rank will never reach. Two mechanisms, both here:
//  - agreement points: code that may fail on some ranks only (setup, resume, checkpoint
//    writes, the export) runs in dist_collectively(); afterwards every rank learns whether
//    any rank failed and, if so, every rank throws AgreedError with the first failing
//    rank's message, so the whole job stops cleanly (exit 1 everywhere);
//  - anywhere else (an error in the middle of a step, between the collectives of the
//    forward, backward and all-reduce): the failing rank prints its message and calls
//    dist_abort(), which runs the abort hooks and then MPI_Abort, ending every rank.
// A backend with its own communicator registers an abort hook (dist_on_abort): the CUDA
// trainer's NCCL communicator is to be aborted there (ncclCommAbort) before MPI_Abort.
#pragma once
#include <cstddef>
#include <functional>
#include <string>

#include "host/error.h"

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
void dist_broadcast(void* buf, size_t bytes, int root = 0);
// Waits for every rank without spinning a core (ranks waiting for rank 0's file writes).
void dist_barrier();

// An error every rank has agreed on (so no rank needs to abort the others).
struct AgreedError : Error {
    using Error::Error;
};

// Every rank calls it at the same point with its own error ("" for none). Returns "" when
// no rank failed, otherwise the message of the lowest failing rank, prefixed "rank R: "
// when there are several ranks, the same text on every rank. Waits without spinning.
std::string dist_first_error(const std::string& local_error);

// Runs f on every rank, then agrees: throws AgreedError (on every rank) when f threw on any.
template <class F>
void dist_collectively(F&& f) {
    std::string err;
    try {
        f();
    } catch (const std::exception& e) {
        err = e.what();
        if (err.empty()) err = "unknown error";
    }
    err = dist_first_error(err);
    if (!err.empty()) throw AgreedError(err);
}

// Hooks run by dist_abort before MPI_Abort, in registration order (e.g. ncclCommAbort).
void dist_on_abort(std::function<void()> hook);
// Ends every rank of the job with exit status `code`: the abort hooks, then MPI_Abort (or
// plain exit in a single process). For an error outside dist_collectively.
[[noreturn]] void dist_abort(int code);

}  // namespace noln
