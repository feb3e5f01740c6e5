// The emulator's bug finding: each bug runs in a child process (this program with the
// bug's name as argument) so an abort can be checked from outside, stderr included.
#include <cuda_fp16.h>
#include <cuda_pipeline.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/emu/check.h"

// Reverses a block through shared memory but forgets the barrier between write and read.
__global__ void reverse_no_sync(int* out) {
    __shared__ int s[64];
    s[threadIdx.x] = threadIdx.x;
    // missing __syncthreads();
    out[threadIdx.x] = s[blockDim.x - 1 - threadIdx.x];
}

// Half the block waits at one barrier, the other half at another.
__global__ void divergent_barrier(int* out) {
    if (threadIdx.x < 16) { __syncthreads(); out[threadIdx.x] = 1; }
    else { __syncthreads(); out[threadIdx.x] = 2; }
}

// A full-mask shuffle while half the warp waits at __syncthreads.
__global__ void bad_warp_mask(int* out) {
    int v = threadIdx.x;
    if (threadIdx.x < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
    else __syncthreads();
    out[threadIdx.x] = v;
}

// Half of a 64-thread block returns, the other half waits at a barrier: undefined in CUDA
// (the condition around a barrier must be the same for the whole block).
__global__ void barrier_after_exit(int* out) {
    if (threadIdx.x < 32) __syncthreads();
    out[threadIdx.x] = 1;
}

// wmma misuse: `how` 0 runs in a 48-thread block (warp 1 is partial), 1 calls from half a
// warp while the other half waits at a barrier, 2 passes a different pointer per lane, 3 a pointer 16 bytes off 256-bit alignment,
// 4 lets one lane exit first.
__global__ void bad_wmma(const __half* p, float* out, int how) {
    using namespace nvcuda;
    int lane = threadIdx.x % 32;
    if (how == 4 && lane == 5) return;
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> a;
    const __half* src = how == 2 ? p + lane * 16 : how == 3 ? p + 8 : p;
    if (how != 1 || lane < 16) wmma::load_matrix_sync(a, src, 16);
    else __syncthreads();
    out[threadIdx.x] = __half2float(a.x[0]);
}

// Reads an asynchronous copy's destination after the barrier but without waiting for it.
__global__ void copy_no_wait(const float* in, float* out) {
    extern __shared__ __align__(16) float s[];
    __pipeline_memcpy_async(&s[threadIdx.x * 4], &in[threadIdx.x * 4], 16);
    __pipeline_commit();
    // missing __pipeline_wait_prior(0);
    __syncthreads();
    out[threadIdx.x] = s[(threadIdx.x * 4 + 5) % 256];
}

static int child(const char* what) {
    int* d;
    cudaMalloc(&d, 64 * sizeof(int));
    if (!strcmp(what, "race")) {
        reverse_no_sync<<<1, 64>>>(d);
        int h[64];
        cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
        int bad = 0;
        for (int t = 0; t < 64; t++) bad += h[t] != 63 - t;
        printf("race: %d wrong\n", bad);
        return bad ? 3 : 0;
    }
    if (!strcmp(what, "nowait")) {
        float *in, *out;
        cudaMalloc(&in, 256 * sizeof(float));
        cudaMalloc(&out, 64 * sizeof(float));
        float h[256];
        for (int i = 0; i < 256; i++) h[i] = (float)i;
        cudaMemcpy(in, h, sizeof h, cudaMemcpyHostToDevice);
        copy_no_wait<<<1, 64, 256 * sizeof(float)>>>(in, out);
        cudaMemcpy(h, out, 64 * sizeof(float), cudaMemcpyDeviceToHost);
        int bad = 0;
        for (int t = 0; t < 64; t++) bad += h[t] != (float)((t * 4 + 5) % 256);
        printf("nowait: %d wrong\n", bad);
        return bad ? 3 : 0;
    }
    if (!strcmp(what, "divergent")) divergent_barrier<<<1, 32>>>(d);
    if (!strcmp(what, "exited")) barrier_after_exit<<<1, 64>>>(d);
    if (!strncmp(what, "wmma", 4)) {
        __half* p;
        float* f;
        cudaMalloc(&p, 16 * 32 * 16 * sizeof(__half));
        cudaMalloc(&f, 64 * sizeof(float));
        int how = what[4] - '0';
        bad_wmma<<<1, how == 0 ? 48 : 32>>>(p, f, how);
    }
    if (!strcmp(what, "warpmask")) bad_warp_mask<<<1, 32>>>(d);
    cudaDeviceSynchronize();
    printf("%s: finished without a report\n", what);
    return 0;
}

// Runs `self what` with the schedule given; returns its exit status, stderr+stdout in out.
static int run(const char* self, const char* what, const char* schedule, std::string& out) {
    std::string cmd = std::string("CUEMU_SCHEDULE=") + schedule + " OMP_NUM_THREADS=1 " + self + " " + what + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    out.clear();
    char buf[512];
    while (fgets(buf, sizeof buf, p)) out += buf;
    return pclose(p);
}

int main(int argc, char** argv) {
    if (argc > 1) return child(argv[1]);
    std::string out;
    // Threads run one at a time between barriers, so a read of a slot whose writer has
    // not run yet sees a stale value: reverse and random orders must expose the race.
    CHECK(run(argv[0], "race", "reverse", out) != 0, "missing __syncthreads not caught under reverse: %s", out.c_str());
    CHECK(run(argv[0], "race", "random:7", out) != 0, "missing __syncthreads not caught under random: %s", out.c_str());
    // An asynchronous copy lands only at the wait that covers it: reading first is caught.
    CHECK(run(argv[0], "nowait", "forward", out) != 0, "read before __pipeline_wait_prior not caught: %s", out.c_str());
    int st = run(argv[0], "divergent", "forward", out);
    CHECK(st != 0 && out.find("divergent __syncthreads") != std::string::npos && out.find("divergent_barrier") != std::string::npos &&
              out.find("block (0,0,0)") != std::string::npos,
          "divergent barrier not reported: %s", out.c_str());
    st = run(argv[0], "warpmask", "forward", out);
    CHECK(st != 0 && out.find("names a lane waiting at a block barrier") != std::string::npos,
          "bad warp mask not reported: %s", out.c_str());
    // The synccheck rule: a barrier that some threads wait at after others of the block
    // exited is reported, under every schedule.
    for (const char* sched : {"forward", "reverse", "random:5"}) {
        st = run(argv[0], "exited", sched, out);
        CHECK(st != 0 && out.find("__syncthreads after 32 threads of the block exited") != std::string::npos &&
                  out.find("kernel barrier_after_exit, block (0,0,0)") != std::string::npos &&
                  out.find("test_bugs.cu:") != std::string::npos && out.find("(exited)") != std::string::npos,
              "barrier after exited threads not reported under %s: %s", sched, out.c_str());
    }
    // wmma is warp-collective: every lane of a full warp, the same arguments, CUDA's alignment.
    const char* wmma_cases[][2] = {{"wmma0", "in a warp of only 16 threads"},
                                   {"wmma1", "while lane 16 waits at a block barrier"},
                                   {"wmma2", "the lanes of the warp pass different arguments"},
                                   {"wmma3", "is not 256-bit (32-byte) aligned"},
                                   {"wmma4", "lane 5 of its warp has exited"}};
    for (auto& c : wmma_cases)
        for (const char* sched : {"forward", "reverse"}) {
            st = run(argv[0], c[0], sched, out);
            CHECK(st != 0 && out.find(c[1]) != std::string::npos && out.find("wmma::load_matrix_sync") != std::string::npos &&
                      out.find("kernel bad_wmma, block (0,0,0)") != std::string::npos,
                  "%s under %s: expected \"%s\": %s", c[0], sched, c[1], out.c_str());
        }
    return summary();
}
