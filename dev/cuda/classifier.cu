// The kernel lab's classifier: one training step's softmax + cross-entropy forward (losses)
// and backward (dlogits written over the logits), every version validated against
// cpu/crossentropy.h, then timed on a GPU. Rows B*T, vocabulary V = 50257 padded to 50304
// (GPT-2's; -n and -s are ignored).
//   ./classifier [VERSION|all] [-b B] [-t T] [-r REPEATS] [--validate-only]
// v1: before issue 12 (dev/cuda/classifier_v1.cuh): scalar loads, the backward reduces the
//     row again: three passes over the logits per step
// v2: kernels/classifier.cuh: 128-bit chunks, the forward keeps the log-sum-exp, the
//     backward reads each logit once and writes it once: two passes
#include "cpu/crossentropy.h"
#include "dev/cuda/classifier_v1.cuh"
#include "dev/cuda/lab.h"

static const char* const NAMES[] = {"", "v1 scalar, 3 passes (before issue 12)", "v2 128-bit, lse kept, 2 passes"};

int main(int argc, char** argv) {
    const LabArgs a = lab_args(argc, argv, 2, "  1  scalar, three passes (before issue 12)\n  2  128-bit, two passes (the trainer's)\n");
    const int N = a.B * a.T, V = 50257, Vp = 50304;
    const size_t NV = (size_t)N * Vp;
    const LabDevice dev;
    printf("classifier [%s] on %s: N=%d rows (B=%d T=%d), V=%d Vp=%d\n", PRECISION_NAME, dev.name, N, a.B, a.T, V, Vp);
    Rng r(11 + N);
    Vd logits = rounded(r.vec(NV, -4, 4));
    std::vector<int> tg(N);
    for (int i = 0; i < N; i++) tg[i] = i % 7 == 3 ? -1 : (int)(r.next() % V);
    Vd probs(NV), losses(N), dl(NV);
    const double dloss = 1.0 / N;
    noln::softmax_crossentropy_forward(probs.data(), losses.data(), logits.data(), tg.data(), N, V, Vp);
    noln::softmax_crossentropy_backward(dl.data(), probs.data(), tg.data(), dloss, N, V, Vp);
    std::vector<floatX> host(NV);
    for (size_t i = 0; i < NV; i++) host[i] = from_float<floatX>((float)logits[i]);
    floatX* d_l = dev_alloc<floatX>(NV);
    int* d_tg = to_dev_int(tg);
    float *d_loss = dev_alloc<float>(N), *d_lse = dev_alloc<float>(N);
    auto reset = [&] { CUDA_CHECK(cudaMemcpy(d_l, host.data(), NV * sizeof(floatX), cudaMemcpyHostToDevice)); };
    auto run = [&](int v) {
        if (v == 1) {
            classifier_v1(d_loss, d_l, d_tg, 0.0f, false, N, V, Vp);
            classifier_v1(nullptr, d_l, d_tg, (float)dloss, true, N, V, Vp);
        } else {
            classifier(d_loss, d_l, d_tg, 0.0f, false, N, V, Vp, d_lse);
            classifier(nullptr, d_l, d_tg, (float)dloss, true, N, V, Vp, d_lse, true);
        }
    };
    const std::vector<int> passed = lab_validate(a, 2, [&](int v) {
        reset();
        CUDA_CHECK(cudaMemset(d_loss, 0xFF, N * sizeof(float)));
        run(v);
        LAB_CLOSE(from_dev(d_loss, N), losses, 2e-5, NAMES[v], "losses");
        // dlogits judged against the largest |reference| (they are O(1/N))
        const Vd got = from_dev(d_l, NV);
        double m = 0, e = 0;
        for (size_t i = 0; i < NV; i++) {
            m = std::max(m, std::fabs(dl[i]));
            e = std::max(e, std::fabs(got[i] - dl[i]));
        }
        CHECK(e <= tol(2) * m, "%s: dlogits max err %.3g of max |ref| %.3g", NAMES[v], e, m);
        printf("  %s: dlogits max err %.3g (%.2g of max |ref|)\n", NAMES[v], e, e / m);
    });
    if (lab_skip_timing(a, dev)) return summary();
    // the least a step must move: read the logits once, write the gradient once
    const double bytes = 2.0 * sizeof(floatX) * NV + 8.0 * N, flops = 13.0 * NV;
    // each repeat overwrites the logits with their gradient; the values stay finite, and
    // the work per launch does not depend on them
    lab_time_part(dev, a, "forward + backward", flops, bytes, passed, NAMES, run);
    return summary();
}
