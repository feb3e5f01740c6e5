// Stream ordering under the emulator's queued streams (emu/README.md, "Streams"). Every
// correctly ordered pattern must give the right answer in all three CUEMU_STREAMS modes;
// each pattern with a missing dependency must give the stale answer in the mode built to
// catch it (which proves that mode bites) and the right one where that mode's rules make it
// right. The expected values follow from the rules, not from running anything. Emulator
// only: on a GPU the unordered patterns are races with no fixed answer.
// `test_streams exit-child` is the child the exit case runs (work still queued at exit).
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <string>

#include "tests/emu/check.h"

enum Mode { SYNC, DEFER_SIDE, DEFER_DEFAULT };
static Mode mode() {
    const char* v = getenv("CUEMU_STREAMS");
    const std::string s = v ? v : "";
    return s == "sync" ? SYNC : s == "defer-default" ? DEFER_DEFAULT : DEFER_SIDE;  // unset: the default
}
static const char* mode_name() {
    const Mode m = mode();
    return m == SYNC ? "sync" : m == DEFER_SIDE ? "defer-side" : "defer-default";
}

constexpr int N = 300;  // two blocks of 256, the second partial
constexpr int kBlock = 256;
constexpr int kGrid = (N + kBlock - 1) / kBlock;

__global__ void fill(int* x, int v, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = v;
}
__global__ void add_one(int* y, const int* x, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] + 1;
}
struct Params {
    int v;
    int* out;
};
__global__ void fill_from(Params p, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) p.out[i] = p.v;
}
__global__ void say(const char* what) {
    if (threadIdx.x == 0 && blockIdx.x == 0) printf("queued kernel ran: %s\n", what);
}

// The value every element of a device buffer holds, read with a synchronous cudaMemcpy
// (which waits for the legacy stream and the blocking streams, not the non-blocking ones);
// INT_MIN when the elements differ.
static int value(const int* d) {
    std::vector<int> h = to_host(d, N);
    for (int v : h)
        if (v != h[0]) return INT_MIN;
    return h[0];
}
// Everything finished, then every element of d set to v.
static void reset(int* d, int v) {
    CUDA_OK(cudaDeviceSynchronize());
    std::vector<int> h(N, v);
    CUDA_OK(cudaMemcpy(d, h.data(), N * sizeof(int), cudaMemcpyHostToDevice));
}
// `right` in every mode but `stale_in`, where it is `stale`.
static int expect(int right, int stale, Mode stale_in) { return mode() == stale_in ? stale : right; }

static void host_fn(void* flag) { *(int*)flag = 1; }

// D = 2 A for a 2x2 fp32 A on `s`, through cuBLASLt with the default preferences.
static cublasStatus_t twice_matmul(cublasLtHandle_t lt, const float* A, const float* B, float* D, cudaStream_t s) {
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t l;
    cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F);
    cublasLtMatrixLayoutCreate(&l, CUDA_R_32F, 2, 2, 2);
    const float one = 1.0f, zero = 0.0f;
    cublasStatus_t st = cublasLtMatmul(lt, desc, &one, A, l, B, l, &zero, D, l, D, l, nullptr, nullptr, 0, s);
    // destroyed before a deferred matmul runs: it must have copied what it needs
    cublasLtMatrixLayoutDestroy(l);
    cublasLtMatmulDescDestroy(desc);
    return st;
}

static int exit_child() {
    cudaStream_t nb;
    cudaStreamCreateWithFlags(&nb, cudaStreamNonBlocking);
    say<<<1, 32, 0, nb>>>("side");
    say<<<1, 32>>>("default");
    return 0;  // no synchronisation: program exit runs what is still queued
}

int main(int argc, char** argv) {
    if (argc > 1 && !strcmp(argv[1], "exit-child")) return exit_child();
    printf("CUEMU_STREAMS mode: %s\n", mode_name());
    int *x, *y, *z, *tmp;
    for (int** p : {&x, &y, &z, &tmp}) CUDA_OK(cudaMalloc(p, N * sizeof(int)));
    cudaStream_t nb, nb2, blk;
    CUDA_OK(cudaStreamCreateWithFlags(&nb, cudaStreamNonBlocking));
    CUDA_OK(cudaStreamCreateWithFlags(&nb2, cudaStreamNonBlocking));
    CUDA_OK(cudaStreamCreate(&blk));
    cudaEvent_t e, e2, t0, t1;
    CUDA_OK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    CUDA_OK(cudaEventCreateWithFlags(&e2, cudaEventDisableTiming));
    CUDA_OK(cudaEventCreate(&t0));
    CUDA_OK(cudaEventCreate(&t1));

    // 1. producer on the legacy stream, consumer on a non-blocking stream
    reset(x, 1); reset(y, 0);
    fill<<<kGrid, kBlock>>>(x, 7, N);
    CUDA_OK(cudaEventRecord(e, 0));
    CUDA_OK(cudaStreamWaitEvent(nb, e, 0));
    add_one<<<kGrid, kBlock, 0, nb>>>(y, x, N);
    CUDA_OK(cudaStreamSynchronize(nb));
    CHECK(value(y) == 8, "legacy -> non-blocking with an event: y = %d", value(y));
    reset(x, 1); reset(y, 0);
    fill<<<kGrid, kBlock>>>(x, 7, N);
    add_one<<<kGrid, kBlock, 0, nb>>>(y, x, N);  // forgot the wait
    CUDA_OK(cudaStreamSynchronize(nb));
    CHECK(value(y) == expect(8, 2, DEFER_DEFAULT), "legacy -> non-blocking without the wait: y = %d", value(y));

    // 2. producer on a non-blocking stream, consumer on the legacy stream
    reset(x, 1); reset(y, 0);
    fill<<<kGrid, kBlock, 0, nb>>>(x, 7, N);
    CUDA_OK(cudaEventRecord(e, nb));
    CUDA_OK(cudaStreamWaitEvent(0, e, 0));
    add_one<<<kGrid, kBlock>>>(y, x, N);
    CHECK(value(y) == 8, "non-blocking -> legacy with an event: y = %d", value(y));
    reset(x, 1); reset(y, 0);
    fill<<<kGrid, kBlock, 0, nb>>>(x, 7, N);
    add_one<<<kGrid, kBlock>>>(y, x, N);  // forgot the wait
    CHECK(value(y) == expect(8, 2, DEFER_SIDE), "non-blocking -> legacy without the wait: y = %d", value(y));

    // 3. a blocking stream synchronises with the legacy stream both ways, no event needed
    reset(x, 1); reset(y, 0);
    fill<<<kGrid, kBlock>>>(x, 7, N);
    add_one<<<kGrid, kBlock, 0, blk>>>(y, x, N);
    CUDA_OK(cudaStreamSynchronize(blk));
    CHECK(value(y) == 8, "legacy -> blocking stream: y = %d", value(y));
    reset(x, 1); reset(y, 0);
    fill<<<kGrid, kBlock, 0, blk>>>(x, 7, N);
    add_one<<<kGrid, kBlock>>>(y, x, N);
    CHECK(value(y) == 8, "blocking stream -> legacy: y = %d", value(y));

    // 4. two non-blocking streams chained by events, then the legacy stream
    reset(x, 1); reset(y, 0); reset(z, 0);
    fill<<<kGrid, kBlock, 0, nb>>>(x, 20, N);
    CUDA_OK(cudaEventRecord(e, nb));
    CUDA_OK(cudaStreamWaitEvent(nb2, e, 0));
    add_one<<<kGrid, kBlock, 0, nb2>>>(y, x, N);
    CUDA_OK(cudaEventRecord(e2, nb2));
    CUDA_OK(cudaStreamWaitEvent(0, e2, 0));
    add_one<<<kGrid, kBlock>>>(z, y, N);
    CHECK(value(z) == 22, "nb -> nb2 -> legacy with events: z = %d", value(z));

    // 5. cudaMemcpy waits for the legacy and blocking streams only; cudaFree for everything
    reset(x, 1);
    fill<<<kGrid, kBlock, 0, nb>>>(x, 5, N);
    CHECK(value(x) == expect(5, 1, DEFER_SIDE), "cudaMemcpy while a non-blocking stream has work: x = %d", value(x));
    CUDA_OK(cudaStreamSynchronize(nb));
    CHECK(value(x) == 5, "after cudaStreamSynchronize: x = %d", value(x));
    reset(x, 1);
    fill<<<kGrid, kBlock, 0, nb>>>(x, 6, N);
    CUDA_OK(cudaFree(tmp));
    CHECK(value(x) == 6, "after cudaFree: x = %d", value(x));
    CUDA_OK(cudaMalloc(&tmp, N * sizeof(int)));

    // 6. cudaMemset and device-to-device cudaMemcpy do not make the host wait: they are
    //    queued on the legacy stream like any kernel
    reset(x, 1); reset(y, 0);
    CUDA_OK(cudaMemset(x, 0, N * sizeof(int)));
    add_one<<<kGrid, kBlock, 0, nb>>>(y, x, N);  // no wait for the memset
    CUDA_OK(cudaStreamSynchronize(nb));
    CHECK(value(y) == expect(1, 2, DEFER_DEFAULT), "cudaMemset -> non-blocking without the wait: y = %d", value(y));
    reset(x, 1); reset(y, 0); reset(z, 9);
    CUDA_OK(cudaMemcpy(x, z, N * sizeof(int), cudaMemcpyDefault));  // both device buffers
    add_one<<<kGrid, kBlock, 0, nb>>>(y, x, N);  // no wait for the copy
    CUDA_OK(cudaStreamSynchronize(nb));
    CHECK(value(y) == expect(10, 2, DEFER_DEFAULT), "device-to-device cudaMemcpy -> non-blocking without the wait: y = %d", value(y));

    // 7. pinned staging: a queued copy reads the buffer when it runs
    int* h = nullptr;
    CUDA_OK(cudaMallocHost(&h, N * sizeof(int)));
    reset(x, 0);
    for (int i = 0; i < N; i++) h[i] = 3;
    CUDA_OK(cudaMemcpyAsync(x, h, N * sizeof(int), cudaMemcpyHostToDevice, nb));
    for (int i = 0; i < N; i++) h[i] = 4;  // overwritten before the copy is known complete
    CUDA_OK(cudaStreamSynchronize(nb));
    CHECK(value(x) == expect(3, 4, DEFER_SIDE), "pinned source overwritten before the non-blocking copy completed: x = %d", value(x));
    reset(x, 0);
    for (int i = 0; i < N; i++) h[i] = 3;
    CUDA_OK(cudaMemcpyAsync(x, h, N * sizeof(int), cudaMemcpyHostToDevice, 0));
    for (int i = 0; i < N; i++) h[i] = 4;
    CUDA_OK(cudaDeviceSynchronize());
    CHECK(value(x) == expect(3, 4, DEFER_DEFAULT), "pinned source overwritten before the legacy-stream copy completed: x = %d", value(x));
    reset(x, 0);
    for (int i = 0; i < N; i++) h[i] = 3;
    CUDA_OK(cudaMemcpyAsync(x, h, N * sizeof(int), cudaMemcpyHostToDevice, nb));
    CUDA_OK(cudaEventRecord(e, nb));
    CUDA_OK(cudaEventSynchronize(e));
    for (int i = 0; i < N; i++) h[i] = 4;  // after the copy is known complete: fine
    CHECK(value(x) == 3, "pinned source overwritten after cudaEventSynchronize: x = %d", value(x));
    reset(x, 8);
    h[0] = -1;
    CUDA_OK(cudaMemcpyAsync(h, x, N * sizeof(int), cudaMemcpyDeviceToHost, nb));
    CHECK(h[0] == expect(8, -1, DEFER_SIDE), "pinned destination read before the copy completed: %d", h[0]);
    CUDA_OK(cudaStreamSynchronize(nb));
    CHECK(h[0] == 8 && h[N - 1] == 8, "pinned destination after cudaStreamSynchronize: %d", h[0]);

    // 8. events: elapsed time, queries, cudaEventElapsedTime forcing the records
    reset(x, 1); reset(y, 0);
    CUDA_OK(cudaEventRecord(t0, nb));
    add_one<<<kGrid, kBlock, 0, nb>>>(y, x, N);
    CUDA_OK(cudaEventRecord(t1, nb));
    float ms = -1.0f;
    CUDA_OK(cudaEventElapsedTime(&ms, t0, t1));
    CHECK(ms >= 0.0f && ms < 60000.0f, "elapsed time %g ms", ms);
    CHECK(value(y) == 2, "cudaEventElapsedTime ran the stream up to its records: y = %d", value(y));
    CHECK(cudaEventElapsedTime(&ms, e, t1) == cudaErrorInvalidResourceHandle, "elapsed time of a cudaEventDisableTiming event refused");
    CHECK(cudaGetLastError() == cudaErrorInvalidResourceHandle, "... and recorded as the last error");
    cudaEvent_t never;
    CUDA_OK(cudaEventCreate(&never));
    CHECK(cudaEventQuery(never) == cudaSuccess, "a never-recorded event is complete");
    CHECK(cudaEventElapsedTime(&ms, never, t1) == cudaErrorInvalidResourceHandle, "elapsed time from a never-recorded event refused");
    cudaGetLastError();
    CUDA_OK(cudaEventDestroy(never));
    // a query with work queued answers cudaErrorNotReady once (deferred streams only), then
    // runs the work: a polling loop ends after at most two queries
    for (int which = 0; which < 2; which++) {
        reset(x, 1); reset(y, 0);
        add_one<<<kGrid, kBlock, 0, nb>>>(y, x, N);
        CUDA_OK(cudaEventRecord(e, nb));
        int polls = 0;
        cudaError_t q;
        do {
            q = which == 0 ? cudaStreamQuery(nb) : cudaEventQuery(e);
            polls++;
        } while (q == cudaErrorNotReady && polls < 10);
        const char* what = which == 0 ? "cudaStreamQuery" : "cudaEventQuery";
        CHECK(q == cudaSuccess && polls == (mode() == DEFER_SIDE ? 2 : 1), "%s: %s after %d polls", what, cudaGetErrorName(q), polls);
        CHECK(value(y) == 2, "%s success means the work ran: y = %d", what, value(y));
    }
    CHECK(cudaGetLastError() == cudaSuccess, "cudaErrorNotReady is not recorded as an error");

    // 9. a launch copies its arguments at the call; configuration errors show at the call
    reset(x, 0);
    Params p{3, x};
    fill_from<<<kGrid, kBlock, 0, nb>>>(p, N);
    p.v = 9;
    CUDA_OK(cudaStreamSynchronize(nb));
    CHECK(value(x) == 3, "kernel arguments as they were at the launch: x = %d", value(x));
    fill<<<1, 2048, 0, nb>>>(x, 1, N);
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration, "a bad configuration on a queued stream is reported at the launch");
    cudaStream_t gone;
    CUDA_OK(cudaStreamCreateWithFlags(&gone, cudaStreamNonBlocking));
    CUDA_OK(cudaStreamDestroy(gone));
    fill<<<kGrid, kBlock, 0, gone>>>(x, 1, N);
    CHECK(cudaGetLastError() == cudaErrorInvalidResourceHandle, "a launch on a destroyed stream is refused");
    CHECK(value(x) == 3, "the refused launches ran nothing: x = %d", value(x));

    // 10. a host function runs in stream order
    int flag = 0;
    reset(x, 1);
    CUDA_OK(cudaLaunchHostFunc(nb, host_fn, &flag));
    CHECK(flag == expect(1, 0, DEFER_SIDE), "host function before the stream is forced: %d", flag);
    CUDA_OK(cudaStreamSynchronize(nb));
    CHECK(flag == 1, "host function after cudaStreamSynchronize: %d", flag);

    // 11. cuBLASLt honours its stream
    {
        cublasLtHandle_t lt;
        cublasLtCreate(&lt);
        float *A, *B, *D;
        for (float** q : {&A, &B, &D}) CUDA_OK(cudaMalloc(q, 4 * sizeof(float)));
        std::vector<float> ha = {1, 2, 3, 4}, hb = {2, 0, 0, 2}, hd = {0, 0, 0, 0};
        CUDA_OK(cudaMemcpy(A, ha.data(), 16, cudaMemcpyHostToDevice));
        CUDA_OK(cudaMemcpy(B, hb.data(), 16, cudaMemcpyHostToDevice));
        CUDA_OK(cudaMemcpy(D, hd.data(), 16, cudaMemcpyHostToDevice));
        CHECK(twice_matmul(lt, A, B, D, nb) == CUBLAS_STATUS_SUCCESS, "matmul on a non-blocking stream");
        std::vector<float> r = to_host(D, 4);
        const float first = mode() == DEFER_SIDE ? 0.0f : 2.0f;
        CHECK(r[0] == first, "matmul result read without waiting for its stream: %g", r[0]);
        CUDA_OK(cudaStreamSynchronize(nb));
        r = to_host(D, 4);
        CHECK(r[0] == 2 && r[1] == 4 && r[2] == 6 && r[3] == 8, "matmul after cudaStreamSynchronize: %g %g %g %g", r[0], r[1], r[2], r[3]);
        for (float* q : {A, B, D}) CUDA_OK(cudaFree(q));
        cublasLtDestroy(lt);
    }

    // 12. work still queued at exit runs (a child process)
    {
        std::string cmd = std::string(argv[0]) + " exit-child";
        FILE* f = popen(cmd.c_str(), "r");
        std::string out;
        char buf[256];
        while (f && fgets(buf, sizeof buf, f)) out += buf;
        int rc = f ? pclose(f) : -1;
        CHECK(rc == 0 && out.find("queued kernel ran: side") != std::string::npos &&
                  out.find("queued kernel ran: default") != std::string::npos,
              "queued work runs at exit (exit status %d, output: %s)", rc, out.c_str());
    }

    // 13. cudaMemGetInfo follows what the program holds on the device (the trainer's leak
    // test, test_gpt2, relies on it): 64 MiB of device memory lower free by 64 MiB, pinned
    // host memory does not, and cudaFree gives it back
    {
        const size_t MiB64 = 64ull << 20;
        size_t f0 = 0, f1 = 0, f2 = 0, f3 = 0, total = 0;
        CUDA_OK(cudaMemGetInfo(&f0, &total));
        void *d = nullptr, *p = nullptr;
        CUDA_OK(cudaMalloc(&d, MiB64));
        CUDA_OK(cudaMemGetInfo(&f1, &total));
        CUDA_OK(cudaMallocHost(&p, MiB64));
        CUDA_OK(cudaMemGetInfo(&f2, &total));
        CUDA_OK(cudaFree(d));
        CUDA_OK(cudaFreeHost(p));
        CUDA_OK(cudaMemGetInfo(&f3, &total));
        CHECK(f0 - f1 == MiB64 && f2 == f1 && f3 == f0 && total > f0,
              "cudaMemGetInfo: free %zu, after cudaMalloc %zu, after cudaMallocHost %zu, after freeing %zu (of %zu)",
              f0, f1, f2, f3, total);
    }

    CUDA_OK(cudaFreeHost(h));
    for (int* q : {x, y, z, tmp}) CUDA_OK(cudaFree(q));
    for (cudaEvent_t q : {e, e2, t0, t1}) CUDA_OK(cudaEventDestroy(q));
    for (cudaStream_t q : {nb, nb2, blk}) CUDA_OK(cudaStreamDestroy(q));
    return summary();
}
