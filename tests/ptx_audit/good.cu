// ptx_audit self-test: plain.cu plus a fused attention kernel on tensor cores (one 16x16x16
// bf16 wmma tile per warp, in a function it calls), so the audit passes with `--require-flash`.
#include <mma.h>

#include "tests/ptx_audit/plain.cu"

// Dynamic shared memory whose size the suite names (--dyn-smem staged_copy_kernel=STAGE_BYTES):
// the audit evaluates STAGE_BYTES in this file and adds it to the occupancy (exact figure).
constexpr int STAGE_BYTES = 96 * 1024 + 4;
__global__ void __launch_bounds__(256) staged_copy_kernel(float* out, const float* in) {
    extern __shared__ float stage[];
    stage[threadIdx.x] = in[threadIdx.x];
    __syncthreads();
    out[threadIdx.x] = stage[255 - threadIdx.x];
}
inline void staged_copy(float* out, const float* in) { staged_copy_kernel<<<1, 256, STAGE_BYTES>>>(out, in); }

// The tile product sits in a function that is not inlined: its mma must count for the kernel
// that calls it (the audit follows `call` through the PTX).
__device__ __noinline__ void tile_mma(float* c, const __nv_bfloat16* a, const __nv_bfloat16* b) {
    using namespace nvcuda;
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> fc;
    wmma::fill_fragment(fc, 0.0f);
    wmma::load_matrix_sync(fa, a + blockIdx.x * 256, 16);
    wmma::load_matrix_sync(fb, b + blockIdx.x * 256, 16);
    wmma::mma_sync(fc, fa, fb, fc);
    wmma::store_matrix_sync(c + blockIdx.x * 256, fc, 16, wmma::mem_row_major);
}

__global__ void __launch_bounds__(32) attention_flash_wmma_kernel(float* c, const __nv_bfloat16* a,
                                                                  const __nv_bfloat16* b) {
    tile_mma(c, a, b);
}
