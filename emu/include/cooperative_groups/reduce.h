// cuemu's cg::reduce and its operators (shadows CUDA's cooperative_groups/reduce.h).
// A butterfly of shfl_xor over the tile, so every lane gets the result; the order of
// the additions differs from NVIDIA's, so compare float results with a tolerance.
#pragma once
#include "../cooperative_groups.h"

namespace cooperative_groups {

template <typename T> struct plus { T operator()(const T& a, const T& b) const { return a + b; } };
template <typename T> struct less { T operator()(const T& a, const T& b) const { return b < a ? b : a; } };
template <typename T> struct greater { T operator()(const T& a, const T& b) const { return a < b ? b : a; } };
template <typename T> struct bit_and { T operator()(const T& a, const T& b) const { return a & b; } };
template <typename T> struct bit_or { T operator()(const T& a, const T& b) const { return a | b; } };
template <typename T> struct bit_xor { T operator()(const T& a, const T& b) const { return a ^ b; } };

template <unsigned N, typename T, typename Op>
inline T reduce(const thread_block_tile<N>& g, T v, Op op) {
    for (unsigned off = N / 2; off > 0; off /= 2) v = op(v, g.shfl_xor(v, (int)off));
    return v;
}

}  // namespace cooperative_groups
