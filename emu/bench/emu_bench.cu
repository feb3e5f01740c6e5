// Not a test: how fast the emulator switches fibers and reduces 1M floats.
// Run with `make emu-bench`.
#include <cuda_runtime.h>
#include <chrono>
#include <cstdio>
#include <vector>

// Each __syncthreads costs every thread two switches (into the fiber and back out).
__global__ void barriers(int rounds, int* sink) {
    int v = threadIdx.x;
    for (int r = 0; r < rounds; r++) { v += r; __syncthreads(); }
    if (v == -1) *sink = v;
}

__global__ void reduce(const float* x, float* out, int n) {
    __shared__ float s[1024];
    float v = 0.0f;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) v += x[i];
    s[threadIdx.x] = v;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
        if (threadIdx.x < stride) s[threadIdx.x] += s[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0) atomicAdd(out, s[0]);
}

static double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int main() {
    int* sink;
    cudaMalloc(&sink, sizeof(int));
    int blocks = 8, threads = 256, rounds = 2000;
    auto t = std::chrono::steady_clock::now();
    barriers<<<blocks, threads>>>(rounds, sink);
    double s = seconds_since(t);
    double switches = 2.0 * blocks * threads * (rounds + 1);
    printf("fiber switches: %.1f M/s (%.1f ns each, all OS threads together)\n", switches / s / 1e6, s / switches * 1e9);

    int n = 1 << 20;
    std::vector<float> h(n, 1.0f);
    float *x, *out;
    cudaMalloc(&x, n * sizeof(float));
    cudaMalloc(&out, sizeof(float));
    cudaMemcpy(x, h.data(), n * sizeof(float), cudaMemcpyHostToDevice);
    for (int bs : {256, 1024}) {
        cudaMemset(out, 0, sizeof(float));
        t = std::chrono::steady_clock::now();
        reduce<<<132, bs>>>(x, out, n);
        double r = seconds_since(t);
        float got;
        cudaMemcpy(&got, out, sizeof got, cudaMemcpyDeviceToHost);
        printf("1M-element reduction, 132 blocks x %d threads: %.2f ms (sum %.0f)\n", bs, r * 1e3, got);
    }
    return 0;
}
