// One element written past the end of a cudaMalloc buffer: the ASan build must report
// it (tests/suites/62-emu-asan.sh checks the report). Exits 0 only if nothing noticed.
#include <cuda_runtime.h>
#include <cstdio>

__global__ void write_one_past(float* x, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i <= n) x[i] = 1.0f;  // the bug: <= instead of <
}

int main() {
    int n = 100;
    float* x;
    cudaMalloc(&x, n * sizeof(float));
    write_one_past<<<1, 128>>>(x, n);
    cudaDeviceSynchronize();
    cudaFree(x);
    printf("no error detected\n");
    return 0;
}
