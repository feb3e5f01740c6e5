// cuemu's CUDA runtime API: synchronous host implementations of the calls an llm.c-style
// program makes, against the prototypes of the real cuda_runtime_api.h. Anything not
// here fails at link time, which is the to-do list (nothing links libcudart).
#include "cuemu.h"
#include "runtime_state.h"

#include <chrono>
#include <map>
#include <mutex>

namespace cuemu {
namespace {
cudaError_t last_error = cudaSuccess;
std::mutex mu;
std::map<const void*, int> smem_limit;
int raised_smem = 0;
constexpr int kDefaultSmem = 48 * 1024;
constexpr int kOptinSmem = 227 * 1024;  // H100: 227 KiB per block with opt-in
cudaError_t ok(cudaError_t e) {
    if (e != cudaSuccess) set_last_error(e);
    return e;
}
struct Event { std::chrono::steady_clock::time_point t; bool recorded = false; };
}  // namespace

void set_last_error(cudaError_t e) {
    std::lock_guard<std::mutex> g(mu);
    if (last_error == cudaSuccess) last_error = e;
}

int max_dynamic_smem() {
    std::lock_guard<std::mutex> g(mu);
    return std::max(kDefaultSmem, raised_smem);
}
}  // namespace cuemu

using namespace cuemu;

// ---- memory. Device memory is host memory of exactly the requested size (so ASan sees
// one byte past the end), 256-byte aligned like cudaMalloc's.
cudaError_t cudaMalloc(void** p, size_t size) {
    if (!p) return ok(cudaErrorInvalidValue);
    void* m = nullptr;
    if (posix_memalign(&m, 256, size ? size : 1) != 0) { *p = nullptr; return ok(cudaErrorMemoryAllocation); }
    *p = m;
    return cudaSuccess;
}
cudaError_t cudaMallocAsync(void** p, size_t size, cudaStream_t) { return cudaMalloc(p, size); }
cudaError_t cudaMallocManaged(void** p, size_t size, unsigned int) { return cudaMalloc(p, size); }
cudaError_t cudaFree(void* p) { free(p); return cudaSuccess; }
cudaError_t cudaFreeAsync(void* p, cudaStream_t) { free(p); return cudaSuccess; }
cudaError_t cudaMallocHost(void** p, size_t size) { return cudaMalloc(p, size); }
cudaError_t cudaHostAlloc(void** p, size_t size, unsigned int) { return cudaMalloc(p, size); }
cudaError_t cudaFreeHost(void* p) { free(p); return cudaSuccess; }
cudaError_t cudaHostRegister(void*, size_t, unsigned int) { return cudaSuccess; }
cudaError_t cudaHostUnregister(void*) { return cudaSuccess; }
cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind) {
    if (n && (!dst || !src)) return ok(cudaErrorInvalidValue);
    if (n) memmove(dst, src, n);
    return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind k, cudaStream_t) { return cudaMemcpy(dst, src, n, k); }
cudaError_t cudaMemcpy2D(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height, cudaMemcpyKind) {
    if (width > dpitch || width > spitch) return ok(cudaErrorInvalidPitchValue);
    for (size_t r = 0; r < height; r++) memmove((char*)dst + r * dpitch, (const char*)src + r * spitch, width);
    return cudaSuccess;
}
cudaError_t cudaMemset(void* p, int v, size_t n) {
    if (n && !p) return ok(cudaErrorInvalidValue);
    if (n) memset(p, v, n);
    return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t) { return cudaMemset(p, v, n); }
cudaError_t cudaMemcpyToSymbol(const void* sym, const void* src, size_t n, size_t off, cudaMemcpyKind) {
    memcpy((char*)sym + off, src, n);
    return cudaSuccess;
}
cudaError_t cudaMemcpyFromSymbol(void* dst, const void* sym, size_t n, size_t off, cudaMemcpyKind) {
    memcpy(dst, (const char*)sym + off, n);
    return cudaSuccess;
}
cudaError_t cudaMemPrefetchAsync(const void*, size_t, cudaMemLocation, unsigned int, cudaStream_t) { return cudaSuccess; }
cudaError_t cudaMemGetInfo(size_t* free_b, size_t* total) {
    if (free_b) *free_b = 70ull << 30;
    if (total) *total = 80ull << 30;
    return cudaSuccess;
}

// ---- errors
cudaError_t cudaGetLastError(void) {
    std::lock_guard<std::mutex> g(mu);
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError(void) {
    std::lock_guard<std::mutex> g(mu);
    return last_error;
}
const char* cudaGetErrorName(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidPitchValue: return "cudaErrorInvalidPitchValue";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNotSupported: return "cudaErrorNotSupported";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    default: return "cudaErrorUnknown";
    }
}
const char* cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidPitchValue: return "invalid pitch argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorNotSupported: return "operation not supported";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    default: return "unknown error";
    }
}

// ---- device: one H100-like device, so host code picks its production configuration
cudaError_t cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : ok(cudaErrorInvalidDevice); }
cudaError_t cudaGetDevice(int* d) { *d = 0; return cudaSuccess; }
cudaError_t cudaSetDeviceFlags(unsigned int) { return cudaSuccess; }
cudaError_t cudaDeviceReset(void) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
cudaError_t cudaDriverGetVersion(int* v) { *v = CUDART_VERSION; return cudaSuccess; }
cudaError_t cudaRuntimeGetVersion(int* v) { *v = CUDART_VERSION; return cudaSuccess; }
cudaError_t cudaDeviceSetLimit(cudaLimit, size_t) { return cudaSuccess; }
cudaError_t cudaDeviceGetLimit(size_t* v, cudaLimit l) {
    *v = l == cudaLimitStackSize ? 1024 : 0;
    return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int d) {
    if (d != 0) return ok(cudaErrorInvalidDevice);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "cuemu (H100-like CPU emulation)");
    p->totalGlobalMem = 80ull << 30;
    p->sharedMemPerBlock = 48 * 1024;
    p->sharedMemPerBlockOptin = 227 * 1024;
    p->sharedMemPerMultiprocessor = 228 * 1024;
    p->regsPerBlock = 65536;
    p->regsPerMultiprocessor = 65536;
    p->warpSize = 32;
    p->memPitch = 2147483647;
    p->maxThreadsPerBlock = 1024;
    p->maxThreadsDim[0] = 1024; p->maxThreadsDim[1] = 1024; p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = 2147483647; p->maxGridSize[1] = 65535; p->maxGridSize[2] = 65535;
    p->totalConstMem = 65536;
    p->major = 9; p->minor = 0;
    p->multiProcessorCount = 132;
    p->maxThreadsPerMultiProcessor = 2048;
    p->maxBlocksPerMultiProcessor = 32;
    p->l2CacheSize = 50 * 1024 * 1024;
    p->memoryBusWidth = 5120;
    p->concurrentKernels = 1;
    p->unifiedAddressing = 1;
    p->managedMemory = 1;
    p->textureAlignment = 512;
    return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int d) {
    if (d != 0) return ok(cudaErrorInvalidDevice);
    switch (a) {
    case cudaDevAttrMaxThreadsPerBlock: *v = 1024; break;
    case cudaDevAttrMaxBlockDimX: case cudaDevAttrMaxBlockDimY: *v = 1024; break;
    case cudaDevAttrMaxBlockDimZ: *v = 64; break;
    case cudaDevAttrMaxGridDimX: *v = 2147483647; break;
    case cudaDevAttrMaxGridDimY: case cudaDevAttrMaxGridDimZ: *v = 65535; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *v = 48 * 1024; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *v = 227 * 1024; break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor: *v = 228 * 1024; break;
    case cudaDevAttrWarpSize: *v = 32; break;
    case cudaDevAttrMultiProcessorCount: *v = 132; break;
    case cudaDevAttrComputeCapabilityMajor: *v = 9; break;
    case cudaDevAttrComputeCapabilityMinor: *v = 0; break;
    case cudaDevAttrMaxThreadsPerMultiProcessor: *v = 2048; break;
    case cudaDevAttrMaxRegistersPerBlock: *v = 65536; break;
    case cudaDevAttrL2CacheSize: *v = 50 * 1024 * 1024; break;
    default: *v = 0; return ok(cudaErrorNotSupported);
    }
    return cudaSuccess;
}

// ---- kernels' attributes and occupancy
cudaError_t cudaFuncSetAttribute(const void* f, cudaFuncAttribute a, int v) {
    if (a == cudaFuncAttributeMaxDynamicSharedMemorySize) {
        if (v < 0 || v > kOptinSmem) return ok(cudaErrorInvalidValue);
        std::lock_guard<std::mutex> g(mu);
        smem_limit[f] = v;
        raised_smem = std::max(raised_smem, v);
    }
    return cudaSuccess;
}
cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* a, const void* f) {
    memset(a, 0, sizeof *a);
    a->maxThreadsPerBlock = 1024;
    a->numRegs = 32;
    {
        std::lock_guard<std::mutex> g(mu);
        auto it = smem_limit.find(f);
        a->maxDynamicSharedSizeBytes = it == smem_limit.end() ? kDefaultSmem : it->second;
    }
    a->ptxVersion = a->binaryVersion = 90;
    return cudaSuccess;
}
// What an H100 would allow: 2048 threads, 32 blocks and 228 KiB of shared memory per SM
// (1 KiB of it reserved per block), registers assumed not to limit.
cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int* n, const void*, int block, size_t smem, unsigned int) {
    if (block <= 0 || block > 1024) { *n = 0; return ok(cudaErrorInvalidValue); }
    int by_threads = 2048 / block;
    int by_smem = (int)((228 * 1024) / (smem + 1024));
    *n = std::max(0, std::min(std::min(by_threads, by_smem), 32));
    return cudaSuccess;
}
cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int* n, const void* f, int block, size_t smem) {
    return cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(n, f, block, smem, 0);
}

// ---- streams and events: everything already happened when the call returns
cudaError_t cudaStreamCreate(cudaStream_t* s) { *s = (cudaStream_t) new char(0); return cudaSuccess; }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned int) { return cudaStreamCreate(s); }
cudaError_t cudaStreamDestroy(cudaStream_t s) { delete (char*)s; return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamQuery(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t, unsigned int) { return cudaSuccess; }
cudaError_t cudaEventCreate(cudaEvent_t* e) { *e = (cudaEvent_t) new Event(); return cudaSuccess; }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned int) { return cudaEventCreate(e); }
cudaError_t cudaEventDestroy(cudaEvent_t e) { delete (Event*)e; return cudaSuccess; }
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
    if (!e) return ok(cudaErrorInvalidResourceHandle);
    ((Event*)e)->t = std::chrono::steady_clock::now();
    ((Event*)e)->recorded = true;
    return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventQuery(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b) {
    Event* x = (Event*)a;
    Event* y = (Event*)b;
    if (!x || !y || !x->recorded || !y->recorded) return ok(cudaErrorInvalidResourceHandle);
    *ms = std::chrono::duration<float, std::milli>(y->t - x->t).count();
    return cudaSuccess;
}
