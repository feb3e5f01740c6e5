// cuemu's CUDA runtime API: host implementations of the calls an llm.c-style program
// makes, against the prototypes of the real cuda_runtime_api.h. Anything not here fails at
// link time, which is the to-do list (nothing links libcudart). Work on streams is queued
// and run in stream order, at the call or later as CUEMU_STREAMS says (emu/README.md,
// "Streams").
#include "cuemu.h"
#include "runtime_state.h"

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

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

// ---- streams: what runs when
//   sync:          everything at the call (the emulator before streams were queued);
//   defer-side:    streams the program created (and cudaStreamPerThread) run only when
//                  forced, the legacy default stream at the call (the default);
//   defer-default: the legacy default stream runs only when forced, the others at the call.
// Work is only ever run whole and in its stream's order, and every dependency a program
// states (events, the legacy stream's implicit synchronisation, synchronous calls) is
// satisfied by running the producer's queue up to the needed point at the moment the
// dependency is stated. So any prefix of any queue may run at any time, and a missing
// dependency shows as stale data.
enum Mode { SYNC, DEFER_SIDE, DEFER_DEFAULT };
Mode stream_mode() {
    static const Mode m = [] {
        const char* v = getenv("CUEMU_STREAMS");
        std::string s = v ? v : "";
        if (s.empty() || s == "defer-side") return DEFER_SIDE;
        if (s == "sync") return SYNC;
        if (s == "defer-default") return DEFER_DEFAULT;
        fprintf(stderr, "cuemu: CUEMU_STREAMS=%s: expected sync, defer-side or defer-default\n", v);
        exit(2);
    }();
    return m;
}

struct Op {
    uint64_t seq;  // its place in the stream: 1, 2, ...
    std::function<void()> run;
};
struct Stream {
    bool legacy = false;    // the legacy default stream (0, cudaStreamLegacy)
    bool blocking = true;   // synchronises implicitly with the legacy stream
    unsigned flags = 0;
    int priority = 0;
    std::deque<Op> queue;   // not yet run, oldest first
    uint64_t issued = 0;    // seq of the newest op, run or not
    bool polled = false;    // a query answered cudaErrorNotReady since the queue last grew
};
struct Event {
    unsigned flags = 0;
    int refs = 1;           // the handle, plus one per marker still queued
    bool recorded = false;  // recorded at least once
    bool complete = true;   // its newest record has run
    bool polled = false;    // a query answered cudaErrorNotReady for the newest record
    uint64_t gen = 0;       // which record is the newest
    Stream* stream = nullptr;
    uint64_t seq = 0;       // the newest record's place in `stream`
    std::chrono::steady_clock::time_point t;  // when the newest record ran
};
void release(Event* e) {
    if (--e->refs == 0) delete e;
}

struct Streams {
    std::recursive_mutex mu;
    Stream legacy, per_thread;
    std::vector<Stream*> created;  // live streams from cudaStreamCreate*, oldest first
    Streams() { legacy.legacy = true; }
};
void drain_at_exit();
// Never destroyed (an atexit handler drains it, after any static destructor could run).
Streams& streams() {
    static Streams* st = [] {
        Streams* x = new Streams();
        std::atexit(drain_at_exit);
        return x;
    }();
    return *st;
}
Stream* find(Streams& st, cudaStream_t h) {
    if (h == 0 || h == cudaStreamLegacy) return &st.legacy;
    if (h == cudaStreamPerThread) return &st.per_thread;
    for (Stream* s : st.created)
        if ((cudaStream_t)s == h) return s;
    return nullptr;
}
bool deferred(const Stream& s) {
    switch (stream_mode()) {
    case DEFER_SIDE: return !s.legacy;
    case DEFER_DEFAULT: return s.legacy;
    default: return false;
    }
}
// Runs s's queued work up to and including seq `upto`.
void drain(Stream& s, uint64_t upto = UINT64_MAX) {
    while (!s.queue.empty() && s.queue.front().seq <= upto) {
        Op op = std::move(s.queue.front());
        s.queue.pop_front();
        op.run();
    }
}
void drain_blocking(Streams& st) {
    drain(st.per_thread);
    for (Stream* s : st.created)
        if (s->blocking) drain(*s);
}
void drain_all(Streams& st) {
    drain(st.legacy);
    drain(st.per_thread);
    for (Stream* s : st.created) drain(*s);
}
bool at_exit = false;
void drain_at_exit() {
    at_exit = true;
    Streams& st = streams();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    drain_all(st);
}
// The legacy stream's implicit synchronisation: an operation on it first waits for the
// blocking streams, an operation on a blocking stream for it; non-blocking streams neither.
void implicit_sync(Streams& st, Stream& s) {
    if (s.legacy) drain_blocking(st);
    else if (s.blocking) drain(st.legacy);
}
bool pending(Streams& st, const Stream& s) {
    if (!s.queue.empty()) return true;
    if (!s.legacy) return false;
    if (!st.per_thread.queue.empty()) return true;
    for (const Stream* x : st.created)
        if (x->blocking && !x->queue.empty()) return true;
    return false;
}
void synchronize(Streams& st, Stream& s) {
    if (s.legacy) drain_blocking(st);
    drain(s);
}
// Runs e's stream up to e's newest record.
void complete(Event* e) {
    if (e->recorded && !e->complete) drain(*e->stream, e->seq);
}
// An operation on the legacy stream that the host waits for (cudaMemcpy to or from host
// memory, cudaMemset of pinned memory): what it follows runs first, then it, at the call.
template <typename F>
void host_synchronous(F f) {
    Streams& st = streams();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    implicit_sync(st, st.legacy);
    drain(st.legacy);
    f();
}

// ---- allocations, by kind: cudaMemcpyDefault and cudaMemset need to know what a pointer is
enum MemKind { MEM_DEVICE, MEM_PINNED, MEM_MANAGED, MEM_UNKNOWN };
std::mutex alloc_mu;
std::map<uintptr_t, std::pair<size_t, MemKind>> allocs;  // start -> (size, kind)
void track(void* p, size_t size, MemKind k) {
    std::lock_guard<std::mutex> g(alloc_mu);
    allocs[(uintptr_t)p] = {size, k};
}
void untrack(void* p) {
    std::lock_guard<std::mutex> g(alloc_mu);
    allocs.erase((uintptr_t)p);
}
MemKind kind_of(const void* p) {
    std::lock_guard<std::mutex> g(alloc_mu);
    auto it = allocs.upper_bound((uintptr_t)p);
    if (it == allocs.begin()) return MEM_UNKNOWN;
    --it;
    return (uintptr_t)p < it->first + it->second.first ? it->second.second : MEM_UNKNOWN;
}
cudaError_t allocate(void** p, size_t size, MemKind k) {
    if (!p) return ok(cudaErrorInvalidValue);
    void* m = nullptr;
    if (posix_memalign(&m, 256, size ? size : 1) != 0) { *p = nullptr; return ok(cudaErrorMemoryAllocation); }
    track(m, size, k);
    *p = m;
    return cudaSuccess;
}
void release_memory(void* p) {
    if (!p) return;
    untrack(p);
    free(p);
}
// cudaFree and cudaFreeHost wait for all work on every stream first, as on the GPU.
cudaError_t free_synchronous(void* p) {
    Streams& st = streams();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    drain_all(st);
    release_memory(p);
    return cudaSuccess;
}
}  // namespace

bool exiting() { return at_exit; }

cudaError_t enqueue(cudaStream_t h, std::function<void()> work) {
    Streams& st = streams();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    Stream* s = find(st, h);
    if (!s) return cudaErrorInvalidResourceHandle;
    implicit_sync(st, *s);
    uint64_t seq = ++s->issued;
    if (deferred(*s)) {
        s->queue.push_back(Op{seq, std::move(work)});
        s->polled = false;
    } else {
        work();
    }
    return cudaSuccess;
}

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
// one byte past the end), 256-byte aligned like cudaMalloc's. Pinned memory is plain host
// memory too: a queued copy reads it when it runs, so overwriting a staging buffer before
// the copy is known complete sends the new contents, as a GPU may.
cudaError_t cudaMalloc(void** p, size_t size) { return allocate(p, size, MEM_DEVICE); }
cudaError_t cudaMallocAsync(void** p, size_t size, cudaStream_t) { return allocate(p, size, MEM_DEVICE); }
cudaError_t cudaMallocManaged(void** p, size_t size, unsigned int) { return allocate(p, size, MEM_MANAGED); }
cudaError_t cudaFree(void* p) { return free_synchronous(p); }
cudaError_t cudaFreeAsync(void* p, cudaStream_t s) { return ok(enqueue(s, [p] { release_memory(p); })); }
cudaError_t cudaMallocHost(void** p, size_t size) { return allocate(p, size, MEM_PINNED); }
cudaError_t cudaHostAlloc(void** p, size_t size, unsigned int) { return allocate(p, size, MEM_PINNED); }
cudaError_t cudaFreeHost(void* p) { return free_synchronous(p); }
cudaError_t cudaHostRegister(void*, size_t, unsigned int) { return cudaSuccess; }
cudaError_t cudaHostUnregister(void*) { return cudaSuccess; }
// cudaMemcpy between device buffers does not make the host wait (CUDA's "API
// synchronization behavior"): it is queued on the legacy stream. To or from host memory it
// runs at the call, after the legacy stream (and so the blocking streams).
cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind k) {
    if (n && (!dst || !src)) return ok(cudaErrorInvalidValue);
    if (!n) return cudaSuccess;
    const bool d2d = k == cudaMemcpyDeviceToDevice ||
                     (k == cudaMemcpyDefault && kind_of(dst) == MEM_DEVICE && kind_of(src) == MEM_DEVICE);
    if (d2d) return ok(enqueue(0, [=] { memmove(dst, src, n); }));
    host_synchronous([=] { memmove(dst, src, n); });
    return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind, cudaStream_t s) {
    if (n && (!dst || !src)) return ok(cudaErrorInvalidValue);
    if (!n) return cudaSuccess;
    return ok(enqueue(s, [=] { memmove(dst, src, n); }));
}
cudaError_t cudaMemcpy2D(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height, cudaMemcpyKind) {
    if (width > dpitch || width > spitch) return ok(cudaErrorInvalidPitchValue);
    host_synchronous([=] {
        for (size_t r = 0; r < height; r++) memmove((char*)dst + r * dpitch, (const char*)src + r * spitch, width);
    });
    return cudaSuccess;
}
// cudaMemset of device memory does not make the host wait (queued on the legacy stream);
// of pinned or managed memory it does.
cudaError_t cudaMemset(void* p, int v, size_t n) {
    if (n && !p) return ok(cudaErrorInvalidValue);
    if (!n) return cudaSuccess;
    const MemKind k = kind_of(p);
    if (k == MEM_PINNED || k == MEM_MANAGED) host_synchronous([=] { memset(p, v, n); });
    else return ok(enqueue(0, [=] { memset(p, v, n); }));
    return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t s) {
    if (n && !p) return ok(cudaErrorInvalidValue);
    if (!n) return cudaSuccess;
    return ok(enqueue(s, [=] { memset(p, v, n); }));
}
cudaError_t cudaMemcpyToSymbol(const void* sym, const void* src, size_t n, size_t off, cudaMemcpyKind) {
    host_synchronous([=] { memcpy((char*)sym + off, src, n); });
    return cudaSuccess;
}
cudaError_t cudaMemcpyFromSymbol(void* dst, const void* sym, size_t n, size_t off, cudaMemcpyKind) {
    host_synchronous([=] { memcpy(dst, (const char*)sym + off, n); });
    return cudaSuccess;
}
cudaError_t cudaMemPrefetchAsync(const void*, size_t, cudaMemLocation, unsigned int, cudaStream_t) { return cudaSuccess; }
// An 80 GiB device of which 10 GiB are taken before the program allocates anything (as a
// CUDA context and other processes would); free = 70 GiB minus the device and managed bytes
// the program holds now, so a leak shows as free memory that does not come back.
cudaError_t cudaMemGetInfo(size_t* free_b, size_t* total) {
    size_t held = 0;
    {
        std::lock_guard<std::mutex> g(alloc_mu);
        for (const auto& a : allocs)
            if (a.second.second == MEM_DEVICE || a.second.second == MEM_MANAGED) held += a.second.first;
    }
    const size_t avail = 70ull << 30;
    if (free_b) *free_b = held < avail ? avail - held : 0;
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
cudaError_t cudaDeviceReset(void) { return cudaDeviceSynchronize(); }
cudaError_t cudaDeviceSynchronize(void) {
    Streams& st = streams();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    drain_all(st);
    return cudaSuccess;
}
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

// ---- streams and events (see "streams: what runs when" above)
cudaError_t cudaStreamCreateWithPriority(cudaStream_t* h, unsigned int flags, int priority) {
    if (!h || (flags & ~cudaStreamNonBlocking)) return ok(cudaErrorInvalidValue);
    Streams& st = streams();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    Stream* s = new Stream();
    s->blocking = !(flags & cudaStreamNonBlocking);
    s->flags = flags;
    s->priority = priority;
    st.created.push_back(s);
    *h = (cudaStream_t)s;
    return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* h, unsigned int flags) { return cudaStreamCreateWithPriority(h, flags, 0); }
cudaError_t cudaStreamCreate(cudaStream_t* h) { return cudaStreamCreateWithPriority(h, cudaStreamDefault, 0); }
cudaError_t cudaDeviceGetStreamPriorityRange(int* least, int* greatest) {
    if (least) *least = 0;
    if (greatest) *greatest = -5;
    return cudaSuccess;
}
cudaError_t cudaStreamGetFlags(cudaStream_t h, unsigned int* flags) {
    Streams& st = streams();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    Stream* s = find(st, h);
    if (!s || !flags) return ok(!s ? cudaErrorInvalidResourceHandle : cudaErrorInvalidValue);
    *flags = s->flags;
    return cudaSuccess;
}
// A GPU lets a destroyed stream's work finish later; here it runs now.
cudaError_t cudaStreamDestroy(cudaStream_t h) {
    Streams& st = streams();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    Stream* s = find(st, h);
    if (!s || s->legacy || s == &st.per_thread) return ok(cudaErrorInvalidResourceHandle);
    drain(*s);
    for (size_t i = 0; i < st.created.size(); i++)
        if (st.created[i] == s) st.created.erase(st.created.begin() + (ptrdiff_t)i);
    delete s;
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t h) {
    Streams& st = streams();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    Stream* s = find(st, h);
    if (!s) return ok(cudaErrorInvalidResourceHandle);
    synchronize(st, *s);
    return cudaSuccess;
}
// With work queued, the first query answers cudaErrorNotReady and runs nothing; the next
// one (with no work added in between) runs the stream and answers cudaSuccess. So a
// polling loop ends, and its not-ready path is exercised.
cudaError_t cudaStreamQuery(cudaStream_t h) {
    Streams& st = streams();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    Stream* s = find(st, h);
    if (!s) return ok(cudaErrorInvalidResourceHandle);
    if (!pending(st, *s)) return cudaSuccess;
    if (!s->polled) {
        s->polled = true;
        return cudaErrorNotReady;
    }
    synchronize(st, *s);
    return cudaSuccess;
}
// Everything `h` runs after this call waits for e's newest record: here the recording
// stream runs up to that record now, before `h` can queue anything more.
cudaError_t cudaStreamWaitEvent(cudaStream_t h, cudaEvent_t e, unsigned int) {
    if (!e) return ok(cudaErrorInvalidResourceHandle);
    Streams& st = streams();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    Stream* s = find(st, h);
    if (!s) return ok(cudaErrorInvalidResourceHandle);
    implicit_sync(st, *s);  // an action on the legacy stream, like a launch
    Event* ev = (Event*)e;
    if (ev->stream != s) complete(ev);
    return cudaSuccess;
}
cudaError_t cudaLaunchHostFunc(cudaStream_t h, cudaHostFn_t fn, void* data) {
    if (!fn) return ok(cudaErrorInvalidValue);
    return ok(enqueue(h, [fn, data] { fn(data); }));
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned int flags) {
    if (!e) return ok(cudaErrorInvalidValue);
    Event* ev = new Event();
    ev->flags = flags;
    *e = (cudaEvent_t)ev;
    return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t* e) { return cudaEventCreateWithFlags(e, cudaEventDefault); }
// A record still queued keeps the event alive until it runs.
cudaError_t cudaEventDestroy(cudaEvent_t e) {
    if (!e) return ok(cudaErrorInvalidResourceHandle);
    Streams& st = streams();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    release((Event*)e);
    return cudaSuccess;
}
// A marker in the stream: the event completes (and takes its time) when the marker runs.
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t h) {
    if (!e) return ok(cudaErrorInvalidResourceHandle);
    Streams& st = streams();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    Stream* s = find(st, h);
    if (!s) return ok(cudaErrorInvalidResourceHandle);
    Event* ev = (Event*)e;
    const uint64_t gen = ++ev->gen;
    ev->recorded = true;
    ev->complete = false;
    ev->polled = false;
    ev->stream = s;
    ev->refs++;
    enqueue(h, [ev, gen] {
        if (ev->gen == gen) {
            ev->t = std::chrono::steady_clock::now();
            ev->complete = true;
        }
        release(ev);
    });
    ev->seq = s->issued;  // the marker's place (it may have run already)
    return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) {
    if (!e) return ok(cudaErrorInvalidResourceHandle);
    Streams& st = streams();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    complete((Event*)e);
    return cudaSuccess;
}
// Like cudaStreamQuery: cudaErrorNotReady once for a record still queued, then it runs.
cudaError_t cudaEventQuery(cudaEvent_t e) {
    if (!e) return ok(cudaErrorInvalidResourceHandle);
    Streams& st = streams();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    Event* ev = (Event*)e;
    if (!ev->recorded || ev->complete) return cudaSuccess;
    if (!ev->polled) {
        ev->polled = true;
        return cudaErrorNotReady;
    }
    complete(ev);
    return cudaSuccess;
}
// Host time between the two records' runs (both are run first if still queued).
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b) {
    Event* x = (Event*)a;
    Event* y = (Event*)b;
    if (!ms || !x || !y || !x->recorded || !y->recorded) return ok(cudaErrorInvalidResourceHandle);
    if ((x->flags | y->flags) & cudaEventDisableTiming) return ok(cudaErrorInvalidResourceHandle);
    Streams& st = streams();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    complete(x);
    complete(y);
    *ms = std::chrono::duration<float, std::milli>(y->t - x->t).count();
    return cudaSuccess;
}
