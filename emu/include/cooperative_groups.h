// cuemu's cooperative groups: the subset llm.c-style kernels use, on the emulator's
// barriers and warp operations. Shadows CUDA's header (emu/include comes first on the
// include path). Grid groups and cooperative launch are not emulated: using them fails
// to compile here, rather than running wrongly.
#pragma once
#include "cuemu.h"

namespace cooperative_groups {

namespace detail {
inline unsigned linear_tid() {
    uint3 t = threadIdx;
    dim3 d = blockDim;
    return t.x + d.x * (t.y + d.y * t.z);
}
inline unsigned block_size() {
    dim3 d = blockDim;
    return d.x * d.y * d.z;
}
}  // namespace detail

class thread_block {
public:
    // One site for every block.sync(): all threads of a block reach the same line.
    void sync() const { ::cuemu::sync_block(::cuemu::BAR_SYNC, 1, "cooperative_groups::thread_block::sync", 0); }
    unsigned long long thread_rank() const { return detail::linear_tid(); }
    unsigned long long size() const { return detail::block_size(); }
    unsigned long long num_threads() const { return detail::block_size(); }
    dim3 group_index() const { return blockIdx; }
    dim3 thread_index() const { return threadIdx; }
    dim3 group_dim() const { return blockDim; }
    dim3 dim_threads() const { return blockDim; }
};

inline thread_block this_thread_block() { return thread_block(); }
inline void sync(const thread_block& g) { g.sync(); }

// A tile of N (a power of two, at most 32) consecutive threads; its warp operations
// use the tile's lanes as mask and N as width, as CUDA's do.
template <unsigned N>
class thread_block_tile {
    static_assert(N >= 1 && N <= 32 && (N & (N - 1)) == 0, "cuemu: tiles are powers of two up to 32");
    unsigned mask_;

public:
    thread_block_tile() {
        unsigned lane = detail::linear_tid() % 32;
        unsigned base = lane & ~(N - 1);
        mask_ = (N == 32) ? 0xffffffffu : (((1u << N) - 1u) << base);
    }
    unsigned long long thread_rank() const { return detail::linear_tid() % N; }
    unsigned long long meta_group_rank() const { return detail::linear_tid() / N; }
    unsigned long long meta_group_size() const { return (detail::block_size() + N - 1) / N; }
    static constexpr unsigned long long size() { return N; }
    static constexpr unsigned long long num_threads() { return N; }
    void sync() const { __syncwarp(mask_); }
    template <typename T> T shfl(T v, int src) const { return __shfl_sync(mask_, v, src, N); }
    template <typename T> T shfl_xor(T v, int m) const { return __shfl_xor_sync(mask_, v, m, N); }
    template <typename T> T shfl_down(T v, unsigned d) const { return __shfl_down_sync(mask_, v, d, N); }
    template <typename T> T shfl_up(T v, unsigned d) const { return __shfl_up_sync(mask_, v, d, N); }
    int any(int p) const { return __any_sync(mask_, p); }
    int all(int p) const { return __all_sync(mask_, p); }
    unsigned ballot(int p) const {
        unsigned lane = detail::linear_tid() % 32;
        return __ballot_sync(mask_, p) >> (lane & ~(N - 1));
    }
};

template <unsigned N, typename Parent>
inline thread_block_tile<N> tiled_partition(const Parent&) { return thread_block_tile<N>(); }
template <unsigned N>
inline void sync(const thread_block_tile<N>& g) { g.sync(); }

}  // namespace cooperative_groups
