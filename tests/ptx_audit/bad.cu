// ptx_audit self-test: good.cu plus one kernel per failing rule. The audit must report
// exactly these five (kernel, rule) pairs, and none for good.cu's kernels in the same PTX.
#include "tests/ptx_audit/good.cu"

// spills: 48 values live across a loop in at most 32 registers (1024 threads, 2 blocks per SM)
__global__ void __launch_bounds__(1024, 2) spill_kernel(float* out, const float* in, int n) {
    float r[48];
#pragma unroll
    for (int j = 0; j < 48; j++) r[j] = in[threadIdx.x + j * 1024];
    for (int it = 0; it < n; it++) {
#pragma unroll
        for (int j = 0; j < 48; j++) r[j] = r[j] * r[(j + 7) % 48] + r[(j + 13) % 48];
    }
    float s = 0.0f;
#pragma unroll
    for (int j = 0; j < 48; j++) s += r[j];
    out[threadIdx.x] = s;
}

// stack: a local array indexed at run time lives in local memory
__global__ void __launch_bounds__(256) local_array_kernel(float* out, const float* in, const int* idx) {
    float a[64];
    for (int j = 0; j < 64; j++) a[j] = in[j * 256 + threadIdx.x];
    a[idx[threadIdx.x] & 63] += 1.0f;
    out[threadIdx.x] = a[idx[threadIdx.x + 256] & 63];
}

// tensor-cores: named like a fused attention kernel, but scalar arithmetic only
__global__ void __launch_bounds__(64) attention_flash_scalar_kernel(float* out, const float* q, const float* k) {
    float s = 0.0f;
    for (int j = 0; j < 64; j++) s += q[threadIdx.x * 64 + j] * k[j];
    out[threadIdx.x] = s;
}

// launch-bounds: no __launch_bounds__ and not in the audit's block-size table
__global__ void unbounded_kernel(float* out) { out[threadIdx.x] = 1.0f; }

// dyn-smem: dynamic shared memory of a size the audit is not told
__global__ void __launch_bounds__(128) unsized_smem_kernel(float* out) {
    extern __shared__ float buf[];
    buf[threadIdx.x] = 1.0f;
    __syncthreads();
    out[threadIdx.x] = buf[127 - threadIdx.x];
}
