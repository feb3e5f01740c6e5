// cuBLASLt linear layers (kernels/matmul.cuh) against cpu/matmul.h: plain, with bias, with
// the GELU epilogue, writing a column slice of a wider buffer (the split QKV), and the
// backward (dinp, dw, dbias accumulated).
#include "tests/cuda/cuda_test.h"

#include "cpu/gelu.h"
#include "cpu/matmul.h"
#include "kernels/matmul.cuh"

static void test_linear(int N, int IN, int OUT, int ldo, int col0, bool bias, bool gelu,
                        GeluImpl gi = GeluImpl::Kernels) {
    Rng r(N * 7 + IN * 3 + OUT + col0);
    Vd inp = rounded(r.vec((size_t)N * IN, -1, 1)), w = rounded(r.vec((size_t)OUT * IN, -0.5, 0.5));
    Vd b = rounded(r.vec(OUT, -1, 1));
    Vd out0 = rounded(r.vec((size_t)N * ldo, -1, 1));  // columns outside the slice must survive
    floatX *d_inp = to_dev<floatX>(inp), *d_w = to_dev<floatX>(w), *d_b = to_dev<floatX>(b);
    floatX *d_out = to_dev<floatX>(out0), *d_pre = to_dev<floatX>(out0);
    if (gelu)
        matmul_forward_gelu(d_out + col0, d_pre + col0, ldo, d_inp, d_w, bias ? d_b : nullptr, N, IN, OUT, gi);
    else
        matmul_forward(d_out + col0, ldo, d_inp, d_w, bias ? d_b : nullptr, N, IN, OUT);
    Vd want = out0;
    noln::matmul_forward(want.data() + col0, ldo, inp.data(), w.data(), bias ? b.data() : nullptr, N, IN, OUT);
    char what[160];
    if (gelu) {
        Vd pre = want;
        // the epilogue applies GELU to the fp32 accumulator, before any rounding
        for (int n = 0; n < N; n++) noln::gelu_forward(want.data() + (size_t)n * ldo + col0, pre.data() + (size_t)n * ldo + col0, OUT);
        snprintf(what, sizeof what, "matmul_forward_gelu pre N%d IN%d OUT%d", N, IN, OUT);
        CHECK_CLOSE(from_dev(d_pre, (size_t)N * ldo), pre, tol(2), what);
    }
    snprintf(what, sizeof what, "matmul_forward N%d IN%d OUT%d ldo%d col%d bias%d gelu%d%s", N, IN, OUT, ldo, col0,
             (int)bias, (int)gelu, gelu && gi == GeluImpl::Epilogue ? " (epilogue)" : "");
    CHECK_CLOSE(from_dev(d_out, (size_t)N * ldo), want, tol(2), what);

    Vd dout = rounded(r.vec((size_t)N * ldo, -1, 1));
    Vd dinp = rounded(r.vec((size_t)N * IN, -1, 1)), dw = rounded(r.vec((size_t)OUT * IN, -1, 1));
    Vd db = rounded(r.vec(OUT, -1, 1));
    floatX *d_dout = to_dev<floatX>(dout), *d_dinp = to_dev<floatX>(dinp), *d_dw = to_dev<floatX>(dw);
    floatX* d_db = to_dev<floatX>(db);
    float* d_scr = dev_alloc<float>(bias_backward_scratch_floats(N, OUT));
    matmul_backward(d_dinp, d_dw, bias ? d_db : nullptr, d_dout + col0, ldo, d_inp, d_w, d_scr, N, IN, OUT);
    noln::matmul_backward(dinp.data(), dw.data(), bias ? db.data() : nullptr, dout.data() + col0, ldo, inp.data(),
                          w.data(), N, IN, OUT);
    // sums of up to max(N, OUT) bf16 products of size <= 1, rounded once into bf16
    snprintf(what, sizeof what, "matmul_backward dinp N%d IN%d OUT%d", N, IN, OUT);
    CHECK_CLOSE(from_dev(d_dinp, (size_t)N * IN), dinp, tol(3), what);
    snprintf(what, sizeof what, "matmul_backward dw N%d IN%d OUT%d", N, IN, OUT);
    CHECK_CLOSE(from_dev(d_dw, (size_t)OUT * IN), dw, tol(3), what);
    snprintf(what, sizeof what, "matmul_backward dbias N%d OUT%d", N, OUT);
    CHECK_CLOSE(from_dev(d_db, OUT), db, tol(3), what);
    // dinp_overwrite (beta = 0, a first write): whatever dinp held, NaN here, is not read
    CUDA_CHECK(cudaMemset(d_dinp, 0xFF, (size_t)N * IN * sizeof(floatX)));
    matmul_backward(d_dinp, d_dw, nullptr, d_dout + col0, ldo, d_inp, d_w, d_scr, N, IN, OUT, true);
    Vd fresh((size_t)N * IN, 0.0), dw_unused((size_t)OUT * IN, 0.0);
    noln::matmul_backward(fresh.data(), dw_unused.data(), (double*)nullptr, dout.data() + col0, ldo, inp.data(),
                          w.data(), N, IN, OUT);
    snprintf(what, sizeof what, "matmul_backward dinp_overwrite N%d IN%d OUT%d", N, IN, OUT);
    CHECK_CLOSE(from_dev(d_dinp, (size_t)N * IN), fresh, tol(3), what);
    for (void* q : {(void*)d_inp, (void*)d_w, (void*)d_b, (void*)d_out, (void*)d_pre, (void*)d_dout, (void*)d_dinp,
                    (void*)d_dw, (void*)d_db, (void*)d_scr})
        cudaFree(q);
}

int main() {
    test_linear(21, 37, 29, 29, 0, false, false);
    test_linear(21, 37, 29, 29, 0, true, false);
    test_linear(300, 33, 17, 17, 0, true, false);  // N over one bias chunk
    // split QKV: [Q K] = columns 0..2C-1 and V = columns 2C..3C-1 of a (N, 3C) buffer
    const int C = 20;
    test_linear(15, C, 2 * C, 3 * C, 0, true, false);
    test_linear(15, C, C, 3 * C, 2 * C, true, false);
    test_linear(13, 24, 40, 40, 0, true, true);
    // the epilogue: accepted at ld 40 (aux ld divisible by 8)...
    long fb = g_gelu_epilogue_fallbacks;
    test_linear(13, 24, 40, 40, 0, true, true, GeluImpl::Epilogue);
    test_linear(13, 24, 40, 40, 0, false, true, GeluImpl::Epilogue);
    CHECK(g_gelu_epilogue_fallbacks == fb, "GELU epilogue refused at aux ld 40");
    // ... refused at ld 36 (cuBLASLt wants aux ld % 8 == 0): our kernels run instead, same result
    test_linear(13, 24, 36, 36, 0, true, true, GeluImpl::Epilogue);
    CHECK(g_gelu_epilogue_fallbacks == fb + 1, "GELU epilogue at aux ld 36: %ld fallbacks, want 1",
          g_gelu_epilogue_fallbacks - fb);
    // one heuristic query per GEMM shape: the same linear layer again asks cuBLASLt nothing
    {
        floatX *i = dev_alloc<floatX>(16 * 32), *w = dev_alloc<floatX>(48 * 32), *o = dev_alloc<floatX>(16 * 48);
        matmul_forward(o, 48, i, w, nullptr, 16, 32, 48);
        const long q = g_lt_heuristic_queries;
        for (int r = 0; r < 5; r++) matmul_forward(o, 48, i, w, nullptr, 16, 32, 48);
        CHECK(g_lt_heuristic_queries == q, "5 repeats of one GEMM ran the heuristic %ld times", g_lt_heuristic_queries - q);
        // a column slice 16 bytes off: another alignment promise, so another plan
        matmul_forward(o + 16 / sizeof(floatX), 48, i, w, nullptr, 15, 32, 40);
        CHECK(g_lt_heuristic_queries == q + 1, "a new shape did not query the heuristic");
        for (void* p : {(void*)i, (void*)w, (void*)o}) cudaFree(p);
    }
    // alignment promises follow the pointer and the column stride, capped at the default 256
    CHECK(lt_alignment((void*)0x1000, 64, 2) == 128 && lt_alignment((void*)0x1050, 3 * 32, 2) == 16 &&
              lt_alignment((void*)0x1000, 1024, 4) == 256 && lt_alignment((void*)0x1002, 37, 2) == 2,
          "lt_alignment");
    matmul_destroy();
    return summary();
}
