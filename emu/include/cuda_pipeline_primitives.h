// cuemu's asynchronous-copy primitives (shadows CUDA's <cuda_pipeline_primitives.h>):
// __pipeline_memcpy_async, __pipeline_commit, __pipeline_wait_prior, per CUDA thread.
// A copy lands only when a wait covers it, so code that reads the destination before
// __pipeline_wait_prior (and, for other threads, a __syncthreads) gets stale data here.
#pragma once
#include "cuemu.h"

inline void __pipeline_memcpy_async(void* __restrict__ dst_shared, const void* __restrict__ src_global, size_t size_and_align,
                                    size_t zfill = 0) {
    ::cuemu::pipeline_copy(dst_shared, src_global, size_and_align, zfill);
}
inline void __pipeline_commit() { ::cuemu::pipeline_commit(); }
inline void __pipeline_wait_prior(size_t prior) { ::cuemu::pipeline_wait_prior(prior); }
