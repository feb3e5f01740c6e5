// The emulator's bug finding: each bug runs in a child process (this program with the
// bug's name as argument) so an abort can be checked from outside, stderr included.
#include <cuda_runtime.h>

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
    if (!strcmp(what, "divergent")) divergent_barrier<<<1, 32>>>(d);
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
    int st = run(argv[0], "divergent", "forward", out);
    CHECK(st != 0 && out.find("divergent __syncthreads") != std::string::npos && out.find("divergent_barrier") != std::string::npos &&
              out.find("block (0,0,0)") != std::string::npos,
          "divergent barrier not reported: %s", out.c_str());
    st = run(argv[0], "warpmask", "forward", out);
    CHECK(st != 0 && out.find("names a lane waiting at a block barrier") != std::string::npos,
          "bad warp mask not reported: %s", out.c_str());
    return summary();
}
