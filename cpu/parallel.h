// Splitting work among the threads of an OpenMP parallel region by hand, for ops that hand
// each thread one contiguous slice (a BLAS call, a vectorised kernel).
#pragma once
#include <omp.h>

#include <algorithm>

namespace noln {

// Elementwise ops on fewer elements than this run on the calling thread: tens of
// microseconds of work do not pay for waking the team, and under a loaded machine each
// parallel region risks waiting a whole scheduler slice for a preempted thread.
constexpr long PARALLEL_MIN_WORK = 1L << 17;

// Inside a parallel region: this thread's share [lo, hi) of n items, cut at multiples of
// `align` (e.g. 16 floats, a cache line) so that no two threads write the same line.
inline void thread_share(long n, long align, long* lo, long* hi) {
    const long nt = omp_get_num_threads(), id = omp_get_thread_num();
    const long blocks = (n + align - 1) / align;
    *lo = std::min(n, blocks * id / nt * align);
    *hi = std::min(n, blocks * (id + 1) / nt * align);
}

}  // namespace noln
