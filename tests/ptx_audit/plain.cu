// ptx_audit self-test (tests/suites/77-ptx-audit.sh): kernels every rule accepts, but no
// fused attention kernel, so `--require-flash` must reject this file alone.
#include <cuda_bf16.h>

// 128-bit loads and stores: the ld.global 128-bit column counts it, the ld128 mark stays off.
__global__ void __launch_bounds__(256) copy_vec_kernel(int4* out, const int4* in, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = in[i];
}

// Scalar bf16 loads: the report-only ld128 rule marks it, the audit still passes.
__global__ void __launch_bounds__(128) scale_bf16_kernel(__nv_bfloat16* out, const __nv_bfloat16* in, float s, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = __float2bfloat16(__bfloat162float(in[i]) * s);
}
