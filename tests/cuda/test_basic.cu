// Encoder, residual, GELU, AdamW and global norm kernels against cpu/*.h, on odd shapes.
#include "tests/cuda/cuda_test.h"

#include "cpu/adamw.h"
#include "cpu/encoder.h"
#include "cpu/gelu.h"
#include "cpu/global_norm.h"
#include "cpu/residual.h"
#include "kernels/adamw.cuh"
#include "kernels/encoder.cuh"
#include "kernels/gelu.cuh"
#include "kernels/global_norm.cuh"
#include "kernels/residual.cuh"

static void test_encoder(int B, int T, int C, int V) {
    Rng r(1 + C);
    const int N = B * T;
    Vd wte = rounded(r.vec((size_t)V * C, -1, 1)), wpe = rounded(r.vec((size_t)T * C, -1, 1));
    std::vector<int> inp(N);
    for (int i = 0; i < N; i++) inp[i] = (int)(r.next() % 7) * (V / 7);  // repeated tokens
    floatX *d_wte = to_dev<floatX>(wte), *d_wpe = to_dev<floatX>(wpe), *d_out = dev_alloc<floatX>((size_t)N * C);
    int* d_inp = to_dev_int(inp);
    encoder_forward(d_out, d_inp, d_wte, d_wpe, B, T, C);
    Vd want((size_t)N * C);
    noln::encoder_forward(want.data(), inp.data(), wte.data(), wpe.data(), B, T, C);
    CHECK_CLOSE(from_dev(d_out, (size_t)N * C), want, tol(2), "encoder_forward");

    // backward accumulates into existing gradients
    Vd dout = rounded(r.vec((size_t)N * C, -1, 1));
    Vd dwte = rounded(r.vec((size_t)V * C, -1, 1)), dwpe = rounded(r.vec((size_t)T * C, -1, 1));
    floatX *d_dout = to_dev<floatX>(dout), *d_dwte = to_dev<floatX>(dwte), *d_dwpe = to_dev<floatX>(dwpe);
    EncoderBuckets bk;
    bk.build(inp.data(), N);
    int *d_tok = to_dev_int(bk.tokens), *d_start = to_dev_int(bk.start), *d_pos = to_dev_int(bk.pos);
    encoder_backward(d_dwte, d_dwpe, d_dout, d_tok, d_start, d_pos, (int)bk.tokens.size(), B, T, C);
    noln::encoder_backward(dwte.data(), dwpe.data(), dout.data(), inp.data(), B, T, C);
    // a sum of up to N bf16 values rounded once into a bf16 gradient
    CHECK_CLOSE(from_dev(d_dwte, (size_t)V * C), dwte, tol(4), "encoder_backward dwte");
    CHECK_CLOSE(from_dev(d_dwpe, (size_t)T * C), dwpe, tol(4), "encoder_backward dwpe");
    // deterministic: a second run from the same start gives the same bits
    std::vector<floatX> reset(wte.size());
    for (size_t i = 0; i < reset.size(); i++) reset[i] = from_float<floatX>(0.0f);
    CUDA_CHECK(cudaMemcpy(d_dwte, reset.data(), reset.size() * sizeof(floatX), cudaMemcpyHostToDevice));
    encoder_backward(d_dwte, d_dwpe, d_dout, d_tok, d_start, d_pos, (int)bk.tokens.size(), B, T, C);
    encoder_backward(d_dwte, d_dwpe, d_dout, d_tok, d_start, d_pos, (int)bk.tokens.size(), B, T, C);
    Vd b = from_dev(d_dwte, (size_t)V * C);
    CUDA_CHECK(cudaMemcpy(d_dwte, reset.data(), reset.size() * sizeof(floatX), cudaMemcpyHostToDevice));
    encoder_backward(d_dwte, d_dwpe, d_dout, d_tok, d_start, d_pos, (int)bk.tokens.size(), B, T, C);
    encoder_backward(d_dwte, d_dwpe, d_dout, d_tok, d_start, d_pos, (int)bk.tokens.size(), B, T, C);
    CHECK(from_dev(d_dwte, (size_t)V * C) == b, "encoder_backward is not bitwise reproducible");
    for (void* p : {(void*)d_wte, (void*)d_wpe, (void*)d_out, (void*)d_inp, (void*)d_dout, (void*)d_dwte,
                    (void*)d_dwpe, (void*)d_tok, (void*)d_start, (void*)d_pos})
        cudaFree(p);
}

static void test_residual_gelu(long N, int offset) {
    Rng r(7 + N);
    Vd a = rounded(r.vec(N + offset, -3, 3)), b = rounded(r.vec(N + offset, -3, 3));
    floatX *d_a = to_dev<floatX>(a), *d_b = to_dev<floatX>(b), *d_o = dev_alloc<floatX>(N + offset);
    // offset > 0 makes the pointers unaligned, exercising the scalar path
    residual_forward(d_o + offset, d_a + offset, d_b + offset, N);
    Vd want(N);
    noln::residual_forward(want.data(), a.data() + offset, b.data() + offset, N);
    Vd got = from_dev(d_o + offset, N);
    CHECK_CLOSE(got, want, tol(2), "residual_forward");

    Vd dout = rounded(r.vec(N, -1, 1)), da = rounded(r.vec(N, -1, 1)), db = rounded(r.vec(N, -1, 1));
    floatX *d_dout = to_dev<floatX>(dout), *d_da = to_dev<floatX>(da), *d_db = to_dev<floatX>(db);
    residual_backward(d_da, d_db, d_dout, N);
    noln::residual_backward(da.data(), db.data(), dout.data(), N);
    CHECK_CLOSE(from_dev(d_da, N), da, tol(2), "residual_backward da");
    CHECK_CLOSE(from_dev(d_db, N), db, tol(2), "residual_backward db");

    gelu_forward(d_o + offset, d_a + offset, N);
    noln::gelu_forward(want.data(), a.data() + offset, N);
    CHECK_CLOSE(from_dev(d_o + offset, N), want, tol(2), "gelu_forward");
    Vd dinp = rounded(r.vec(N + offset, -1, 1));
    floatX* d_dinp = to_dev<floatX>(dinp);
    gelu_backward(d_dinp + offset, d_a + offset, d_dout, N);
    Vd dwant(dinp.begin() + offset, dinp.end());
    noln::gelu_backward(dwant.data(), a.data() + offset, dout.data(), N);
    CHECK_CLOSE(from_dev(d_dinp + offset, N), dwant, tol(2), "gelu_backward");
    // overwrite (a first write): whatever dinp held, NaN here, is not read
    CUDA_CHECK(cudaMemset(d_dinp, 0xFF, (N + offset) * sizeof(floatX)));
    gelu_backward(d_dinp + offset, d_a + offset, d_dout, N, noln::Gelu::Tanh, 0, true);
    Vd fresh(N, 0.0);
    noln::gelu_backward(fresh.data(), a.data() + offset, dout.data(), N);
    CHECK_CLOSE(from_dev(d_dinp + offset, N), fresh, tol(2), "gelu_backward overwrite");
    // the exact erf form (--gelu erf) against the CPU's double-precision erf
    gelu_forward(d_o + offset, d_a + offset, N, noln::Gelu::Erf);
    noln::gelu_forward(want.data(), a.data() + offset, N, noln::Gelu::Erf);
    CHECK_CLOSE(from_dev(d_o + offset, N), want, tol(2), "gelu_forward erf");
    floatX* d_dinp2 = to_dev<floatX>(dinp);
    gelu_backward(d_dinp2 + offset, d_a + offset, d_dout, N, noln::Gelu::Erf);
    Vd dwant2(dinp.begin() + offset, dinp.end());
    noln::gelu_backward(dwant2.data(), a.data() + offset, dout.data(), N, noln::Gelu::Erf);
    CHECK_CLOSE(from_dev(d_dinp2 + offset, N), dwant2, tol(2), "gelu_backward erf");
    cudaFree(d_dinp2);
    for (void* p : {(void*)d_a, (void*)d_b, (void*)d_o, (void*)d_dout, (void*)d_da, (void*)d_db, (void*)d_dinp})
        cudaFree(p);
}

static void test_adamw(size_t n) {
    Rng r(11);
    Vd p = rounded(r.vec(n, -1, 1)), g = rounded(r.vec(n, -0.1, 0.1));
    Vd m = r.vec(n, -0.01, 0.01), v = r.vec(n, 0, 1e-3);
    const double lr = 1e-2, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1, gs = 0.5;
    const int t = 3;
    floatX *d_p = to_dev<floatX>(p), *d_g = to_dev<floatX>(g);
    float *d_m = to_dev<float>(m), *d_v = to_dev<float>(v);
    float* d_master = IS_FP32 ? nullptr : to_dev<float>(p);
    // the oracle sees the fp32 moments the kernel starts from
    Vd m32 = from_dev(d_m, n), v32 = from_dev(d_v, n), pw = p;
    adamw_update(d_p, d_master, d_g, d_m, d_v, n, (float)lr, (float)b1, (float)b2, (float)eps, (float)wd,
                 (float)gs, t, 1234);
    noln::adamw_update(pw.data(), g.data(), m32.data(), v32.data(), n, lr, b1, b2, eps, wd, gs, t);
    CHECK_CLOSE(from_dev(d_m, n), m32, 1e-6, "adamw m");
    CHECK_CLOSE(from_dev(d_v, n), v32, 1e-6, "adamw v");
    Vd got = from_dev(d_p, n);
    if (IS_FP32) {
        CHECK_CLOSE(got, pw, 1e-6, "adamw params");
    } else {
        Vd master = from_dev(d_master, n);
        CHECK_CLOSE(master, pw, 1e-6, "adamw master");
        // the bf16 parameter is one of the two bf16 neighbours of its master
        int bad = 0;
        for (size_t i = 0; i < n; i++) {
            const float x = (float)master[i];
            uint32_t bits;
            memcpy(&bits, &x, 4);
            uint32_t lo = bits & 0xFFFF0000u, hi = lo + 0x10000u;
            float flo, fhi;
            memcpy(&flo, &lo, 4);
            memcpy(&fhi, &hi, 4);
            if ((float)got[i] != flo && (float)got[i] != fhi) bad++;
        }
        CHECK(bad == 0, "adamw: %d bf16 params are not a neighbour of their master", bad);
    }
    for (void* q : {(void*)d_p, (void*)d_g, (void*)d_m, (void*)d_v, (void*)d_master}) cudaFree(q);
}

// Stochastic rounding is unbiased: the mean of many roundings of x approaches x, where
// round-to-nearest would stay a fixed distance away.
static void test_stochastic_rounding() {
    if (IS_FP32) return;
    const size_t n = 1 << 16;
    const float x = 1.0f + 3.0f / 1024;  // 0.375 of the way from 1 to the next bf16 (1 + 1/128)
    Vd p(n, 0.0), g(n, 0.0), m(n, 0.0), v(n, 0.0), master(n, x);
    floatX *d_p = to_dev<floatX>(p), *d_g = to_dev<floatX>(g);
    float *d_m = to_dev<float>(m), *d_v = to_dev<float>(v), *d_master = to_dev<float>(master);
    adamw_update(d_p, d_master, d_g, d_m, d_v, n, 0.0f, 0.9f, 0.95f, 1e-8f, 0.0f, 1.0f, 1, 99);
    Vd got = from_dev(d_p, n);
    double mean = 0;
    for (double y : got) mean += y;
    mean /= n;
    // binomial std of the mean: (1/128) sqrt(0.375*0.625/n) ~ 1.5e-5; allow 6 sigma
    CHECK(std::fabs(mean - x) < 1e-4, "stochastic rounding biased: mean %.7f vs %.7f", mean, x);
    for (void* q : {(void*)d_p, (void*)d_g, (void*)d_m, (void*)d_v, (void*)d_master}) cudaFree(q);
}

static void test_global_norm() {
    Rng r(5);
    const size_t n1 = 1000003, n2 = 77;
    Vd a = rounded(r.vec(n1, -1, 1)), b = rounded(r.vec(n2, -2, 2));
    floatX *d_a = to_dev<floatX>(a), *d_b = to_dev<floatX>(b);
    float* d_part = dev_alloc<float>(2 * GN_BLOCKS);
    float* d_out = dev_alloc<float>(1);
    global_norm_squared_partial(d_part, 0, d_a, n1);
    global_norm_squared_partial(d_part, 1, d_b, n2);
    global_norm_squared_finish(d_out, d_part, 2);
    const double want = noln::global_norm_squared(a.data(), n1) + noln::global_norm_squared(b.data(), n2);
    const double got = from_dev(d_out, 1)[0];
    // fp32 accumulation over 1e6 terms, in a tree: relative error well under 1e-5
    CHECK(std::fabs(got - want) <= 1e-5 * want, "global norm^2 %.9g vs %.9g", got, want);
    for (void* q : {(void*)d_a, (void*)d_b, (void*)d_part, (void*)d_out}) cudaFree(q);
}

int main() {
    test_encoder(3, 5, 37, 53);
    test_encoder(2, 4, 64, 11);
    test_residual_gelu(1001, 0);
    test_residual_gelu(333, 1);
    test_residual_gelu(4096, 0);
    test_adamw(1037);
    test_stochastic_rounding();
    test_global_norm();
    return summary();
}
