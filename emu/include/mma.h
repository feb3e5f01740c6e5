// cuemu's nvcuda::wmma (shadows CUDA's <mma.h>; emu/include comes first on the include
// path): warp matrix fragments, load/store/fill and mma_sync for the shapes m16n16k16,
// m32n8k16 and m8n32k16 with __nv_bfloat16 or __half inputs and float (or __half)
// accumulators. See emu/README.md, "Tensor cores (wmma)".
//
// A fragment is per-lane storage, as on the GPU: each CUDA thread's fragment object holds
// `num_elements` elements of the warp's matrix. Which matrix element sits in which lane's
// x[i] is unspecified by CUDA; here it is the fixed mapping detail::shape::index() below,
// chosen to differ from the hardware's, so code that assumes a layout fails here instead
// of passing by luck. load_matrix_sync, store_matrix_sync and mma_sync are warp-collective:
// all 32 lanes of a full warp must call them with the same arguments, and the scheduler
// runs the operation once for the whole warp when they have (::cuemu::warp_collective).
#pragma once
#include "cuemu.h"

namespace nvcuda {
namespace wmma {

struct row_major;
struct col_major;
struct matrix_a;
struct matrix_b;
struct accumulator;
enum layout_t { mem_row_major, mem_col_major };

namespace detail {

template <typename T> struct identity { typedef T type; };

template <int m, int n, int k>
constexpr bool shape_supported() { return k == 16 && ((m == 16 && n == 16) || (m == 32 && n == 8) || (m == 8 && n == 32)); }

// The fragment's matrix: A is m x k, B is k x n, the accumulator m x n.
template <typename Use, int m, int n, int k>
struct dims {
    static constexpr int rows = std::is_same<Use, matrix_b>::value ? k : m;
    static constexpr int cols = std::is_same<Use, matrix_a>::value ? k : n;
};

// Elements per lane, as CUDA declares them: rows*cols/32, except that __half A and B
// fragments always hold 16 (the GPU keeps copies); copy c of slot j is x[j + c*distinct].
template <typename Use, int m, int n, int k, typename T>
constexpr int elements() {
    return (!std::is_same<Use, accumulator>::value && std::is_same<T, __half>::value) ? 16 : dims<Use, m, n, k>::rows * dims<Use, m, n, k>::cols / 32;
}

template <typename T> inline float to_float(T v) { return static_cast<float>(v); }
template <> inline float to_float<__half>(__half v) { return __half2float(v); }
template <> inline float to_float<__nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> inline T from_float(float v) { return static_cast<T>(v); }
template <> inline __half from_float<__half>(float v) { return __float2half_rn(v); }

}  // namespace detail

template <typename T, int size>
struct __align__(8) fragment_storage {
    enum { num_elements = size, num_storage_elements = size };
    typedef T element_type;
    typedef T storage_element_type;
    T x[size];
};

template <typename Use, int m, int n, int k, typename T, typename Layout = void>
class fragment : public fragment_storage<T, detail::elements<Use, m, n, k, T>()> {
    static_assert(detail::shape_supported<m, n, k>(), "cuemu wmma: shapes m16n16k16, m32n8k16 and m8n32k16 only");
    static_assert(std::is_same<Use, accumulator>::value ? (std::is_same<T, float>::value || std::is_same<T, __half>::value)
                                                        : (std::is_same<T, __half>::value || std::is_same<T, __nv_bfloat16>::value),
                  "cuemu wmma: A and B fragments hold __half or __nv_bfloat16, accumulators float or __half");
    static_assert(std::is_same<Use, accumulator>::value ? std::is_same<Layout, void>::value
                                                        : (std::is_same<Layout, row_major>::value || std::is_same<Layout, col_major>::value),
                  "cuemu wmma: A and B fragments take row_major or col_major, accumulators no layout");
};

// Not warp-collective in CUDA either: every lane sets all of its elements.
template <typename Use, int m, int n, int k, typename T, typename Layout>
inline void fill_fragment(fragment<Use, m, n, k, T, Layout>& f, const typename detail::identity<T>::type& v) {
    for (int i = 0; i < f.num_elements; i++) f.x[i] = v;
}

namespace detail {

// The matrix a fragment type holds and where its elements live (kept out of the fragment
// itself, so kernel code cannot come to depend on it: nvcc's fragments have no such thing).
template <typename F> struct shape;
template <typename F> struct shape<const F> : shape<F> {};
template <typename Use, int m, int n, int k, typename T, typename L>
struct shape<fragment<Use, m, n, k, T, L>> {
    static constexpr int rows = dims<Use, m, n, k>::rows;
    static constexpr int cols = dims<Use, m, n, k>::cols;
    // Distinct matrix elements per lane (num_elements counts the copies too).
    static constexpr int distinct = rows * cols / 32;
    // Row-major index in the rows x cols matrix of element x[i] of lane `lane`. A bijection
    // from (lane, i mod distinct) onto the matrix, because rows*cols is a power of two and
    // the multiplier is odd; nothing about it matches the GPU's layout, on purpose.
    static int index(int lane, int i) { return ((lane + 32 * (i % distinct)) * 97 + 13) & (rows * cols - 1); }
};

// What each lane passes to load_matrix_sync and store_matrix_sync.
template <typename Frag, typename Ptr>
struct MemArgs {
    Frag* frag;
    Ptr p;
    unsigned ldm;
    bool col;  // column-major memory
};

// CUDA's rules for the memory operand of load/store: the same p, ldm and layout in every
// lane, p 256-bit aligned, ldm a multiple of 16 bytes (0 is allowed: every row, or
// column, is then the same memory). Returns a lane at fault, or -1.
template <typename Frag, typename Ptr>
int check_mem(void* const* args, char* msg, size_t n, const char* what) {
    const auto* a0 = static_cast<const MemArgs<Frag, Ptr>*>(args[0]);
    for (int l = 1; l < 32; l++) {
        const auto* a = static_cast<const MemArgs<Frag, Ptr>*>(args[l]);
        if (a->p != a0->p || a->ldm != a0->ldm || a->col != a0->col) {
            snprintf(msg, n, "the lanes of the warp pass different arguments: lane 0 (%p, ldm %u, %s), lane %d (%p, ldm %u, %s)",
                     (const void*)a0->p, a0->ldm, a0->col ? "col-major" : "row-major", l, (const void*)a->p, a->ldm,
                     a->col ? "col-major" : "row-major");
            return l;
        }
    }
    if ((uintptr_t)a0->p % 32) {
        snprintf(msg, n, "%s pointer %p is not 256-bit (32-byte) aligned", what, (const void*)a0->p);
        return 0;
    }
    if (a0->ldm * sizeof(*a0->p) % 16) {
        snprintf(msg, n, "ldm %u is not a multiple of 16 bytes (%zu elements)", a0->ldm, 16 / sizeof(*a0->p));
        return 0;
    }
    return -1;
}

template <typename Frag, typename T>
int load_op(void* const* args, char* msg, size_t n) {
    int bad = check_mem<Frag, const T*>(args, msg, n, "source");
    if (bad >= 0) return bad;
    for (int l = 0; l < 32; l++) {
        const auto* a = static_cast<const MemArgs<Frag, const T*>*>(args[l]);
        for (int i = 0; i < Frag::num_elements; i++) {
            int e = shape<Frag>::index(l, i), r = e / shape<Frag>::cols, c = e % shape<Frag>::cols;
            a->frag->x[i] = a->p[a->col ? (size_t)c * a->ldm + r : (size_t)r * a->ldm + c];
        }
    }
    return -1;
}

template <typename Frag, typename T>
int store_op(void* const* args, char* msg, size_t n) {
    int bad = check_mem<Frag, T*>(args, msg, n, "destination");
    if (bad >= 0) return bad;
    for (int l = 0; l < 32; l++) {
        const auto* a = static_cast<const MemArgs<Frag, T*>*>(args[l]);
        for (int i = 0; i < Frag::num_elements; i++) {
            int e = shape<Frag>::index(l, i), r = e / shape<Frag>::cols, c = e % shape<Frag>::cols;
            a->p[a->col ? (size_t)c * a->ldm + r : (size_t)r * a->ldm + c] = a->frag->x[i];
        }
    }
    return -1;
}

template <typename FD, typename FA, typename FB, typename FC>
struct MmaArgs {
    FD* d;
    const FA* a;
    const FB* b;
    const FC* c;
};

// Gathers the warp's matrix of fragment type F (lanes' x[i] for i < distinct) as floats.
template <typename F, typename Get>
void gather(float* out, Get lane_frag) {
    for (int l = 0; l < 32; l++) {
        const F* f = lane_frag(l);
        for (int i = 0; i < shape<F>::distinct; i++) out[shape<F>::index(l, i)] = to_float(f->x[i]);
    }
}

// D = A B + C for the whole warp. Every product of two bf16 or two half values is exact
// in fp32; the sum runs in fp32, starting from C, in increasing k. All of A, B and C are
// read before D is written, so d may be the same fragment as c.
template <typename FD, typename FA, typename FB, typename FC>
int mma_op(void* const* args, char*, size_t) {
    typedef MmaArgs<FD, FA, FB, FC> Args;
    constexpr int M = shape<FA>::rows, K = shape<FA>::cols, N = shape<FB>::cols;
    float A[M * K], B[K * N], C[M * N];
    gather<FA>(A, [&](int l) { return static_cast<const Args*>(args[l])->a; });
    gather<FB>(B, [&](int l) { return static_cast<const Args*>(args[l])->b; });
    gather<FC>(C, [&](int l) { return static_cast<const Args*>(args[l])->c; });
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float acc = C[i * N + j];
            for (int kk = 0; kk < K; kk++) acc += A[i * K + kk] * B[kk * N + j];
            C[i * N + j] = acc;
        }
    for (int l = 0; l < 32; l++) {
        FD* d = static_cast<const Args*>(args[l])->d;
        for (int i = 0; i < FD::num_elements; i++) d->x[i] = from_float<typename FD::element_type>(C[shape<FD>::index(l, i)]);
    }
    return -1;
}

}  // namespace detail

template <typename Use, int m, int n, int k, typename T, typename Layout>
inline void load_matrix_sync(fragment<Use, m, n, k, T, Layout>& a, const T* p, unsigned ldm) {
    static_assert(!std::is_same<Use, accumulator>::value, "cuemu wmma: an accumulator load takes a layout_t");
    typedef fragment<Use, m, n, k, T, Layout> F;
    detail::MemArgs<F, const T*> args{&a, p, ldm, std::is_same<Layout, col_major>::value};
    ::cuemu::warp_collective("wmma::load_matrix_sync", &detail::load_op<F, T>, &args);
}

template <int m, int n, int k, typename T>
inline void load_matrix_sync(fragment<accumulator, m, n, k, T>& a, const T* p, unsigned ldm, layout_t layout) {
    typedef fragment<accumulator, m, n, k, T> F;
    detail::MemArgs<F, const T*> args{&a, p, ldm, layout == mem_col_major};
    ::cuemu::warp_collective("wmma::load_matrix_sync", &detail::load_op<F, T>, &args);
}

template <int m, int n, int k, typename T>
inline void store_matrix_sync(T* p, const fragment<accumulator, m, n, k, T>& a, unsigned ldm, layout_t layout) {
    typedef fragment<accumulator, m, n, k, T> F;
    detail::MemArgs<const F, T*> args{&a, p, ldm, layout == mem_col_major};
    ::cuemu::warp_collective("wmma::store_matrix_sync", &detail::store_op<const F, T>, &args);
}

template <int m, int n, int k, typename Tin, typename LA, typename LB, typename Tc, typename Td>
inline void mma_sync(fragment<accumulator, m, n, k, Td>& d, const fragment<matrix_a, m, n, k, Tin, LA>& a,
                     const fragment<matrix_b, m, n, k, Tin, LB>& b, const fragment<accumulator, m, n, k, Tc>& c) {
    static_assert(std::is_same<Tin, __half>::value || (std::is_same<Tc, float>::value && std::is_same<Td, float>::value),
                  "cuemu wmma: __nv_bfloat16 inputs accumulate in float");
    typedef fragment<accumulator, m, n, k, Td> FD;
    typedef fragment<matrix_a, m, n, k, Tin, LA> FA;
    typedef fragment<matrix_b, m, n, k, Tin, LB> FB;
    typedef fragment<accumulator, m, n, k, Tc> FC;
    detail::MmaArgs<FD, FA, FB, FC> args{&d, &a, &b, &c};
    ::cuemu::warp_collective("wmma::mma_sync", &detail::mma_op<FD, FA, FB, FC>, &args);
}

}  // namespace wmma
}  // namespace nvcuda
