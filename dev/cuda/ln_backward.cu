// The kernel lab's LN site backward (kernels/ln_path.cuh's ln_path_backward): dx and the
// gamma/beta gradients, every version validated against cpu/layernorm.h, then timed on a
// GPU. Rows B*T of C = NH*HS channels. Cases validated: one REAL path accumulating into dx
// (the ln_2 site: the case timed), the split ln_1 site (a REAL and a FROZEN path summed into
// one dx), and for v2 the first write (dx_overwrite, the ln_f site). The forward's mean and
// rstd come from the oracle (rounded to fp32, as the kernels keep them).
//   ./ln_backward [VERSION|all] [-b B] [-t T] [-n NH] [-s HS] [-r REPEATS] [--validate-only]
// v1: before issue 12 (dev/cuda/ln_backward_v1.cuh): scalar 16-bit accesses, one thread per
//     column for the partial sums; dx always accumulated (the trainer zeroed it for ln_f)
// v2: kernels/ln_path.cuh: 16-byte chunks, streaming loads of the output gradients' last
//     read, dx_overwrite
#include "cpu/layernorm.h"
#include "dev/cuda/lab.h"
#include "dev/cuda/ln_backward_v1.cuh"

static const char* const NAMES[] = {"", "v1 scalar (before issue 12)", "v2 128-bit chunks (kernels/)"};

int main(int argc, char** argv) {
    const LabArgs a = lab_args(argc, argv, 2, "  1  scalar loads (before issue 12)\n  2  128-bit chunks (the trainer's)\n");
    const int N = a.B * a.T, C = a.NH * a.hs;
    const size_t NC = (size_t)N * C;
    const LabDevice dev;
    printf("ln_backward [%s] on %s: N=%d rows (B=%d T=%d), C=%d\n", PRECISION_NAME, dev.name, N, a.B, a.T, C);
    Rng r(13 + C);
    Vd x = lab_random(NC, -2, 2, 1);
    for (int i = 0; i < N; i++)  // per-row offsets and scales, so mean and var matter
        for (int c = 0; c < C; c++) x[(size_t)i * C + c] = x[(size_t)i * C + c] * (0.5 + i % 3) + (i % 5) - 2;
    x = rounded(x);
    Vd w = rounded(r.vec(C, 0.5, 1.5)), bias(C, 0.0), y(NC), mean(N), rstd(N);
    noln::layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), w.data(), bias.data(), N, C,
                            (const double*)nullptr);
    auto f32 = [](Vd v) {  // the fp32 statistics the forward leaves for the backward
        for (auto& e : v) e = (float)e;
        return v;
    };
    mean = f32(mean);
    rstd = f32(rstd);
    const float sigma2 = 1.7f;  // the FROZEN path's divisor
    const Vd rstd2(N, (double)(1.0f / sigma2));
    Vd dout1 = rounded(lab_random(NC, -1, 1, 2)), dout2 = rounded(lab_random(NC, -1, 1, 3));
    Vd dx0 = rounded(lab_random(NC, -1, 1, 4)), dw0 = rounded(r.vec(C, -1, 1)), db0 = rounded(r.vec(C, -1, 1));
    // the oracle: one REAL path; REAL + FROZEN (split); one REAL path from zero (first write)
    Vd dx1 = dx0, dw1 = dw0, db1 = db0, dxs = dx0, dws = dw0, dbs = db0, dxn(NC, 0.0), dwn = dw0, dbn = db0;
    noln::layernorm_backward(dx1.data(), dw1.data(), db1.data(), dout1.data(), x.data(), w.data(), mean.data(),
                             rstd.data(), N, C, false);
    noln::layernorm_backward(dxs.data(), dws.data(), dbs.data(), dout1.data(), x.data(), w.data(), mean.data(),
                             rstd.data(), N, C, false);
    noln::layernorm_backward(dxs.data(), dws.data(), dbs.data(), dout2.data(), x.data(), w.data(), mean.data(),
                             rstd2.data(), N, C, true);
    noln::layernorm_backward(dxn.data(), dwn.data(), dbn.data(), dout1.data(), x.data(), w.data(), mean.data(),
                             rstd.data(), N, C, false);

    const LNPathParams real{}, frozen{1, sigma2, sigma2, 0, 0, -1};
    LNPathParams* d_states = dev_alloc<LNPathParams>(2);
    CUDA_CHECK(cudaMemcpy(d_states, &real, sizeof real, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(d_states + 1, &frozen, sizeof frozen, cudaMemcpyHostToDevice));
    floatX *d_x = to_dev<floatX>(x), *d_w = to_dev<floatX>(w), *d_dout1 = to_dev<floatX>(dout1),
           *d_dout2 = to_dev<floatX>(dout2);
    floatX *d_dx = dev_alloc<floatX>(NC), *d_dw = dev_alloc<floatX>(C), *d_db = dev_alloc<floatX>(C);
    floatX *d_dx0 = to_dev<floatX>(dx0), *d_dw0 = to_dev<floatX>(dw0), *d_db0 = to_dev<floatX>(db0);
    float *d_mean = to_dev<float>(mean), *d_rstd = to_dev<float>(rstd), *d_rstd2 = to_dev<float>(rstd2);
    float* d_scratch = dev_alloc<float>(ln_backward_scratch_floats(N, C));
    LNSiteBackward g;  // one REAL path, accumulating (the ln_2 site)
    g.p1 = {d_dout1, d_rstd, d_states};
    g.dx = d_dx;
    g.dw = d_dw;
    g.db = d_db;
    g.x = d_x;
    g.mean = d_mean;
    g.w = d_w;
    g.scratch = d_scratch;
    g.N = N;
    g.C = C;
    LNSiteBackward split = g;  // the ln_1 site with its V path FROZEN
    split.p2 = {d_dout2, d_rstd2, d_states + 1};
    LNSiteBackward first = g;  // the ln_f site: dx is a first write
    first.dx_overwrite = true;
    auto run = [&](int v, const LNSiteBackward& s) { v == 1 ? ln_path_backward_v1(s) : ln_path_backward(s); };
    auto reset = [&] {
        lab_copy(d_dx, d_dx0, NC);
        lab_copy(d_dw, d_dw0, C);
        lab_copy(d_db, d_db0, C);
    };
    auto check = [&](int v, const Vd& dx, const Vd& dw, const Vd& db, const char* what) {
        // dx: fp32 sums of bf16 products rounded once into the bf16 accumulator; dw, db: sums
        // over N rows rounded once (tests/cuda/test_ln_path.cu)
        std::string s = std::string(what) + " dx";
        LAB_CLOSE(from_dev(d_dx, NC), dx, tol(3), NAMES[v], s.c_str());
        s = std::string(what) + " dw";
        LAB_CLOSE(from_dev(d_dw, C), dw, tol(3), NAMES[v], s.c_str());
        s = std::string(what) + " db";
        LAB_CLOSE(from_dev(d_db, C), db, tol(3), NAMES[v], s.c_str());
    };
    const std::vector<int> passed = lab_validate(a, 2, [&](int v) {
        reset();
        run(v, g);
        check(v, dx1, dw1, db1, "real:");
        const std::vector<floatX> bx = to_host(d_dx, NC), bw = to_host(d_dw, C), bb = to_host(d_db, C);
        reset();  // deterministic: the same start gives the same bits
        run(v, g);
        CHECK(lab_same_bits(bx, to_host(d_dx, NC)) && lab_same_bits(bw, to_host(d_dw, C)) &&
                  lab_same_bits(bb, to_host(d_db, C)),
              "%s: a second backward from the same start differs", NAMES[v]);
        reset();
        run(v, split);
        check(v, dxs, dws, dbs, "split:");
        if (v == 2) {  // v2's first write must not read dx (NaN here)
            reset();
            CUDA_CHECK(cudaMemset(d_dx, 0xFF, NC * sizeof(floatX)));
            run(v, first);
            check(v, dxn, dwn, dbn, "dx_overwrite:");
        }
    });
    if (lab_skip_timing(a, dev)) return summary();
    // one REAL path: reads x and dout, reads and writes dx, reads mean and rstd (gamma and
    // the C-wide gradients are small; the fp32 partials stay in L2)
    const double bytes = sizeof(floatX) * 4.0 * NC + 8.0 * N, flops = 14.0 * NC;
    // each repeat accumulates again; the values stay finite and the work does not depend on them
    lab_time_part(dev, a, "backward, one REAL path", flops, bytes, passed, NAMES, [&](int v) { run(v, g); });
    return summary();
}
