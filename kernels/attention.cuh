// Causal multi-head self-attention on a (B, T, 3C) qkv buffer (Q for all heads, then K,
// then V; head h owns columns h*hs .. h*hs+hs-1 of each third), as cpu/attention.h:
//   s[t,t2] = q_t . k_t2 * scale (scale = 1/sqrt(hs)),   P[t,t2] = softmax_{t2<=t}(s[t,:])
//   out[b,t,h*hs+i] = sum_{t2<=t} P[t,t2] v_t2[i]
// Flash style: no T^2 matrix is ever stored. The forward keeps, per (b, h, t), only the
// log-sum-exp  lse[t] = log sum_{t2<=t} exp(s[t,t2])  (fp32, (B, NH, T)), from which the
// backward recomputes P[t,t2] = exp(s[t,t2] - lse[t]) exactly where it needs it:
//   D[t]      = sum_i dout_t[i] out_t[i]          (= sum_t2 P dP: the softmax's row term)
//   dP[t,t2]  = dout_t . v_t2,   dS[t,t2] = P[t,t2] (dP[t,t2] - D[t])
//   dq_t += scale sum_t2 dS[t,t2] k_t2,  dk_t2 += scale sum_t dS[t,t2] q_t,
//   dv_t2 += sum_t P[t,t2] dout_t        (sums over the causal t2 <= t only)
// Two implementations of the same formulas, chosen by attention_uses_flash():
// - attention_flash_*: BF16 build, head size 64 (every GPT-2). Tensor cores through
//   nvcuda::wmma (bf16 in, fp32 accumulate). A block takes 64 queries (forward, dq) or 64
//   keys (dk/dv) of one (b, h), 4 warps of 16 rows each, and walks the 64-wide tiles of the
//   other side, skipping those wholly above the diagonal. The forward's softmax is online:
//   a running max m and sum l per row, earlier partial outputs rescaled by exp(m_old - m).
//   P (forward, dv) and dS (dk, dq) are rounded to bf16 for their tensor-core product;
//   m, l, P's exponent, D and every accumulator are fp32.
// - attention_online_*: everything else (the FP32 build at any head size, odd head sizes in
//   BF16): the same algorithm on CUDA cores in fp32, one warp per row, no tensor cores, so
//   the FP32 build stays within 1e-5 of the CPU.
// Deterministic: every output element is summed by one thread (or one wmma accumulator) in
// a fixed order; dk/dv (one pass per key block) and dq (one pass per query block) never
// share an output, and nothing uses atomics.
#pragma once
#include <mma.h>

#include <cmath>

#include "kernels/common.cuh"

// Test hooks, never defined in a real build: dev/cuda builds the flash kernels with one of
// them to check that the attention tests catch a missing barrier and a wrong causal mask
// (tests/suites/73-dev-cuda.sh expects those builds to fail). The barrier left out is the
// dq kernel's after its query tile is loaded (lanes then read lse and D that other warps
// wrote). The emulator runs a block's threads in rounds, one sync point per thread per
// round, with wmma operations run at the end of a round, so it shows a missing barrier
// only when a plain load in the same round reads what another thread stores: a barrier
// before a tile's first wmma use, or before it is overwritten, is invisible to it.
#if defined(NOLN_ATT_BROKEN_BARRIER)
#define ATT_QUERY_TILE_BARRIER()
#else
#define ATT_QUERY_TILE_BARRIER() __syncthreads()
#endif
#if defined(NOLN_ATT_BROKEN_MASK)
constexpr int ATT_MASK_SHIFT = 1;  // every query also sees the next key
#else
constexpr int ATT_MASK_SHIFT = 0;
#endif
// The causal rule, one copy for every kernel: query t sees key t2 when t2 <= t.
__device__ inline bool att_visible(int t, int t2) { return t2 <= t + ATT_MASK_SHIFT; }

// ============================ attention_online_*: any head size, fp32 on CUDA cores
// One warp per (b, h, row). Lane j scores keys (or queries) j, j+32, ...; the row's outputs
// are spread over the lanes, ATT_DIMS_PER_LANE dimensions each (hs > 128 in slabs).
constexpr int ATT_THREADS = 256;
constexpr int ATT_ROWS_PER_BLOCK = ATT_THREADS / 32;
constexpr int ATT_DIMS_PER_LANE = 4;
constexpr int ATT_SLAB = 32 * ATT_DIMS_PER_LANE;

__device__ inline float att_dot(const floatX* a, const floatX* b, int hs) {
    float s = 0.0f;
    for (int i = 0; i < hs; i++) s += to_float(a[i]) * to_float(b[i]);
    return s;
}

// Two passes per row: lse (each lane an online max/sum over its keys, then merged), then
// out in 32-key chunks with exact probabilities exp(s - lse) broadcast through shared memory.
__global__ void __launch_bounds__(ATT_THREADS)
attention_online_forward_kernel(floatX* out, float* lse, const floatX* qkv, int B, int T, int C, int NH) {
    __shared__ float pbuf[ATT_ROWS_PER_BLOCK][32];
    const int lane = threadIdx.x % 32, w = threadIdx.x / 32;
    const long idx = (long)blockIdx.x * ATT_ROWS_PER_BLOCK + w;  // (b, h, t)
    if (idx >= (long)B * NH * T) return;  // whole warps leave together (no block barrier below)
    const int t = (int)(idx % T), h = (int)((idx / T) % NH), b = (int)(idx / ((long)T * NH));
    const int hs = C / NH;
    const float scale = 1.0f / sqrtf((float)hs);
    const floatX* q = qkv + ((long)b * T + t) * 3 * C + h * hs;
    const floatX* k0 = qkv + (long)b * T * 3 * C + C + h * hs;  // key 0; row stride 3C
    const long ld = 3L * C;
    float m = -INFINITY, l = 0.0f;
    for (int t2 = lane; t2 < T; t2 += 32) {
        if (!att_visible(t, t2)) break;
        const float x = att_dot(q, k0 + t2 * ld, hs) * scale;
        if (x > m) {
            l = l * expf(m - x) + 1.0f;
            m = x;
        } else {
            l += expf(x - m);
        }
    }
    const float mx = warp_max(m);
    const float row_lse = mx + logf(warp_sum(m == -INFINITY ? 0.0f : l * expf(m - mx)));
    if (lane == 0) lse[idx] = row_lse;
    for (int d0 = 0; d0 < hs; d0 += ATT_SLAB) {
        float o[ATT_DIMS_PER_LANE] = {};
        for (int c0 = 0; c0 < T && att_visible(t, c0); c0 += 32) {
            const int t2 = c0 + lane;
            const bool vis = t2 < T && att_visible(t, t2);
            pbuf[w][lane] = vis ? expf(att_dot(q, k0 + t2 * ld, hs) * scale - row_lse) : 0.0f;
            __syncwarp();
            for (int j = 0; j < 32 && c0 + j < T; j++) {
                const float p = pbuf[w][j];
                const floatX* v = k0 + C + (c0 + j) * ld;
#pragma unroll
                for (int r = 0; r < ATT_DIMS_PER_LANE; r++) {
                    const int i = d0 + r * 32 + lane;
                    if (i < hs) o[r] += p * to_float(v[i]);
                }
            }
            __syncwarp();  // pbuf is rewritten by the next chunk
        }
        floatX* y = out + ((long)b * T + t) * C + h * hs;
#pragma unroll
        for (int r = 0; r < ATT_DIMS_PER_LANE; r++) {
            const int i = d0 + r * 32 + lane;
            if (i < hs) y[i] = from_float<floatX>(o[r]);
        }
    }
}

// D[b,h,t] = dout_t . out_t, one warp per row (both implementations; Tx: the storage type,
// bf16 for the flash kernels whatever the build).
template <typename Tx>
__global__ void __launch_bounds__(ATT_THREADS)
attention_backward_d_kernel(float* D, const Tx* dout, const Tx* out, int B, int T, int C, int NH) {
    const int lane = threadIdx.x % 32;
    const long idx = (long)blockIdx.x * ATT_ROWS_PER_BLOCK + threadIdx.x / 32;
    if (idx >= (long)B * NH * T) return;
    const int t = (int)(idx % T), h = (int)((idx / T) % NH), b = (int)(idx / ((long)T * NH));
    const int hs = C / NH;
    const long o = ((long)b * T + t) * C + h * hs;
    float s = 0.0f;
    for (int i = lane; i < hs; i += 32) s += to_float(dout[o + i]) * to_float(out[o + i]);
    s = warp_sum(s);
    if (lane == 0) D[idx] = s;
}

// dq for one query row per warp: the row's keys in chunks of 32, dS * scale broadcast.
__global__ void __launch_bounds__(ATT_THREADS)
attention_online_backward_dq_kernel(floatX* dqkv, const floatX* dout, const floatX* qkv, const float* lse,
                                    const float* D, int B, int T, int C, int NH) {
    __shared__ float dsbuf[ATT_ROWS_PER_BLOCK][32];
    const int lane = threadIdx.x % 32, w = threadIdx.x / 32;
    const long idx = (long)blockIdx.x * ATT_ROWS_PER_BLOCK + w;
    if (idx >= (long)B * NH * T) return;
    const int t = (int)(idx % T), h = (int)((idx / T) % NH), b = (int)(idx / ((long)T * NH));
    const int hs = C / NH;
    const float scale = 1.0f / sqrtf((float)hs);
    const long ld = 3L * C;
    const floatX* q = qkv + ((long)b * T + t) * ld + h * hs;
    const floatX* k0 = qkv + (long)b * T * ld + C + h * hs;
    const floatX* d = dout + ((long)b * T + t) * C + h * hs;
    const float row_lse = lse[idx], row_d = D[idx];
    for (int d0 = 0; d0 < hs; d0 += ATT_SLAB) {
        float acc[ATT_DIMS_PER_LANE] = {};
        for (int c0 = 0; c0 < T && att_visible(t, c0); c0 += 32) {
            const int t2 = c0 + lane;
            float ds = 0.0f;
            if (t2 < T && att_visible(t, t2)) {
                const float p = expf(att_dot(q, k0 + t2 * ld, hs) * scale - row_lse);
                ds = p * (att_dot(d, k0 + C + t2 * ld, hs) - row_d) * scale;
            }
            dsbuf[w][lane] = ds;
            __syncwarp();
            for (int j = 0; j < 32 && c0 + j < T; j++) {
                const float g = dsbuf[w][j];
                const floatX* k = k0 + (c0 + j) * ld;
#pragma unroll
                for (int r = 0; r < ATT_DIMS_PER_LANE; r++) {
                    const int i = d0 + r * 32 + lane;
                    if (i < hs) acc[r] += g * to_float(k[i]);
                }
            }
            __syncwarp();
        }
        floatX* dq = dqkv + ((long)b * T + t) * ld + h * hs;
#pragma unroll
        for (int r = 0; r < ATT_DIMS_PER_LANE; r++) {
            const int i = d0 + r * 32 + lane;
            if (i < hs) dq[i] = from_float<floatX>(to_float(dq[i]) + acc[r]);
        }
    }
}

// dk and dv for one key row t2 per warp: the queries t >= t2 in chunks of 32.
__global__ void __launch_bounds__(ATT_THREADS)
attention_online_backward_dkdv_kernel(floatX* dqkv, const floatX* dout, const floatX* qkv, const float* lse,
                                      const float* D, int B, int T, int C, int NH) {
    __shared__ float pbuf[ATT_ROWS_PER_BLOCK][32], dsbuf[ATT_ROWS_PER_BLOCK][32];
    const int lane = threadIdx.x % 32, w = threadIdx.x / 32;
    const long idx = (long)blockIdx.x * ATT_ROWS_PER_BLOCK + w;
    if (idx >= (long)B * NH * T) return;
    const int t2 = (int)(idx % T), h = (int)((idx / T) % NH), b = (int)(idx / ((long)T * NH));
    const int hs = C / NH;
    const float scale = 1.0f / sqrtf((float)hs);
    const long ld = 3L * C, head = idx - t2;  // row index of (b, h, t=0) in lse and D
    const floatX* q0 = qkv + (long)b * T * ld + h * hs;  // query 0
    const floatX* k = q0 + (long)t2 * ld + C;
    const floatX* v = k + C;
    const floatX* d0p = dout + (long)b * T * C + h * hs;  // dout row 0; row stride C
    const int first = t2 > ATT_MASK_SHIFT ? t2 - ATT_MASK_SHIFT : 0;  // first query that sees t2
    for (int d0 = 0; d0 < hs; d0 += ATT_SLAB) {
        float dk[ATT_DIMS_PER_LANE] = {}, dv[ATT_DIMS_PER_LANE] = {};
        for (int c0 = first; c0 < T; c0 += 32) {
            const int t = c0 + lane;
            float p = 0.0f, ds = 0.0f;
            if (t < T && att_visible(t, t2)) {
                p = expf(att_dot(q0 + t * ld, k, hs) * scale - lse[head + t]);
                ds = p * (att_dot(d0p + (long)t * C, v, hs) - D[head + t]) * scale;
            }
            pbuf[w][lane] = p;
            dsbuf[w][lane] = ds;
            __syncwarp();
            for (int j = 0; j < 32 && c0 + j < T; j++) {
                const float pj = pbuf[w][j], gj = dsbuf[w][j];
                const floatX* qj = q0 + (c0 + j) * ld;
                const floatX* dj = d0p + (long)(c0 + j) * C;
#pragma unroll
                for (int r = 0; r < ATT_DIMS_PER_LANE; r++) {
                    const int i = d0 + r * 32 + lane;
                    if (i < hs) {
                        dk[r] += gj * to_float(qj[i]);
                        dv[r] += pj * to_float(dj[i]);
                    }
                }
            }
            __syncwarp();
        }
        floatX* dkp = dqkv + ((long)b * T + t2) * ld + C + h * hs;
        floatX* dvp = dkp + C;
#pragma unroll
        for (int r = 0; r < ATT_DIMS_PER_LANE; r++) {
            const int i = d0 + r * 32 + lane;
            if (i < hs) {
                dkp[i] = from_float<floatX>(to_float(dkp[i]) + dk[r]);
                dvp[i] = from_float<floatX>(to_float(dvp[i]) + dv[r]);
            }
        }
    }
}

// ============================ attention_flash_*: bf16 tensor cores, head size 64
// Shared memory (dynamic): 64 x 64 bf16 tiles with rows padded to 72 elements (144 bytes:
// consecutive rows start in different banks; wmma wants a multiple of 8 elements and
// 32-byte aligned fragment starts, which 16-row and 16-column offsets keep), plus per warp a
// 16 x 64 fp32 scratch (rows padded to 68) and a 16 x 64 bf16 tile for P or dS.
namespace att_flash {
namespace wm = nvcuda::wmma;
typedef __nv_bfloat16 bf16;
constexpr int HS = 64, TILE = 64, WARPS = 4, THREADS = 32 * WARPS, LDB = 72, LDF = 68;
constexpr int TILE_ELEMS = TILE * LDB;                 // one padded 64 x 64 bf16 tile
constexpr int SCRATCH_FLOATS = 16 * LDF;               // per warp
constexpr int PTILE_ELEMS = 16 * LDB;                  // per warp
constexpr size_t FWD_SMEM = 3 * TILE_ELEMS * sizeof(bf16) + WARPS * SCRATCH_FLOATS * sizeof(float);
constexpr size_t BWD_SMEM = 4 * TILE_ELEMS * sizeof(bf16) + WARPS * SCRATCH_FLOATS * sizeof(float) +
                            WARPS * PTILE_ELEMS * sizeof(bf16) + 2 * TILE * sizeof(float);
typedef wm::fragment<wm::matrix_a, 16, 16, 16, bf16, wm::row_major> FragA;
typedef wm::fragment<wm::matrix_b, 16, 16, 16, bf16, wm::row_major> FragB;    // B as stored
typedef wm::fragment<wm::matrix_b, 16, 16, 16, bf16, wm::col_major> FragBT;   // B^T of a row-major tile
typedef wm::fragment<wm::accumulator, 16, 16, 16, float> FragC;

// Rows r0 .. r0+63 of a head's 64 columns (src: row 0 of that head, row stride ld) into a
// padded tile; rows at or past T are zeros (they must not be NaN: 0 * NaN is NaN).
__device__ inline void load_tile(bf16* dst, const bf16* src, long ld, int r0, int T) {
    for (int e = threadIdx.x; e < TILE * HS / 8; e += THREADS) {
        const int r = e / (HS / 8), c = (e % (HS / 8)) * 8;
        Vec128<bf16> v;
        if (r0 + r < T) v = load_vec(src + (long)(r0 + r) * ld + c);
        else
            for (int i = 0; i < 8; i++) v.set(i, 0.0f);
        store_vec(dst + r * LDB + c, v);
    }
}
// A warp's 16 x 64 row-major bf16 rows (ld LDB) as four 16 x 16 operands along k.
__device__ inline void load_rows(FragA (&fa)[4], const bf16* a) {
    for (int k = 0; k < 4; k++) wm::load_matrix_sync(fa[k], a + k * 16, LDB);
}
// s (16 x 64 fp32 scratch) = a (16 x 64) times b^T, where b is a row-major 64 x 64 tile:
// s[i][j] = sum_k a[i][k] b[j][k].
__device__ inline void product_abt_to(float* s, const FragA (&fa)[4], const bf16* b) {
    for (int n = 0; n < 4; n++) {
        FragC acc;
        wm::fill_fragment(acc, 0.0f);
        for (int k = 0; k < 4; k++) {
            FragBT fb;
            wm::load_matrix_sync(fb, b + n * 16 * LDB + k * 16, LDB);
            wm::mma_sync(acc, fa[k], fb, acc);
        }
        wm::store_matrix_sync(s + n * 16, acc, LDF, wm::mem_row_major);
    }
}
// acc[n] += a (16 x 64, row-major, ld LDB) times b (64 x 64 row-major tile).
__device__ inline void product_ab_acc(FragC (&acc)[4], const bf16* a, const bf16* b) {
    FragA fa[4];
    load_rows(fa, a);
    for (int n = 0; n < 4; n++)
        for (int k = 0; k < 4; k++) {
            FragB fb;
            wm::load_matrix_sync(fb, b + k * 16 * LDB + n * 16, LDB);
            wm::mma_sync(acc[n], fa[k], fb, acc[n]);
        }
}
// Adds mul * acc (16 x 64: the warp's rows r0.., fp32 through the scratch s) to the bf16
// rows of dst (row stride ld, head column 0), rows at or past T skipped. Lane: row lane/2,
// 32 columns from (lane%2)*32.
__device__ inline void add_rows(bf16* dst, long ld, int r0, int T, FragC (&acc)[4], float* s, float mul) {
    for (int n = 0; n < 4; n++) wm::store_matrix_sync(s + n * 16, acc[n], LDF, wm::mem_row_major);
    __syncwarp();
    const int lane = threadIdx.x % 32, row = lane / 2, c0 = (lane % 2) * 32;
    if (r0 + row < T)
        for (int c = 0; c < 32; c += 8) {
            bf16* p = dst + (long)(r0 + row) * ld + c0 + c;
            Vec128<bf16> v = load_vec(p);
            for (int i = 0; i < 8; i++) v.set(i, v.get(i) + mul * s[row * LDF + c0 + c + i]);
            store_vec(p, v);
        }
    __syncwarp();
}
}  // namespace att_flash

// Grid (ceil(T/64), B*NH); the heaviest query blocks (most key tiles) are launched first.
__global__ void __launch_bounds__(att_flash::THREADS)
attention_flash_forward_kernel(__nv_bfloat16* out, float* lse, const __nv_bfloat16* qkv, int T, int C, int NH) {
    using namespace att_flash;
    extern __shared__ __align__(128) unsigned char att_smem[];
    bf16* sK = (bf16*)att_smem;
    bf16* sV = sK + TILE_ELEMS;
    bf16* sQ = sV + TILE_ELEMS;  // the Q tile; each warp then reuses its own 16 rows for P
    float* S = (float*)(sQ + TILE_ELEMS) + (threadIdx.x / 32) * SCRATCH_FLOATS;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, row = lane / 2, c0 = (lane % 2) * 32;
    const int qb = gridDim.x - 1 - blockIdx.x, bh = blockIdx.y, b = bh / NH, h = bh % NH;
    const long ld = 3L * C;
    const bf16* base = qkv + (long)b * T * ld + h * HS;
    const int t = qb * TILE + warp * 16 + row;  // this lane's query
    const float scale = 0.125f;                 // 1/sqrt(64)
    load_tile(sQ, base, ld, qb * TILE, T);
    __syncthreads();
    FragA qf[4];  // this warp's 16 query rows, kept in registers for every key tile
    load_rows(qf, sQ + warp * 16 * LDB);
    bf16* P = sQ + warp * 16 * LDB;
    float m = -INFINITY, l = 0.0f, o[32];
    for (int c = 0; c < 32; c++) o[c] = 0.0f;
    for (int kb = 0; kb <= qb; kb++) {  // key tiles above the diagonal are skipped
        __syncthreads();  // every warp is done with the previous K, V
        load_tile(sK, base + C, ld, kb * TILE, T);
        load_tile(sV, base + 2 * C, ld, kb * TILE, T);
        __syncthreads();
        product_abt_to(S, qf, sK);  // S = Q_w K^T
        __syncwarp();
        // online softmax of this lane's half row: new max, rescale, P = exp(x - m) in bf16
        const float* sr = S + row * LDF + c0;
        float mx = m;
        for (int c = 0; c < 32; c++)
            if (att_visible(t, kb * TILE + c0 + c)) mx = fmaxf(mx, sr[c] * scale);
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        const float alpha = expf(m - mx);  // 0 on the first tile (m = -inf)
        float sum = 0.0f;
        for (int c = 0; c < 32; c++) {
            const float p = att_visible(t, kb * TILE + c0 + c) ? expf(sr[c] * scale - mx) : 0.0f;
            sum += p;
            P[row * LDB + c0 + c] = __float2bfloat16(p);
        }
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        l = l * alpha + sum;
        m = mx;
        __syncwarp();
        // O = O alpha + P V (the product through the scratch, the sum in this lane's registers)
        FragC pv[4];
        for (int n = 0; n < 4; n++) wm::fill_fragment(pv[n], 0.0f);
        product_ab_acc(pv, P, sV);
        for (int n = 0; n < 4; n++) wm::store_matrix_sync(S + n * 16, pv[n], LDF, wm::mem_row_major);
        __syncwarp();
        for (int c = 0; c < 32; c++) o[c] = o[c] * alpha + sr[c];
        __syncwarp();
    }
    if (t < T) {
        const float inv = 1.0f / l;
        bf16* y = out + ((long)b * T + t) * C + h * HS + c0;
        for (int c = 0; c < 32; c += 8) {
            Vec128<bf16> v;
            for (int i = 0; i < 8; i++) v.set(i, o[c + i] * inv);
            store_vec(y + c, v);
        }
        if (c0 == 0) lse[(long)bh * T + t] = m + logf(l);
    }
}

// Shared by both backward kernels: sQ, sdO (the query side), sK, sV (the key side), the
// warp's fp32 scratch and bf16 P/dS tile, and the query tile's lse and D.
struct AttFlashBwdSmem {
    __nv_bfloat16 *sQ, *sdO, *sK, *sV, *P;
    float *S, *sL, *sD;
    __device__ explicit AttFlashBwdSmem(unsigned char* base) {
        using namespace att_flash;
        const int warp = threadIdx.x / 32;
        sQ = (bf16*)base;
        sdO = sQ + TILE_ELEMS;
        sK = sdO + TILE_ELEMS;
        sV = sK + TILE_ELEMS;
        float* scratch = (float*)(sV + TILE_ELEMS);
        S = scratch + warp * SCRATCH_FLOATS;
        bf16* ptiles = (bf16*)(scratch + WARPS * SCRATCH_FLOATS);
        P = ptiles + warp * PTILE_ELEMS;
        sL = (float*)(ptiles + WARPS * PTILE_ELEMS);
        sD = sL + TILE;
    }
    // the query tile qb: Q, dO, lse, D (rows past T: zeros)
    __device__ void load_queries(const __nv_bfloat16* qbase, const __nv_bfloat16* dbase, long ld, int C,
                                 const float* lse, const float* D, int qb, int T) {
        using namespace att_flash;
        load_tile(sQ, qbase, ld, qb * TILE, T);
        load_tile(sdO, dbase, C, qb * TILE, T);
        for (int r = threadIdx.x; r < TILE; r += THREADS) {
            const int t = qb * TILE + r;
            sL[r] = t < T ? lse[t] : 0.0f;
            sD[r] = t < T ? D[t] : 0.0f;
        }
    }
};

// dk, dv of one key tile (grid (ceil(T/64), B*NH)): warp w owns keys kb*64 + 16w ..; it walks
// the query tiles from the diagonal down, computing the transposed products S^T = K Q^T and
// dP^T = V dO^T, so each lane's row is a key and its 32 columns are queries.
__global__ void __launch_bounds__(att_flash::THREADS)
attention_flash_backward_dkdv_kernel(__nv_bfloat16* dqkv, const __nv_bfloat16* dout, const __nv_bfloat16* qkv,
                                     const float* lse, const float* D, int T, int C, int NH) {
    using namespace att_flash;
    extern __shared__ __align__(128) unsigned char att_smem[];
    AttFlashBwdSmem sm(att_smem);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, row = lane / 2, c0 = (lane % 2) * 32;
    const int kb = blockIdx.x, bh = blockIdx.y, b = bh / NH, h = bh % NH, nq = (T + TILE - 1) / TILE;
    const long ld = 3L * C;
    const bf16* base = qkv + (long)b * T * ld + h * HS;
    const bf16* dbase = dout + (long)b * T * C + h * HS;
    const int key = kb * TILE + warp * 16 + row;  // this lane's key
    const float scale = 0.125f;
    load_tile(sm.sK, base + C, ld, kb * TILE, T);
    load_tile(sm.sV, base + 2 * C, ld, kb * TILE, T);
    const bf16* Kw = sm.sK + warp * 16 * LDB;  // this warp's 16 key rows (operands reloaded per
    const bf16* Vw = sm.sV + warp * 16 * LDB;  // tile: holding them too would spill)
    FragC dk[4], dv[4];
    for (int n = 0; n < 4; n++) {
        wm::fill_fragment(dk[n], 0.0f);
        wm::fill_fragment(dv[n], 0.0f);
    }
    for (int qb = kb; qb < nq; qb++) {  // query tiles wholly above the diagonal see no key here
        __syncthreads();  // every warp is done with the previous query tile
        sm.load_queries(base, dbase, ld, C, lse + (long)bh * T, D + (long)bh * T, qb, T);
        __syncthreads();
        {
            FragA kf[4];
            load_rows(kf, Kw);
            product_abt_to(sm.S, kf, sm.sQ);  // S^T = K_w Q^T
        }
        __syncwarp();
        float p[32];
        for (int c = 0; c < 32; c++) {
            const int t = qb * TILE + c0 + c;
            p[c] = t < T && att_visible(t, key) ? expf(sm.S[row * LDF + c0 + c] * scale - sm.sL[c0 + c]) : 0.0f;
            sm.P[row * LDB + c0 + c] = __float2bfloat16(p[c]);
        }
        __syncwarp();
        product_ab_acc(dv, sm.P, sm.sdO);        // dV += P^T dO
        {
            FragA vf[4];
            load_rows(vf, Vw);
            product_abt_to(sm.S, vf, sm.sdO);  // dP^T = V_w dO^T
        }
        __syncwarp();
        for (int c = 0; c < 32; c++)
            sm.P[row * LDB + c0 + c] = __float2bfloat16(p[c] * (sm.S[row * LDF + c0 + c] - sm.sD[c0 + c]));
        __syncwarp();
        product_ab_acc(dk, sm.P, sm.sQ);         // dK += dS^T Q (times scale below)
        __syncwarp();
    }
    bf16* dkbase = dqkv + (long)b * T * ld + C + h * HS;
    add_rows(dkbase + C, ld, kb * TILE + warp * 16, T, dv, sm.S, 1.0f);
    add_rows(dkbase, ld, kb * TILE + warp * 16, T, dk, sm.S, scale);
}

// dq of one query tile (grid (ceil(T/64), B*NH), heaviest first): warp w owns queries
// qb*64 + 16w ..; it walks the key tiles up to the diagonal.
__global__ void __launch_bounds__(att_flash::THREADS)
attention_flash_backward_dq_kernel(__nv_bfloat16* dqkv, const __nv_bfloat16* dout, const __nv_bfloat16* qkv,
                                   const float* lse, const float* D, int T, int C, int NH) {
    using namespace att_flash;
    extern __shared__ __align__(128) unsigned char att_smem[];
    AttFlashBwdSmem sm(att_smem);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, row = lane / 2, c0 = (lane % 2) * 32;
    const int qb = gridDim.x - 1 - blockIdx.x, bh = blockIdx.y, b = bh / NH, h = bh % NH;
    const long ld = 3L * C;
    const bf16* base = qkv + (long)b * T * ld + h * HS;
    const int t = qb * TILE + warp * 16 + row;  // this lane's query
    const float scale = 0.125f;
    sm.load_queries(base, dout + (long)b * T * C + h * HS, ld, C, lse + (long)bh * T, D + (long)bh * T, qb, T);
    ATT_QUERY_TILE_BARRIER();
    const float row_lse = sm.sL[warp * 16 + row], row_d = sm.sD[warp * 16 + row];
    FragA qf[4], df[4];  // this warp's 16 rows of Q and dO, in registers for every key tile
    load_rows(qf, sm.sQ + warp * 16 * LDB);
    load_rows(df, sm.sdO + warp * 16 * LDB);
    FragC dq[4];
    for (int n = 0; n < 4; n++) wm::fill_fragment(dq[n], 0.0f);
    for (int kb = 0; kb <= qb; kb++) {
        __syncthreads();  // every warp is done with the previous K, V
        load_tile(sm.sK, base + C, ld, kb * TILE, T);
        load_tile(sm.sV, base + 2 * C, ld, kb * TILE, T);
        __syncthreads();
        product_abt_to(sm.S, qf, sm.sK);  // S = Q_w K^T
        __syncwarp();
        float p[32];
        for (int c = 0; c < 32; c++)
            p[c] = att_visible(t, kb * TILE + c0 + c) ? expf(sm.S[row * LDF + c0 + c] * scale - row_lse) : 0.0f;
        __syncwarp();
        product_abt_to(sm.S, df, sm.sV);  // dP = dO_w V^T
        __syncwarp();
        for (int c = 0; c < 32; c++)
            sm.P[row * LDB + c0 + c] = __float2bfloat16(p[c] * (sm.S[row * LDF + c0 + c] - row_d));
        __syncwarp();
        product_ab_acc(dq, sm.P, sm.sK);  // dQ += dS K (times scale below)
        __syncwarp();
    }
    add_rows(dqkv + (long)b * T * ld + h * HS, ld, qb * TILE + warp * 16, T, dq, sm.S, scale);
}

// ============================ host side
// The flash kernels need bf16 storage, head size 64 and 16-byte aligned rows.
inline bool attention_uses_flash(int C, int NH, const void* a, const void* b = nullptr, const void* c = nullptr) {
#if defined(ENABLE_FP32)
    (void)C, (void)NH, (void)a, (void)b, (void)c;
    return false;
#else
    return C == NH * att_flash::HS && is_aligned16(a) && (!b || is_aligned16(b)) && (!c || is_aligned16(c));
#endif
}

// Each implementation has its own entry points (the dev/cuda lab times them one by one);
// attention_forward/backward below pick one. The flash ones take bf16 pointers and need
// attention_uses_flash().
inline void attention_flash_forward(__nv_bfloat16* out, float* lse, const __nv_bfloat16* qkv, int B, int T, int C,
                                    int NH, cudaStream_t stream = 0) {
    const dim3 grid(ceil_div(T, att_flash::TILE), B * NH);
    attention_flash_forward_kernel<<<grid, att_flash::THREADS, att_flash::FWD_SMEM, stream>>>(out, lse, qkv, T, C, NH);
    CUDA_CHECK_LAUNCH();
}
inline void attention_online_forward(floatX* out, float* lse, const floatX* qkv, int B, int T, int C, int NH,
                                     cudaStream_t stream = 0) {
    attention_online_forward_kernel<<<ceil_div((long)B * NH * T, ATT_ROWS_PER_BLOCK), ATT_THREADS, 0, stream>>>(
        out, lse, qkv, B, T, C, NH);
    CUDA_CHECK_LAUNCH();
}
template <typename Tx>
inline void attention_backward_d(float* D, const Tx* dout, const Tx* out, int B, int T, int C, int NH,
                                 cudaStream_t stream) {
    attention_backward_d_kernel<<<ceil_div((long)B * NH * T, ATT_ROWS_PER_BLOCK), ATT_THREADS, 0, stream>>>(
        D, dout, out, B, T, C, NH);
    CUDA_CHECK_LAUNCH();
}
inline void attention_flash_backward(__nv_bfloat16* dqkv, float* D, const __nv_bfloat16* dout,
                                     const __nv_bfloat16* qkv, const __nv_bfloat16* out, const float* lse, int B,
                                     int T, int C, int NH, cudaStream_t stream = 0) {
    static bool smem_raised = false;  // above 48 KiB needs an opt-in per kernel
    if (!smem_raised) {
        CUDA_CHECK(cudaFuncSetAttribute(attention_flash_backward_dkdv_kernel,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, (int)att_flash::BWD_SMEM));
        CUDA_CHECK(cudaFuncSetAttribute(attention_flash_backward_dq_kernel,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, (int)att_flash::BWD_SMEM));
        smem_raised = true;
    }
    attention_backward_d(D, dout, out, B, T, C, NH, stream);
    const dim3 grid(ceil_div(T, att_flash::TILE), B * NH);
    attention_flash_backward_dkdv_kernel<<<grid, att_flash::THREADS, att_flash::BWD_SMEM, stream>>>(
        dqkv, dout, qkv, lse, D, T, C, NH);
    CUDA_CHECK_LAUNCH();
    attention_flash_backward_dq_kernel<<<grid, att_flash::THREADS, att_flash::BWD_SMEM, stream>>>(
        dqkv, dout, qkv, lse, D, T, C, NH);
    CUDA_CHECK_LAUNCH();
}
inline void attention_online_backward(floatX* dqkv, float* D, const floatX* dout, const floatX* qkv,
                                      const floatX* out, const float* lse, int B, int T, int C, int NH,
                                      cudaStream_t stream = 0) {
    attention_backward_d(D, dout, out, B, T, C, NH, stream);
    const int rows = ceil_div((long)B * NH * T, ATT_ROWS_PER_BLOCK);
    attention_online_backward_dkdv_kernel<<<rows, ATT_THREADS, 0, stream>>>(dqkv, dout, qkv, lse, D, B, T, C, NH);
    CUDA_CHECK_LAUNCH();
    attention_online_backward_dq_kernel<<<rows, ATT_THREADS, 0, stream>>>(dqkv, dout, qkv, lse, D, B, T, C, NH);
    CUDA_CHECK_LAUNCH();
}

// The trainer's attention: flash in the BF16 build at head size 64, online otherwise.
// out (B, T, C) and lse (B, NH, T) fp32, from qkv (B, T, 3C).
inline void attention_forward(floatX* out, float* lse, const floatX* qkv, int B, int T, int C, int NH,
                              cudaStream_t stream = 0) {
#if !defined(ENABLE_FP32)
    if (attention_uses_flash(C, NH, out, qkv)) return attention_flash_forward(out, lse, qkv, B, T, C, NH, stream);
#endif
    attention_online_forward(out, lse, qkv, B, T, C, NH, stream);
}

// Accumulates into dqkv (B, T, 3C). out and lse are the forward's; D is fp32 scratch of
// B*NH*T floats (reusable across layers).
inline void attention_backward(floatX* dqkv, float* D, const floatX* dout, const floatX* qkv, const floatX* out,
                               const float* lse, int B, int T, int C, int NH, cudaStream_t stream = 0) {
#if !defined(ENABLE_FP32)
    if (attention_uses_flash(C, NH, dqkv, dout, qkv))
        return attention_flash_backward(dqkv, D, dout, qkv, out, lse, B, T, C, NH, stream);
#endif
    attention_online_backward(dqkv, D, dout, qkv, out, lse, B, T, C, NH, stream);
}
