// The kernel lab's token + position embedding, forward (out = wte[token] + wpe[t]) and
// backward (dwte, dwpe accumulated, deterministic through the token buckets), every version
// validated against cpu/encoder.h, then timed on a GPU. Rows B*T of C = NH*HS channels,
// GPT-2's vocabulary (50257 tokens; wte has the trainer's 50304 padded rows). A quarter of
// the positions hold one of 16 frequent tokens (as in text, where a few ids are common:
// their buckets are long), the rest a uniform draw.
//   ./encoder [VERSION|all] [-b B] [-t T] [-n NH] [-s HS] [-r REPEATS] [--validate-only]
// v1: before issue 12 (dev/cuda/encoder_v1.cuh): one element per thread, scalar 16-bit accesses
// v2: kernels/encoder.cuh: one 16-byte chunk per thread, 128-bit accesses when aligned
#include "cpu/encoder.h"
#include "dev/cuda/encoder_v1.cuh"
#include "dev/cuda/lab.h"

static const char* const NAMES[] = {"", "v1 scalar (before issue 12)", "v2 128-bit chunks (kernels/)"};

int main(int argc, char** argv) {
    const LabArgs a = lab_args(argc, argv, 2, "  1  scalar (before issue 12)\n  2  128-bit chunks (the trainer's)\n");
    const int B = a.B, T = a.T, N = B * T, C = a.NH * a.hs, V = 50257, Vp = 50304;
    const size_t NC = (size_t)N * C, VC = (size_t)Vp * C, TC = (size_t)T * C;
    const LabDevice dev;
    printf("encoder [%s] on %s: N=%d rows (B=%d T=%d), C=%d, V=%d (wte rows %d)\n", PRECISION_NAME, dev.name, N, B, T,
           C, V, Vp);
    Rng r(3 + C);
    std::vector<int> inp(N);
    for (int i = 0; i < N; i++) inp[i] = r.next() % 4 == 0 ? (int)(r.next() % 16) * 97 : (int)(r.next() % V);
    Vd wte = rounded(lab_random(VC, -1, 1, 1)), wpe = rounded(lab_random(TC, -1, 1, 2));
    Vd dout = rounded(lab_random(NC, -1, 1, 3));
    // the backward accumulates onto these
    Vd dwte0 = rounded(lab_random(VC, -1, 1, 4)), dwpe0 = rounded(lab_random(TC, -1, 1, 5));
    Vd out(NC), dwte = dwte0, dwpe = dwpe0;
    noln::encoder_forward(out.data(), inp.data(), wte.data(), wpe.data(), B, T, C);
    noln::encoder_backward(dwte.data(), dwpe.data(), dout.data(), inp.data(), B, T, C);
    EncoderBuckets bk;  // built on the host from the inputs, as the trainer does
    bk.build(inp.data(), N);
    const int nb = (int)bk.tokens.size();
    int *d_inp = to_dev_int(inp), *d_tok = to_dev_int(bk.tokens), *d_start = to_dev_int(bk.start),
        *d_pos = to_dev_int(bk.pos);
    floatX *d_wte = to_dev<floatX>(wte), *d_wpe = to_dev<floatX>(wpe), *d_out = dev_alloc<floatX>(NC);
    floatX *d_dout = to_dev<floatX>(dout), *d_dwte = dev_alloc<floatX>(VC), *d_dwpe = dev_alloc<floatX>(TC);
    floatX *d_dwte0 = to_dev<floatX>(dwte0), *d_dwpe0 = to_dev<floatX>(dwpe0);
    auto forward = [&](int v) {
        if (v == 1) encoder_forward_v1(d_out, d_inp, d_wte, d_wpe, B, T, C);
        else encoder_forward(d_out, d_inp, d_wte, d_wpe, B, T, C);
    };
    auto backward = [&](int v) {
        if (v == 1) encoder_backward_v1(d_dwte, d_dwpe, d_dout, d_tok, d_start, d_pos, nb, B, T, C);
        else encoder_backward(d_dwte, d_dwpe, d_dout, d_tok, d_start, d_pos, nb, B, T, C);
    };
    auto reset_grads = [&] {
        lab_copy(d_dwte, d_dwte0, VC);
        lab_copy(d_dwpe, d_dwpe0, TC);
    };
    const std::vector<int> passed = lab_validate(a, 2, [&](int v) {
        CUDA_CHECK(cudaMemset(d_out, 0xFF, NC * sizeof(floatX)));  // NaN where nothing is written
        forward(v);
        LAB_CLOSE(from_dev(d_out, NC), out, tol(2), NAMES[v], "out");
        reset_grads();
        backward(v);
        // sums of up to N bf16 values, rounded once into the bf16 gradient (tests/cuda/test_basic.cu)
        LAB_CLOSE(from_dev(d_dwte, VC), dwte, tol(4), NAMES[v], "dwte (accumulated)");
        LAB_CLOSE(from_dev(d_dwpe, TC), dwpe, tol(4), NAMES[v], "dwpe (accumulated)");
        const std::vector<floatX> bits_wte = to_host(d_dwte, VC), bits_wpe = to_host(d_dwpe, TC);
        reset_grads();  // deterministic: the same start gives the same bits
        backward(v);
        CHECK(lab_same_bits(bits_wte, to_host(d_dwte, VC)) && lab_same_bits(bits_wpe, to_host(d_dwpe, TC)),
              "%s: a second backward from the same start differs", NAMES[v]);
    });
    if (lab_skip_timing(a, dev)) return summary();
    // forward: reads the rows of the distinct tokens (nb) and T rows of wpe once, writes
    // N rows, plus the N token ids. Backward: reads dout (N rows) and the bucket lists,
    // reads and writes the nb touched rows of dwte and the T rows of dwpe.
    const double xs = sizeof(floatX), fwd_bytes = xs * ((double)nb * C + (double)TC + (double)NC) + 4.0 * N,
                 bwd_bytes = xs * ((double)NC + 2.0 * nb * C + 2.0 * TC) + 4.0 * (2.0 * nb + 1 + N);
    lab_time_part(dev, a, "forward", (double)NC, fwd_bytes, passed, NAMES, forward);
    // each repeat adds dout again; the values stay finite and the work does not depend on them
    lab_time_part(dev, a, "backward", 2.0 * NC, bwd_bytes, passed, NAMES, backward);
    return summary();
}
