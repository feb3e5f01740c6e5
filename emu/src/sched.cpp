// cuemu's launch and scheduler: the grid's blocks go to OS threads (OpenMP), each CUDA
// thread of a block is a fiber, and the fibers of a block run one at a time on their OS
// thread until they block at a barrier or warp operation or finish. Barriers and warp
// operations are released between rounds; a release that cannot happen is a bug in the
// kernel and is reported, naming the kernel, block and threads.
#include "cuemu.h"
#include "fiber.h"
#include "runtime_state.h"

#include <omp.h>
#include <sys/mman.h>
#include <unistd.h>
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define CUEMU_ASAN 1
#endif

namespace cuemu {

__thread ThreadHead* tls_thread;
__thread BlockHead* tls_block;

namespace {

enum State { READY, AT_BAR, AT_WARP, DONE };

// An asynchronous copy (__pipeline_memcpy_async) that has not landed yet: the source as
// read at issue, written to dst when a __pipeline_wait_prior covers its batch.
struct PendingCopy {
    unsigned char* dst;
    unsigned char data[16];
    unsigned size;
};

struct Thread : ThreadHead {
    int state;
    unsigned lin, warp, lane;
    // barrier
    const char* bar_file;
    int bar_line, bar_kind, bar_pred, bar_result;
    unsigned bar_count;
    // warp operation
    int w_kind, w_arg, w_width;
    unsigned w_mask;
    uint64_t w_value, w_result;
    // warp-collective operation (WARP_COLLECTIVE)
    const char* w_name;
    CollectiveOp w_op;
    void* w_ptr;
    // asynchronous copies: copies[0, commits[g]) form the committed batches up to g
    std::vector<PendingCopy> copies;
    std::vector<size_t> commits;
    // fiber
    void* sp;
    char* stack_lo;
    size_t stack_size;
};

struct Worker;
__thread Worker* tls_worker;

enum Order { FORWARD, REVERSE, RANDOM };

struct Options {
    Order order = FORWARD;
    unsigned long seed = 1;
    size_t stack = 0;
    bool strict_exit = true;
};

size_t default_stack() {
#ifdef CUEMU_ASAN
    return 512 * 1024;  // ASan's redzones inflate frames
#else
    return 64 * 1024;
#endif
}

const Options& options() {
    static const Options o = [] {
        Options o;
        o.stack = default_stack();
        if (const char* s = getenv("CUEMU_SCHEDULE")) {
            std::string v = s;
            if (v == "forward" || v.empty()) o.order = FORWARD;
            else if (v == "reverse") o.order = REVERSE;
            else if (v.rfind("random", 0) == 0) {
                o.order = RANDOM;
                if (v.size() > 7 && v[6] == ':') o.seed = strtoul(v.c_str() + 7, nullptr, 10);
            } else {
                fprintf(stderr, "cuemu: CUEMU_SCHEDULE=%s: expected forward, reverse or random[:seed]\n", s);
                exit(2);
            }
        }
        if (const char* s = getenv("CUEMU_SEED")) o.seed = strtoul(s, nullptr, 10);
        if (const char* s = getenv("CUEMU_STACK_KB")) o.stack = std::max(16ul, strtoul(s, nullptr, 10)) * 1024;
        if (const char* s = getenv("CUEMU_STRICT_EXIT")) o.strict_exit = s[0] != '0';
        return o;
    }();
    return o;
}

struct Block : BlockHead {
    const LaunchConfig* cfg;
    unsigned nthreads;
    void (*body)(void*);
    void* ctx;
};

// One per OS thread, for the whole program: the fiber pool, the dynamic shared memory
// and the scheduler's own saved stack pointer.
struct Worker {
    std::vector<Thread> th;  // th[i] runs CUDA thread i of the current block
    std::vector<unsigned> order;
    std::vector<unsigned char> smem_raw;
    void* sched_sp = nullptr;
    Block* block = nullptr;
    std::mt19937_64 rng;
#ifdef CUEMU_ASAN
    void* asan_fake = nullptr;
    const void* sched_stack_lo = nullptr;
    size_t sched_stack_size = 0;
#endif
};

// Every switch goes through here so the ASan annotations stay paired.
inline void switch_to(void** save, void* load, const void* to_lo, size_t to_size) {
#ifdef CUEMU_ASAN
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, to_lo, to_size);
    cuemu_fiber_switch(save, load);
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
    (void)to_lo; (void)to_size;
    cuemu_fiber_switch(save, load);
#endif
}

// A CUDA thread gives control back to its block's scheduler.
inline void yield(Thread& t) {
    Worker* w = tls_worker;
#ifdef CUEMU_ASAN
    switch_to(&t.sp, w->sched_sp, w->sched_stack_lo, w->sched_stack_size);
#else
    switch_to(&t.sp, w->sched_sp, nullptr, 0);
#endif
}

// Lands the thread's oldest `count` pending copies.
void land_copies(Thread& t, size_t count) {
    for (size_t i = 0; i < count; i++) memcpy(t.copies[i].dst, t.copies[i].data, t.copies[i].size);
    t.copies.erase(t.copies.begin(), t.copies.begin() + (ptrdiff_t)count);
}

// Each fiber serves CUDA thread i of every block its OS thread runs; it finds its
// Thread through tls_thread (set by the scheduler before every switch in), so the pool
// can grow without re-creating fibers.
[[noreturn]] void fiber_main(void*) {
#ifdef CUEMU_ASAN
    {
        Worker* w = tls_worker;
        __sanitizer_finish_switch_fiber(nullptr, &w->sched_stack_lo, &w->sched_stack_size);
    }
#endif
    for (;;) {
        Block* b = tls_worker->block;
        b->body(b->ctx);
        Thread* t = static_cast<Thread*>(tls_thread);
        land_copies(*t, t->copies.size());  // a thread's copies complete even if never waited for
        t->commits.clear();
        t->state = DONE;
        yield(*t);
    }
}

void grow_pool(Worker& w, unsigned n) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t size = (options().stack + page - 1) / page * page;
    size_t old = w.th.size();
    if (n <= old) return;
    // Between launches every fiber is parked at its final yield, so Threads may move.
    std::vector<Thread> grown(n);
    for (size_t i = 0; i < old; i++) grown[i] = w.th[i];
    for (size_t i = old; i < n; i++) {
        // One PROT_NONE guard page below each stack: an overflow is a SIGSEGV.
        char* mem = (char*)mmap(nullptr, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mem == MAP_FAILED) { fprintf(stderr, "cuemu: cannot map a fiber stack of %zu bytes\n", size); abort(); }
        mprotect(mem, page, PROT_NONE);
        grown[i].stack_lo = mem + page;
        grown[i].stack_size = size;
    }
    w.th.swap(grown);
    for (size_t i = old; i < n; i++) w.th[i].sp = cuemu_fiber_init(w.th[i].stack_lo, w.th[i].stack_size, fiber_main, nullptr);
}

Worker& worker() {
    if (!tls_worker) tls_worker = new Worker();
    return *tls_worker;
}

std::string fmt3(uint3 v) { return "(" + std::to_string(v.x) + "," + std::to_string(v.y) + "," + std::to_string(v.z) + ")"; }

[[noreturn]] void report(const Block& b, const std::string& what) {
    fprintf(stderr, "cuemu: kernel %s, block %s: %s\n", b.cfg->name, fmt3(b.idx).c_str(), what.c_str());
    fflush(stderr);
    abort();
}

std::string where(const Thread& t) {
    std::string s = "thread " + fmt3(t.tid);
    if (t.state == AT_BAR) s += " at __syncthreads " + std::string(t.bar_file) + ":" + std::to_string(t.bar_line) + " (its barrier #" + std::to_string(t.bar_count) + ")";
    else if (t.state == AT_WARP && t.w_kind == WARP_COLLECTIVE) s += " at " + std::string(t.w_name);
    else if (t.state == AT_WARP) {
        char m[16];
        snprintf(m, sizeof m, "0x%08x", t.w_mask);
        s += " at a warp operation with mask " + std::string(m);
    } else if (t.state == DONE) s += " (exited)";
    return s;
}

uint64_t warp_result(const Block& b, std::vector<Thread>& th, const Thread& t, unsigned group) {
    unsigned width = (unsigned)t.w_width;
    unsigned base_lane = t.lane & ~(width - 1);
    int src = -1;
    switch (t.w_kind) {
    case WARP_SHFL: src = (int)(base_lane + ((unsigned)t.w_arg & (width - 1))); break;
    case WARP_UP: src = (int)t.lane - t.w_arg; if (src < (int)base_lane) src = -1; break;
    case WARP_DOWN: src = (int)t.lane + t.w_arg; if (src >= (int)(base_lane + width)) src = -1; break;
    case WARP_XOR: src = (int)(t.lane ^ (unsigned)t.w_arg); if (src >= (int)(base_lane + width) || src < (int)base_lane) src = -1; break;
    case WARP_BALLOT: case WARP_ANY: case WARP_ALL: {
        unsigned bits = 0;
        for (unsigned l = 0; l < 32; l++)
            if (group >> l & 1) { const Thread& o = th[t.warp * 32 + l]; if (o.w_value) bits |= 1u << l; }
        if (t.w_kind == WARP_BALLOT) return bits;
        if (t.w_kind == WARP_ANY) return bits != 0;
        return bits == group;
    }
    default: return 0;
    }
    (void)b;
    // A source lane outside the group (not named, or exited) leaves the caller's value,
    // which is what the hardware returns for an inactive source.
    if (src < 0 || !(group >> src & 1)) return t.w_value;
    return th[t.warp * 32 + (unsigned)src].w_value;
}

// A warp-collective operation (wmma) needs every lane of a full warp, all at the same op:
// anything else is reported. Then op runs once over all lanes' arguments, before any lane
// continues, so every lane sees memory and fragments as they were when the warp met.
// False while a lane released earlier in this pass has yet to run on to its next stop.
bool release_collective(const Block& b, std::vector<Thread>& th, const Thread& t, unsigned first, unsigned last, unsigned live) {
    std::string name = t.w_name, by = " called by thread " + fmt3(t.tid);
    if (last - first < 32)
        report(b, name + by + " in a warp of only " + std::to_string(last - first) +
                      " threads: warp-collective operations need a full warp of 32");
    for (unsigned l = 0; l < 32; l++)
        if (th[first + l].state == READY) return false;
    for (unsigned l = 0; l < 32; l++) {
        const Thread& o = th[first + l];
        if (!(live >> l & 1))
            report(b, name + by + ", but lane " + std::to_string(l) + " of its warp has exited: " +
                          where(o) + "; all 32 lanes must call it");
        if (o.state == AT_BAR)
            report(b, name + by + " while lane " + std::to_string(l) + " waits at a block barrier: " + where(o));
        if (o.state != AT_WARP || o.w_kind != WARP_COLLECTIVE || o.w_op != t.w_op)
            report(b, "warp operations do not match: " + where(t) + " and " + where(o));
    }
    void* args[32];
    for (unsigned l = 0; l < 32; l++) args[l] = th[first + l].w_ptr;
    char msg[512] = "";
    int bad = t.w_op(args, msg, sizeof msg);
    if (bad >= 0) report(b, name + ": " + msg + " (" + where(th[first + (unsigned)bad]) + ")");
    for (unsigned l = 0; l < 32; l++) th[first + l].state = READY;
    return true;
}

// Releases whatever can be released after a round; false when nothing could be.
bool release(Block& b, Worker& w) {
    std::vector<Thread>& th = w.th;
    unsigned n = b.nthreads;
    bool released = false;
    unsigned nwarps = (n + 31) / 32;
    for (unsigned wp = 0; wp < nwarps; wp++) {
        unsigned first = wp * 32, last = std::min(n, first + 32);
        unsigned live = 0;  // lanes that exist and have not exited
        for (unsigned i = first; i < last; i++) if (th[i].state != DONE) live |= 1u << (i - first);
        for (unsigned i = first; i < last; i++) {
            Thread& t = th[i];
            if (t.state != AT_WARP) continue;
            if (t.w_kind == WARP_COLLECTIVE) {
                if (release_collective(b, th, t, first, last, live)) released = true;
                break;  // the whole warp takes part (now or in a later round)
            }
            unsigned group = t.w_mask & live;
            bool ok = true;
            for (unsigned l = 0; l < 32 && ok; l++) {
                if (!(group >> l & 1)) continue;
                Thread& o = th[first + l];
                if (o.state == AT_BAR)
                    report(b, "warp operation of " + where(t) + " names a lane waiting at a block barrier: " + where(o));
                if (o.state != AT_WARP) { ok = false; break; }
                if (o.w_mask != t.w_mask || o.w_kind != t.w_kind)
                    report(b, "warp operations do not match: " + where(t) + " (kind " + std::to_string(t.w_kind) + ") and " + where(o) + " (kind " + std::to_string(o.w_kind) + ")");
            }
            if (!ok) continue;
            // Compute every result before any lane can run on and deposit a new value.
            for (unsigned l = 0; l < 32; l++)
                if (group >> l & 1) th[first + l].w_result = warp_result(b, th, th[first + l], group);
            for (unsigned l = 0; l < 32; l++)
                if (group >> l & 1) th[first + l].state = READY;
            released = true;
        }
    }
    if (released) return true;
    // Block barrier: every thread still running must be waiting at the same one.
    const Thread* lead = nullptr;
    unsigned exited = 0;
    for (unsigned i = 0; i < n; i++) {
        const Thread& t = th[i];
        if (t.state == DONE) { exited++; continue; }
        if (t.state != AT_BAR) report(b, "deadlock: " + where(t) + " cannot proceed");
        if (!lead) { lead = &t; continue; }
        if (t.bar_line != lead->bar_line || t.bar_count != lead->bar_count || strcmp(t.bar_file, lead->bar_file) != 0)
            report(b, "divergent __syncthreads: " + where(*lead) + ", but " + where(t));
    }
    if (!lead) return false;
    // CUDA allows __syncthreads in conditional code only when the condition is the same
    // for the whole block; a thread that returned early took the other branch. Like
    // compute-sanitizer's synccheck, a barrier that some threads of the block wait at
    // after others exited is an error (in practice current GPUs release it).
    if (exited && options().strict_exit) {
        const Thread* gone = nullptr;
        for (unsigned i = 0; i < n && !gone; i++) if (th[i].state == DONE) gone = &th[i];
        report(b, "__syncthreads after " + std::to_string(exited) + " threads of the block exited: " + where(*lead) +
                      ", but " + where(*gone) + " and " + std::to_string(exited - 1) +
                      " more will never reach it (a barrier needs all threads of the block or none; CUEMU_STRICT_EXIT=0 allows it)");
    }
    int count = 0, all = 1, any = 0;
    for (unsigned i = 0; i < n; i++) {
        if (th[i].state != AT_BAR) continue;
        count += th[i].bar_pred; all &= th[i].bar_pred; any |= th[i].bar_pred;
    }
    int result = lead->bar_kind == BAR_COUNT ? count : lead->bar_kind == BAR_AND ? all : lead->bar_kind == BAR_OR ? any : 0;
    for (unsigned i = 0; i < n; i++)
        if (th[i].state == AT_BAR) { th[i].bar_result = result; th[i].state = READY; }
    return true;
}

void run_block(Worker& w, Block& b, unsigned long long linear) {
    const Options& opt = options();
    dim3 g = b.cfg->grid;
    b.idx = make_uint3((unsigned)(linear % g.x), (unsigned)(linear / g.x % g.y), (unsigned)(linear / ((unsigned long long)g.x * g.y)));
    dim3 d = b.dim;
    unsigned n = b.nthreads;
    for (unsigned i = 0; i < n; i++) {
        Thread& t = w.th[i];
        t.tid = make_uint3(i % d.x, i / d.x % d.y, i / (d.x * d.y));
        t.lin = i; t.warp = i / 32; t.lane = i % 32;
        t.state = READY; t.bar_count = 0;
        t.copies.clear(); t.commits.clear();
    }
    // Poison: a read of dynamic shared memory before any write gives NaN.
    if (b.cfg->smem) memset(b.smem, 0xff, b.cfg->smem);
    w.order.resize(n);
    for (unsigned i = 0; i < n; i++) w.order[i] = opt.order == REVERSE ? n - 1 - i : i;
    if (opt.order == RANDOM) w.rng.seed(opt.seed * 0x9E3779B97F4A7C15ull + linear);
    tls_block = &b;
    unsigned done = 0;
    for (;;) {
        if (opt.order == RANDOM) std::shuffle(w.order.begin(), w.order.end(), w.rng);
        for (unsigned k = 0; k < n; k++) {
            Thread& t = w.th[w.order[k]];
            if (t.state != READY) continue;
            tls_thread = &t;
            switch_to(&w.sched_sp, t.sp, t.stack_lo, t.stack_size);
            if (t.state == DONE) done++;
        }
        if (done == n) break;
        if (!release(b, w)) report(b, "no thread can proceed");
    }
    tls_thread = nullptr;
    tls_block = nullptr;
}

}  // namespace

int sync_block(int kind, int pred, const char* file, int line) {
    Thread& t = *static_cast<Thread*>(tls_thread);
    t.state = AT_BAR;
    t.bar_kind = kind; t.bar_pred = pred; t.bar_file = file; t.bar_line = line;
    t.bar_count++;
    yield(t);
    return t.bar_result;
}

uint64_t warp_op(int kind, unsigned mask, uint64_t value, int arg, int width) {
    Thread& t = *static_cast<Thread*>(tls_thread);
    Block& b = *static_cast<Block*>(tls_block);
    if (!(mask >> t.lane & 1)) {
        char m[16];
        snprintf(m, sizeof m, "0x%08x", mask);
        report(b, "thread " + fmt3(t.tid) + " (lane " + std::to_string(t.lane) + ") calls a warp operation whose mask " + m + " does not include it");
    }
    if (width < 1 || width > 32 || (width & (width - 1)))
        report(b, "thread " + fmt3(t.tid) + ": warp operation width " + std::to_string(width) + " is not a power of two up to 32");
    t.state = AT_WARP;
    t.w_kind = kind; t.w_mask = mask; t.w_value = value; t.w_arg = arg; t.w_width = width;
    yield(t);
    return t.w_result;
}

void warp_collective(const char* name, CollectiveOp op, void* arg) {
    Thread& t = *static_cast<Thread*>(tls_thread);
    t.state = AT_WARP;
    t.w_kind = WARP_COLLECTIVE; t.w_mask = 0xffffffffu; t.w_width = 32;
    t.w_name = name; t.w_op = op; t.w_ptr = arg;
    yield(t);
}

void device_error(const char* what) {
    const Thread& t = *static_cast<Thread*>(tls_thread);
    report(*static_cast<Block*>(tls_block), "thread " + fmt3(t.tid) + ": " + what);
}

void pipeline_copy(void* dst, const void* src, size_t size, size_t zfill) {
    if (size != 4 && size != 8 && size != 16) device_error("__pipeline_memcpy_async: size_and_align must be 4, 8 or 16");
    if (zfill > size) device_error("__pipeline_memcpy_async: zfill is larger than size_and_align");
    if ((uintptr_t)dst % size || (uintptr_t)src % size)
        device_error("__pipeline_memcpy_async: source and destination must be aligned to size_and_align");
    Thread& t = *static_cast<Thread*>(tls_thread);
    PendingCopy c;
    c.dst = static_cast<unsigned char*>(dst);
    c.size = (unsigned)size;
    memcpy(c.data, src, size - zfill);
    memset(c.data + (size - zfill), 0, zfill);
    t.copies.push_back(c);
}

void pipeline_commit() {
    Thread& t = *static_cast<Thread*>(tls_thread);
    t.commits.push_back(t.copies.size());
}

void pipeline_wait_prior(size_t prior) {
    Thread& t = *static_cast<Thread*>(tls_thread);
    if (prior > 8) prior = 8;  // as CUDA's header: at most the 8 newest batches stay in flight
    if (t.commits.size() <= prior) return;
    size_t done = t.commits.size() - prior;  // batches that must have landed
    size_t count = t.commits[done - 1];
    land_copies(t, count);
    t.commits.erase(t.commits.begin(), t.commits.begin() + (ptrdiff_t)done);
    for (size_t& c : t.commits) c -= count;
}

unsigned active_mask() {
    Thread& t = *static_cast<Thread*>(tls_thread);
    Block& b = *static_cast<Block*>(tls_block);
    Worker& w = *tls_worker;
    unsigned first = t.warp * 32, last = std::min(b.nthreads, first + 32), m = 0;
    for (unsigned i = first; i < last; i++) if (w.th[i].state != DONE) m |= 1u << (i - first);
    return m;
}

void* dynamic_smem() { return tls_block->smem; }

void submit_launch(const LaunchConfig& cfg, std::function<void()> run) {
    if (tls_block) {
        fprintf(stderr, "cuemu: kernel %s launched from device code: dynamic parallelism is not emulated\n", cfg.name);
        abort();
    }
    dim3 g = cfg.grid, bl = cfg.block;
    unsigned long long nthreads = (unsigned long long)bl.x * bl.y * bl.z;
    unsigned long long nblocks = (unsigned long long)g.x * g.y * g.z;
    if (nthreads == 0 || nthreads > 1024 || bl.x > 1024 || bl.y > 1024 || bl.z > 64 || nblocks == 0 ||
        g.x > 2147483647u || g.y > 65535 || g.z > 65535) {
        set_last_error(cudaErrorInvalidConfiguration);
        return;
    }
    if (cfg.smem > (size_t)max_dynamic_smem()) {
        set_last_error(cudaErrorInvalidValue);
        return;
    }
    cudaError_t e = enqueue(cfg.stream, std::move(run));
    if (e != cudaSuccess) set_last_error(e);
}

void launch(const LaunchConfig& cfg, void (*body)(void*), void* ctx) {
    dim3 g = cfg.grid, bl = cfg.block;
    unsigned long long nthreads = (unsigned long long)bl.x * bl.y * bl.z;
    unsigned long long nblocks = (unsigned long long)g.x * g.y * g.z;
    auto run = [&](unsigned long long lo, unsigned long long step) {
        Worker& w = worker();
        grow_pool(w, (unsigned)nthreads);
        if (w.smem_raw.size() < cfg.smem + 256) w.smem_raw.resize(cfg.smem + 256);
        Block b;
        b.cfg = &cfg; b.dim = bl; b.grid = g; b.nthreads = (unsigned)nthreads; b.body = body; b.ctx = ctx;
        b.smem = (unsigned char*)(((uintptr_t)w.smem_raw.data() + 255) & ~(uintptr_t)255);
        w.block = &b;
        for (unsigned long long i = lo; i < nblocks; i += step) run_block(w, b, i);
        w.block = nullptr;
    };
    int threads = omp_get_max_threads();
    if (nblocks == 1 || threads <= 1 || omp_in_parallel()) {
        run(0, 1);
    } else {
        // Blocks are handed out round-robin per OS thread (static interleave): each
        // thread sets up its pool once per launch rather than once per block.
        int nt = (int)std::min<unsigned long long>((unsigned long long)threads, nblocks);
#pragma omp parallel num_threads(nt)
        run((unsigned long long)omp_get_thread_num(), (unsigned long long)omp_get_num_threads());
    }
}

}  // namespace cuemu
