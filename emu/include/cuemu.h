// cuemu: the CUDA kernel language on the CPU, for g++ (see emu/README.md).
// emu/nvcc-emu force-includes this header into every file it compiles, after which
// unmodified CUDA source (kernels, <<<...>>> launches rewritten by the driver, runtime
// calls) builds with g++ against libcuemu. It can also be included by hand.
#pragma once
#ifdef __CUDACC__
#error "cuemu.h is for the emulated (g++) build; nvcc has the real thing"
#endif

// The real CUDA headers first: their types and runtime prototypes are what we implement.
#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

// CUDA's host_defines.h turns the memory-space keywords into nothing under g++. That is
// right for __global__/__device__/__host__, fatal for __shared__: a block's threads must
// see one array. One block runs at a time per OS thread, so a function-scope
// `static thread_local` is exactly one copy per block in flight.
#undef __shared__
#define __shared__ static thread_local
#undef __launch_bounds__
#define __launch_bounds__(...)
#undef __grid_constant__
#define __grid_constant__

namespace cuemu {

// What a kernel sees of its thread and block. The scheduler (emu/src/sched.cpp) extends
// these; only the leading fields are part of the header/library contract.
struct ThreadHead { uint3 tid; };
struct BlockHead { uint3 idx; dim3 dim; dim3 grid; unsigned char* smem; };
// __thread, not thread_local: no TLS wrapper call on every threadIdx.
extern __thread ThreadHead* tls_thread;
extern __thread BlockHead* tls_block;

// Barrier kinds for sync_block; warp operation kinds for warp_op.
enum { BAR_SYNC = 0, BAR_COUNT, BAR_AND, BAR_OR };
enum { WARP_SYNC = 0, WARP_SHFL, WARP_UP, WARP_DOWN, WARP_XOR, WARP_BALLOT, WARP_ANY, WARP_ALL, WARP_COLLECTIVE };

// Every __syncthreads*() of a block: blocks the calling CUDA thread until every live
// thread of its block has arrived (at the same site, the same number of times).
int sync_block(int kind, int pred, const char* file, int line);
// Every warp-synchronous operation: the lanes named in `mask` meet, exchange `value`
// (any type of at most 8 bytes), and each gets its own result.
uint64_t warp_op(int kind, unsigned mask, uint64_t value, int arg, int width);
// A warp-collective operation (the wmma API, emu/include/mma.h): all 32 lanes of a full
// warp must call it with the same `op` (the lanes' `name`s appear in messages). Once they
// have, the scheduler runs op once, before any lane continues, with args[l] = lane l's
// `arg`. op returns -1 when done, or a lane whose arguments are wrong after writing why
// into msg; that is reported naming the kernel, the block and that lane's thread.
using CollectiveOp = int (*)(void* const* args, char* msg, size_t msg_size);
void warp_collective(const char* name, CollectiveOp op, void* arg);
// Aborts with `what`, naming the kernel, the block and the calling thread.
[[noreturn]] void device_error(const char* what);
// Asynchronous copies (emu/include/cuda_pipeline_primitives.h): the source is read at
// issue, the destination written when __pipeline_wait_prior covers the copy's batch (or
// when the thread exits), so a read of the destination before the wait sees old data.
void pipeline_copy(void* dst, const void* src, size_t size, size_t zfill);
void pipeline_commit();
void pipeline_wait_prior(size_t prior);
// Lanes of the caller's warp that are still running (an approximation: see README).
unsigned active_mask();
// The launch's dynamic shared memory (poisoned with 0xFF at every block start).
void* dynamic_smem();

struct LaunchConfig {
    const char* name;      // the kernel expression as written, for messages
    dim3 grid, block;
    size_t smem;
    cudaStream_t stream;
};
// Runs body(ctx) once per CUDA thread of the grid; returns when all have finished. The
// configuration must have passed submit_launch's checks.
void launch(const LaunchConfig& cfg, void (*body)(void*), void* ctx);
// A launch at its call: a bad configuration sets cudaGetLastError's error and runs nothing
// (as on the GPU, where the launch reports it); otherwise `run` goes on cfg.stream's queue
// and runs when the stream gets to it (emu/README.md, "Streams").
void submit_launch(const LaunchConfig& cfg, std::function<void()> run);

// A launch waiting for its arguments. `call` is a generic lambda that calls the kernel
// by name, so templates whose parameters are deduced from the arguments work too.
template <typename F>
struct Launcher {
    LaunchConfig cfg;
    F call;
    template <typename Args>
    struct Ctx { const F* call; Args* args; };
    template <typename Args>
    static void body(void* c) {
        Ctx<Args>* x = static_cast<Ctx<Args>*>(c);
        // Each thread gets its own copies of by-value parameters, as on the GPU.
        std::apply(*x->call, *x->args);
    }
    template <typename... A>
    void operator()(A&&... a) const {
        using Args = std::tuple<std::decay_t<A>...>;
        // The arguments and the configuration are copied now, at the launch; the kernel
        // runs when its stream gets to it, maybe after the caller changed them.
        submit_launch(cfg, [cfg = cfg, call = call, args = Args(std::forward<A>(a)...)]() mutable {
            Ctx<Args> ctx{&call, &args};
            launch(cfg, &Launcher::body<Args>, &ctx);
        });
    }
};

// What nvcc-emu turns `k<<<g, b, smem, stream>>>(args)` into:
//   ::cuemu::make_launch("k", [=](auto... a) { k(a...); }, g, b, smem, stream)(args)
// (by copy: a kernel named through a local function pointer outlives its scope in a queue)
template <typename F>
Launcher<F> make_launch(const char* name, F call, dim3 grid, dim3 block, size_t smem = 0, cudaStream_t stream = 0) {
    return Launcher<F>{LaunchConfig{name, grid, block, smem, stream}, call};
}

template <typename T>
inline uint64_t to_bits(const T& v) {
    static_assert(sizeof(T) <= 8, "warp operations move values of at most 8 bytes");
    uint64_t b = 0;
    std::memcpy(&b, (const void*)&v, sizeof(T));
    return b;
}
template <typename T>
inline T from_bits(uint64_t b) {
    T v;
    std::memcpy((void*)&v, &b, sizeof(T));
    return v;
}

// Atomic read-modify-write through a compare-and-swap on the containing word; used for
// the types GCC has no fetch-op builtin for (float, double, bf16 pairs).
template <typename W, typename F>
inline W cas_loop(W* word, F f) {
    W old = __atomic_load_n(word, __ATOMIC_RELAXED);
    W want;
    do { want = f(old); } while (!__atomic_compare_exchange_n(word, &old, want, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return old;
}

}  // namespace cuemu

// Built-in variables: prvalues, so writing to them fails to compile as on the GPU.
#define threadIdx (static_cast<uint3>(::cuemu::tls_thread->tid))
#define blockIdx (static_cast<uint3>(::cuemu::tls_block->idx))
#define blockDim (static_cast<dim3>(::cuemu::tls_block->dim))
#define gridDim (static_cast<dim3>(::cuemu::tls_block->grid))
static constexpr int warpSize = 32;

// Launch forms for source that spells them out (the driver's rewrite needs neither).
#define CU_LAUNCH(grid, block, smem, stream, ...) \
    ::cuemu::make_launch(#__VA_ARGS__, [=](auto... cuemu_a) { __VA_ARGS__(cuemu_a...); }, grid, block, smem, stream)
#define CU_EXTERN_SHARED(T, name) T* const name = reinterpret_cast<T*>(::cuemu::dynamic_smem())

// cuda_runtime.h keeps these C++ overloads for nvcc only; kernels are plain functions here.
template <class T>
inline cudaError_t cudaFuncSetAttribute(T* entry, cudaFuncAttribute attr, int value) {
    return ::cudaFuncSetAttribute((const void*)entry, attr, value);
}
template <class T>
inline cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* attr, T* entry) {
    return ::cudaFuncGetAttributes(attr, (const void*)entry);
}

// ---- barriers and warp operations
#define __syncthreads() ((void)::cuemu::sync_block(::cuemu::BAR_SYNC, 1, __FILE__, __LINE__))
#define __syncthreads_count(p) ::cuemu::sync_block(::cuemu::BAR_COUNT, (p) ? 1 : 0, __FILE__, __LINE__)
#define __syncthreads_and(p) ::cuemu::sync_block(::cuemu::BAR_AND, (p) ? 1 : 0, __FILE__, __LINE__)
#define __syncthreads_or(p) ::cuemu::sync_block(::cuemu::BAR_OR, (p) ? 1 : 0, __FILE__, __LINE__)

inline void __syncwarp(unsigned mask = 0xffffffffu) { ::cuemu::warp_op(::cuemu::WARP_SYNC, mask, 0, 0, 32); }
template <typename T>
inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    return ::cuemu::from_bits<T>(::cuemu::warp_op(::cuemu::WARP_SHFL, mask, ::cuemu::to_bits(v), src, width));
}
template <typename T>
inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    return ::cuemu::from_bits<T>(::cuemu::warp_op(::cuemu::WARP_UP, mask, ::cuemu::to_bits(v), (int)delta, width));
}
template <typename T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    return ::cuemu::from_bits<T>(::cuemu::warp_op(::cuemu::WARP_DOWN, mask, ::cuemu::to_bits(v), (int)delta, width));
}
template <typename T>
inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    return ::cuemu::from_bits<T>(::cuemu::warp_op(::cuemu::WARP_XOR, mask, ::cuemu::to_bits(v), lane_mask, width));
}
inline unsigned __ballot_sync(unsigned mask, int pred) { return (unsigned)::cuemu::warp_op(::cuemu::WARP_BALLOT, mask, pred != 0, 0, 32); }
inline int __any_sync(unsigned mask, int pred) { return (int)::cuemu::warp_op(::cuemu::WARP_ANY, mask, pred != 0, 0, 32); }
inline int __all_sync(unsigned mask, int pred) { return (int)::cuemu::warp_op(::cuemu::WARP_ALL, mask, pred != 0, 0, 32); }
inline unsigned __activemask() { return ::cuemu::active_mask(); }

// Memory fences: blocks on different OS threads really run concurrently.
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_system() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __nanosleep(unsigned) {}

// ---- cache-hinted loads and stores: plain accesses on the CPU
template <typename T> inline T __ldg(const T* p) { return *p; }
template <typename T> inline T __ldcs(const T* p) { return *p; }
template <typename T> inline T __ldcg(const T* p) { return *p; }
template <typename T> inline T __ldca(const T* p) { return *p; }
template <typename T> inline T __ldlu(const T* p) { return *p; }
template <typename T> inline T __ldcv(const T* p) { return *p; }
template <typename T> inline void __stcs(T* p, const T& v) { *p = v; }
template <typename T> inline void __stcg(T* p, const T& v) { *p = v; }
template <typename T> inline void __stwb(T* p, const T& v) { *p = v; }
template <typename T> inline void __stwt(T* p, const T& v) { *p = v; }

// ---- atomics (relaxed, as CUDA's are)
#define CUEMU_INT_ATOMICS(T)                                                                           \
    inline T atomicAdd(T* p, T v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }              \
    inline T atomicSub(T* p, T v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }              \
    inline T atomicExch(T* p, T v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }            \
    inline T atomicAnd(T* p, T v) { return __atomic_fetch_and(p, v, __ATOMIC_RELAXED); }              \
    inline T atomicOr(T* p, T v) { return __atomic_fetch_or(p, v, __ATOMIC_RELAXED); }                \
    inline T atomicXor(T* p, T v) { return __atomic_fetch_xor(p, v, __ATOMIC_RELAXED); }              \
    inline T atomicMax(T* p, T v) { return ::cuemu::cas_loop(p, [v](T o) { return o > v ? o : v; }); } \
    inline T atomicMin(T* p, T v) { return ::cuemu::cas_loop(p, [v](T o) { return o < v ? o : v; }); } \
    inline T atomicCAS(T* p, T cmp, T v) {                                                             \
        __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);            \
        return cmp;                                                                                    \
    }
CUEMU_INT_ATOMICS(int)
CUEMU_INT_ATOMICS(unsigned int)
CUEMU_INT_ATOMICS(unsigned long long)
CUEMU_INT_ATOMICS(long long)
#undef CUEMU_INT_ATOMICS
inline unsigned short atomicCAS(unsigned short* p, unsigned short cmp, unsigned short v) {
    __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    return cmp;
}
inline float atomicAdd(float* p, float v) {
    uint32_t old = ::cuemu::cas_loop((uint32_t*)p, [v](uint32_t o) {
        float f; std::memcpy(&f, &o, 4); f += v; uint32_t r; std::memcpy(&r, &f, 4); return r; });
    float f; std::memcpy(&f, &old, 4); return f;
}
inline double atomicAdd(double* p, double v) {
    uint64_t old = ::cuemu::cas_loop((uint64_t*)p, [v](uint64_t o) {
        double f; std::memcpy(&f, &o, 8); f += v; uint64_t r; std::memcpy(&r, &f, 8); return r; });
    double f; std::memcpy(&f, &old, 8); return f;
}
inline float atomicExch(float* p, float v) {
    uint32_t b = __atomic_exchange_n((uint32_t*)p, ::cuemu::from_bits<uint32_t>(::cuemu::to_bits(v)), __ATOMIC_RELAXED);
    return ::cuemu::from_bits<float>(b);
}
// float max/min are not CUDA built-ins but are common helpers; give them the same meaning.
inline __nv_bfloat162 atomicAdd(__nv_bfloat162* p, __nv_bfloat162 v) {
    uint32_t old = ::cuemu::cas_loop((uint32_t*)p, [v](uint32_t o) {
        __nv_bfloat162 a = ::cuemu::from_bits<__nv_bfloat162>(o);
        return (uint32_t)::cuemu::to_bits(__hadd2(a, v)); });
    return ::cuemu::from_bits<__nv_bfloat162>(old);
}
inline __nv_bfloat16 atomicAdd(__nv_bfloat16* p, __nv_bfloat16 v) {
    // CAS on the aligned 32-bit word holding this half, leaving the other half alone.
    uintptr_t a = (uintptr_t)p;
    uint32_t* word = (uint32_t*)(a & ~(uintptr_t)3);
    int shift = (a & 2) ? 16 : 0;
    uint32_t old = ::cuemu::cas_loop(word, [v, shift](uint32_t o) {
        __nv_bfloat16 h = ::cuemu::from_bits<__nv_bfloat16>((o >> shift) & 0xffffu);
        uint32_t s = (uint32_t)::cuemu::to_bits(__float2bfloat16(__bfloat162float(h) + __bfloat162float(v)));
        return (o & ~(0xffffu << shift)) | (s << shift); });
    return ::cuemu::from_bits<__nv_bfloat16>((old >> shift) & 0xffffu);
}
inline __half2 atomicAdd(__half2* p, __half2 v) {
    uint32_t old = ::cuemu::cas_loop((uint32_t*)p, [v](uint32_t o) {
        return (uint32_t)::cuemu::to_bits(__hadd2(::cuemu::from_bits<__half2>(o), v)); });
    return ::cuemu::from_bits<__half2>(old);
}

// ---- math and bit intrinsics that g++/glibc lack (__expf, __logf, __sinf, __cosf and
// __powf are glibc's precise functions, so the GPU's fast versions differ in the last bits)
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __frsqrt_rn(float x) { return 1.0f / std::sqrt(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return std::sqrt(x); }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __saturatef(float x) { return x != x ? 0.0f : (x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x)); }
inline float __tanhf(float x) { return std::tanh(x); }
inline float __exp10f(float x) { return std::pow(10.0f, x); }
inline float __log2f(float x) { return std::log2(x); }
inline float __log10f(float x) { return std::log10(x); }
inline float __tanf(float x) { return std::tan(x); }
inline float exp10f(float x) { return std::pow(10.0f, x); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned)x); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll((unsigned long long)x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned __brev(unsigned x) {
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
    return __builtin_bswap32(x);
}
inline float __int_as_float(int x) { return ::cuemu::from_bits<float>((uint32_t)x); }
inline int __float_as_int(float x) { return (int)(uint32_t)::cuemu::to_bits(x); }
inline float __uint_as_float(unsigned x) { return ::cuemu::from_bits<float>(x); }
inline unsigned __float_as_uint(float x) { return (unsigned)::cuemu::to_bits(x); }
inline double __longlong_as_double(long long x) { return ::cuemu::from_bits<double>((uint64_t)x); }
inline long long __double_as_longlong(double x) { return (long long)::cuemu::to_bits(x); }
inline int __float2int_rn(float x) { return (int)std::nearbyint(x); }
inline int __float2int_rz(float x) { return (int)x; }
inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }
inline long long clock64() { return (long long)__builtin_ia32_rdtsc(); }

// CUDA's device-side min/max overloads; std:: versions would refuse mixed types.
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline long min(long a, long b) { return a < b ? a : b; }
inline long max(long a, long b) { return a > b ? a : b; }
inline unsigned long min(unsigned long a, unsigned long b) { return a < b ? a : b; }
inline unsigned long max(unsigned long a, unsigned long b) { return a > b ? a : b; }
inline float min(float a, float b) { return std::fmin(a, b); }
inline float max(float a, float b) { return std::fmax(a, b); }
inline double min(double a, double b) { return std::fmin(a, b); }
inline double max(double a, double b) { return std::fmax(a, b); }
inline unsigned min(int a, unsigned b) { return min((unsigned)a, b); }
inline unsigned min(unsigned a, int b) { return min(a, (unsigned)b); }
inline unsigned max(int a, unsigned b) { return max((unsigned)a, b); }
inline unsigned max(unsigned a, int b) { return max(a, (unsigned)b); }
inline float min(float a, double b) { return std::fmin(a, (float)b); }
inline float max(float a, double b) { return std::fmax(a, (float)b); }
