// Attention, the fused classifier (softmax + cross-entropy + dlogits) and the aux loss
// against cpu/attention.h, cpu/crossentropy.h and cpu/aux_loss.h: attention at GPT-2's real
// head shapes (hs 64, NH 12/16/20/25) and at odd ones, the others on small odd shapes.
#include "tests/cuda/cuda_test.h"
#include "tests/cuda/attention_ref.h"

#include <algorithm>

#include "cpu/aux_loss.h"
#include "cpu/crossentropy.h"
#include "kernels/attention.cuh"
#include "kernels/aux_loss.cuh"
#include "kernels/classifier.cuh"

// Scale both by the largest |want| so that small entries are judged against the row's scale.
static void check_scaled(const Vd& got, const Vd& want, double t, const char* what) {
    double s = 0;
    for (double x : want) s = std::max(s, std::fabs(x));
    if (s == 0) s = 1;
    Vd g(got), w(want);
    for (auto& x : g) x /= s;
    for (auto& x : w) x /= s;
    CHECK_CLOSE(g, w, t, what);
}

// The trainer's attention (kernels/attention.cuh: the flash kernels in BF16 at head size 64,
// the fp32 online-softmax kernels otherwise) against the CPU op: out, the log-sum-exp, and
// the backward accumulated into a non-zero dqkv; then the backward again from zero, twice,
// byte for byte.
static void test_attention(int B, int T, int C, int NH) {
    const AttentionCase k = attention_case(B, T, C, NH, B * 100 + T * 10 + C);
    const size_t N = (size_t)B * T, nlse = (size_t)B * NH * T;
    floatX *d_qkv = to_dev<floatX>(k.qkv), *d_out = dev_alloc<floatX>(N * C);
    float *d_lse = dev_alloc<float>(nlse), *d_D = dev_alloc<float>(nlse);
    attention_forward(d_out, d_lse, d_qkv, B, T, C, NH);
    const Vd out = from_dev(d_out, N * C), lse = from_dev(d_lse, nlse);
    floatX *d_dout = to_dev<floatX>(k.dout), *d_dqkv = to_dev<floatX>(k.dqkv0);
    attention_backward(d_dqkv, d_D, d_dout, d_qkv, d_out, d_lse, B, T, C, NH);
    const Vd dqkv = from_dev(d_dqkv, N * 3 * C);
    char what[64];
    snprintf(what, sizeof what, "attention (%s)", attention_uses_flash(C, NH, d_qkv) ? "flash" : "online");
    attention_check(k, what, &out, &lse, &dqkv, true);
    // no atomics: a second backward from the same start gives the same bits
    std::vector<floatX> a1(N * 3 * C), a2(N * 3 * C);
    CUDA_CHECK(cudaMemcpy(a1.data(), d_dqkv, a1.size() * sizeof(floatX), cudaMemcpyDeviceToHost));
    upload_to(d_dqkv, k.dqkv0);
    attention_backward(d_dqkv, d_D, d_dout, d_qkv, d_out, d_lse, B, T, C, NH);
    CUDA_CHECK(cudaMemcpy(a2.data(), d_dqkv, a2.size() * sizeof(floatX), cudaMemcpyDeviceToHost));
    CHECK(memcmp(a1.data(), a2.data(), a1.size() * sizeof(floatX)) == 0,
          "%s backward B%d T%d C%d NH%d is not bitwise reproducible", what, B, T, C, NH);
    for (void* q : {(void*)d_qkv, (void*)d_out, (void*)d_lse, (void*)d_D, (void*)d_dout, (void*)d_dqkv}) cudaFree(q);
}

static void test_classifier(int N, int V, int Vp) {
    Rng r(N + V);
    Vd logits = rounded(r.vec((size_t)N * Vp, -4, 4));
    std::vector<int> tg(N);
    for (int i = 0; i < N; i++) tg[i] = (i % 4 == 3) ? -1 : (int)(r.next() % V);  // some masked
    floatX* d_l = to_dev<floatX>(logits);
    int* d_tg = to_dev_int(tg);
    float* d_loss = dev_alloc<float>(N);
    classifier(d_loss, d_l, d_tg, 0.0f, false, N, V, Vp);
    Vd probs((size_t)N * Vp), losses(N), dl((size_t)N * Vp);
    noln::softmax_crossentropy_forward(probs.data(), losses.data(), logits.data(), tg.data(), N, V, Vp);
    char what[128];
    snprintf(what, sizeof what, "classifier losses N%d V%d Vp%d", N, V, Vp);
    CHECK_CLOSE(from_dev(d_loss, N), losses, 2e-5, what);  // fp32 in both precisions
    snprintf(what, sizeof what, "classifier leaves logits when write_dlogits=false");
    CHECK(from_dev(d_l, (size_t)N * Vp) == logits, "%s", what);
    const double dloss = 1.0 / 3;
    classifier(nullptr, d_l, d_tg, (float)dloss, true, N, V, Vp);
    noln::softmax_crossentropy_backward(dl.data(), probs.data(), tg.data(), dloss, N, V, Vp);
    snprintf(what, sizeof what, "classifier dlogits N%d V%d Vp%d", N, V, Vp);
    check_scaled(from_dev(d_l, (size_t)N * Vp), dl, tol(2), what);
    for (void* q : {(void*)d_l, (void*)d_tg, (void*)d_loss}) cudaFree(q);
}

static void test_aux(int B, int T, int C) {
    const int N = B * T, eot = 9;
    Rng r(B + T + C);
    Vd h = r.vec((size_t)N * C, -1, 1);
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) h[(size_t)i * C + c] *= 0.5 + (i * 7 % 5);
    h = rounded(h);
    std::vector<int> in(N);
    for (int i = 0; i < N; i++) in[i] = (r.next() % 4 == 0) ? eot : (int)(r.next() % 20);
    floatX* d_h = to_dev<floatX>(h);
    int* d_in = to_dev_int(in);
    float *d_sigma = dev_alloc<float>(N), *d_out = dev_alloc<float>(2);
    const double lambda = 0.1;
    aux_loss_forward(d_sigma, d_out, d_h, d_in, B, T, C, eot, (float)lambda);
    Vd sigma(N);
    double S;
    const double loss = noln::aux_loss_forward(sigma.data(), &S, h.data(), in.data(), B, T, C, eot, lambda);
    char what[128];
    snprintf(what, sizeof what, "aux sigma B%d T%d C%d", B, T, C);
    CHECK_CLOSE(from_dev(d_sigma, N), sigma, 1e-5, what);
    snprintf(what, sizeof what, "aux S and loss B%d T%d C%d", B, T, C);
    Vd got = from_dev(d_out, 2);
    // the loss is a small difference of fp32 terms: judged relative to its own size
    if (loss > 0) CHECK_CLOSE((Vd{got[0], got[1] / loss}), (Vd{S, 1.0}), 1e-4, what);
    else CHECK_CLOSE((Vd{got[0], got[1]}), (Vd{S, 0.0}), 1e-6, what);  // one token: sigma == S

    Vd dh = rounded(r.vec((size_t)N * C, -0.01, 0.01));
    floatX* d_dh = to_dev<floatX>(dh);
    const double scale = 0.5;
    aux_loss_backward(d_dh, d_h, d_sigma, d_out, (float)(scale * lambda), B, T, C);
    noln::aux_loss_backward(dh.data(), h.data(), sigma.data(), S, scale * lambda, B, T, C);
    snprintf(what, sizeof what, "aux backward B%d T%d C%d", B, T, C);
    check_scaled(from_dev(d_dh, (size_t)N * C), dh, tol(2), what);
    for (void* q : {(void*)d_h, (void*)d_in, (void*)d_sigma, (void*)d_out, (void*)d_dh}) cudaFree(q);
}

// With arguments B T C NH: that attention case only (timing one shape, a GPU run by hand).
int main(int argc, char** argv) {
    if (argc == 5) {
        test_attention(atoi(argv[1]), atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
        return summary();
    }
    // odd head sizes: the online kernels in both builds
    test_attention(2, 5, 24, 3);    // hs 8
    test_attention(1, 37, 66, 2);   // T > 32, hs 33 > one warp
    test_attention(3, 1, 12, 4);    // T = 1
    test_attention(2, 37, 100, 4);  // hs 25
    test_attention(2, 17, 37, 1);   // hs 37
    test_attention(2, 9, 300, 2);   // hs 150: two slabs of 128 dimensions
    // GPT-2's head size 64 (the flash kernels in BF16): every NH at short T, partial and
    // whole 64-row tiles, and three tiles (the loops over tiles, the causal skipping).
    // T = 1024 costs 15-45 s per case here: suite 70 runs those by name (B T C NH).
    for (int nh : {12, 16, 20, 25})
        for (int t : {1, 37, 64}) test_attention(2, t, 64 * nh, nh);
    test_attention(2, 130, 64 * 12, 12);
    test_classifier(7, 37, 40);
    test_classifier(5, 1000, 1024);
    test_classifier(3, 64, 64);
    test_aux(3, 6, 37);
    test_aux(2, 40, 64);
    test_aux(1, 1, 17);  // no position qualifies: S falls back to the mean over all
    return summary();
}
