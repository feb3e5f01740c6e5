// The fused LayerNorm-path kernel (kernels/ln_path.cuh) against cpu/layernorm.h, in every
// state: REAL, FROZEN, BOS and EOT divisors, the qk/v split in all four state pairs, the
// fused residual add, the sigma observations, the recompute of -r 2 (bit for bit) and the
// backward of each (gamma/beta gradients from both ln_1 paths). The state is changed between
// launches through device memory only: the same compiled kernel serves every case.
#include "tests/cuda/cuda_test.h"

#include "cpu/layernorm.h"
#include "cpu/residual.h"
#include "kernels/ln_path.cuh"

static const int EOT = 5;

// Per-token reciprocal divisor of a FROZEN path: the rule of host/ln_paths.h.
static Vd frozen_rstd(const LNPathParams& p, const std::vector<int>& tok, int T) {
    Vd r(tok.size());
    for (size_t i = 0; i < tok.size(); i++) r[i] = 1.0 / (double)noln::ln_frozen_divisor(p, (int)(i % T), tok[i]);
    return r;
}

// An ln1v path (which has the EOT rule) when eot, else an ln1qk path, of a 1-layer state.
static LNPathParams make_path(bool frozen, float sigma, float sigma_bos, bool bos, bool eot) {
    noln::LNState s(1);
    s.bos_special = bos;
    s.eot_special = eot;
    s.eot_token = EOT;
    const noln::PathKind k = eot ? noln::PATH_LN1V : noln::PATH_LN1QK;
    s.path(k, 0) = {frozen, sigma, sigma_bos};
    return ln_path_params(s, noln::path_index(k, 0, 1));
}

// One site: p2 == nullptr for a single path; fuse_residual adds a second input first.
static void run_case(const char* name, int B, int T, int C, const LNPathParams& p1, const LNPathParams* p2,
                     bool fuse_residual, uint64_t seed) {
    const int N = B * T;
    const size_t NC = (size_t)N * C;
    Rng r(seed);
    Vd a = r.vec(NC, -2, 2), bres = rounded(r.vec(NC, -1, 1));
    for (int i = 0; i < N; i++)  // per-row offsets and scales, so mean and var matter
        for (int c = 0; c < C; c++) a[(size_t)i * C + c] = a[(size_t)i * C + c] * (0.5 + i % 3) + (i % 5) - 2;
    a = rounded(a);
    Vd w = rounded(r.vec(C, 0.5, 1.5)), bias = rounded(r.vec(C, -0.5, 0.5));
    std::vector<int> tok(N);
    for (int i = 0; i < N; i++) tok[i] = (r.next() % 3 == 0) ? EOT : (int)(r.next() % 50);

    // oracle input: the residual sum rounded as the kernel stores it
    Vd x(NC);
    if (fuse_residual) {
        noln::residual_forward(x.data(), a.data(), bres.data(), (long)NC);
        x = rounded(x);
    } else {
        x = a;
    }

    floatX *d_a = to_dev<floatX>(a), *d_b = to_dev<floatX>(bres), *d_x = dev_alloc<floatX>(NC);
    floatX *d_w = to_dev<floatX>(w), *d_bias = to_dev<floatX>(bias);
    floatX *d_out1 = dev_alloc<floatX>(NC), *d_out2 = dev_alloc<floatX>(NC);
    float *d_mean = dev_alloc<float>(N), *d_r1 = dev_alloc<float>(N), *d_r2 = dev_alloc<float>(N);
    float *d_part = dev_alloc<float>(2 * ln_forward_blocks(N)), *d_obs = dev_alloc<float>(2);
    int* d_tok = to_dev_int(tok);
    LNPathParams* d_p = dev_alloc<LNPathParams>(2);
    CUDA_CHECK(cudaMemcpy(d_p, &p1, sizeof(LNPathParams), cudaMemcpyHostToDevice));
    if (p2) CUDA_CHECK(cudaMemcpy(d_p + 1, p2, sizeof(LNPathParams), cudaMemcpyHostToDevice));

    LNSiteForward f;
    f.p1 = {d_out1, d_r1, d_p};
    if (p2) f.p2 = {d_out2, d_r2, d_p + 1};
    f.mean = d_mean;
    f.x = d_a;
    if (fuse_residual) {
        f.resid_b = d_b;
        f.resid_out = d_x;
    }
    f.w = d_w;
    f.b = d_bias;
    f.tokens = d_tok;
    f.obs_partial = d_part;
    f.obs = d_obs;
    f.N = N;
    f.T = T;
    f.C = C;
    ln_path_forward(f);

    char what[160];
    if (fuse_residual) {
        snprintf(what, sizeof what, "%s: fused residual", name);
        CHECK_CLOSE(from_dev(d_x, NC), x, tol(2), what);
    }
    // forward of each path
    Vd want1(NC), mean1(N), rs1(N), want2(NC), mean2(N), rs2(N);
    Vd fr1 = frozen_rstd(p1, tok, T);
    noln::layernorm_forward(want1.data(), mean1.data(), rs1.data(), x.data(), w.data(), bias.data(), N, C,
                            p1.frozen ? fr1.data() : nullptr);
    snprintf(what, sizeof what, "%s: out1", name);
    CHECK_CLOSE(from_dev(d_out1, NC), want1, tol(2), what);
    snprintf(what, sizeof what, "%s: mean", name);
    CHECK_CLOSE(from_dev(d_mean, N), mean1, 1e-5, what);
    snprintf(what, sizeof what, "%s: rstd1", name);
    CHECK_CLOSE(from_dev(d_r1, N), rs1, 1e-5, what);
    if (p2) {
        Vd fr2 = frozen_rstd(*p2, tok, T);
        noln::layernorm_forward(want2.data(), mean2.data(), rs2.data(), x.data(), w.data(), bias.data(), N, C,
                                p2->frozen ? fr2.data() : nullptr);
        snprintf(what, sizeof what, "%s: out2", name);
        CHECK_CLOSE(from_dev(d_out2, NC), want2, tol(2), what);
        snprintf(what, sizeof what, "%s: rstd2", name);
        CHECK_CLOSE(from_dev(d_r2, N), rs2, 1e-5, what);
    }
    // sigma observation: mean of per-token sqrt(var + eps), all tokens and position 0
    Vd sd(N);
    noln::layernorm_stats((double*)nullptr, sd.data(), x.data(), N, C);
    double all = 0, bos = 0;
    for (int i = 0; i < N; i++) {
        all += sd[i];
        if (i % T == 0) bos += sd[i];
    }
    snprintf(what, sizeof what, "%s: sigma obs", name);
    CHECK_CLOSE(from_dev(d_obs, 2), (Vd{all / N, bos / B}), 1e-5, what);

    // the recompute (-r 2): from the forward's arguments, into fresh output buffers, the
    // outputs bit for bit (tolerance 0); the kept input, statistics and observation untouched
    {
        const Vd x_kept = from_dev(fuse_residual ? d_x : d_a, NC), mean_kept = from_dev(d_mean, N),
                 r1_kept = from_dev(d_r1, N), r2_kept = from_dev(d_r2, N), obs_kept = from_dev(d_obs, 2);
        LNSiteForward re = f;
        re.p1.out = dev_alloc<floatX>(NC);
        if (p2) re.p2.out = dev_alloc<floatX>(NC);
        ln_path_recompute(re);
        snprintf(what, sizeof what, "%s: recomputed out1 == out1", name);
        CHECK_CLOSE(from_dev(re.p1.out, NC), from_dev(d_out1, NC), 0.0, what);
        if (p2) {
            snprintf(what, sizeof what, "%s: recomputed out2 == out2", name);
            CHECK_CLOSE(from_dev(re.p2.out, NC), from_dev(d_out2, NC), 0.0, what);
        }
        snprintf(what, sizeof what, "%s: recompute leaves input, mean, rstd and obs alone", name);
        CHECK(from_dev(fuse_residual ? d_x : d_a, NC) == x_kept && from_dev(d_mean, N) == mean_kept &&
                  from_dev(d_r1, N) == r1_kept && from_dev(d_r2, N) == r2_kept && from_dev(d_obs, 2) == obs_kept,
              "%s", what);
        // a wrong statistic (rstd1 2^-5 too large) shows: the comparison above can fail
        float* d_wrong = dev_alloc<float>(N);
        Vd wrong = r1_kept;
        for (double& v : wrong) v *= 1.0 + 1.0 / 32;
        upload_to(d_wrong, wrong);
        re.p1.rstd = d_wrong;
        ln_path_recompute(re);
        snprintf(what, sizeof what, "%s: recompute with a wrong rstd differs", name);
        CHECK(max_err(from_dev(re.p1.out, NC), from_dev(d_out1, NC)) > 0, "%s", what);
        for (void* q : {(void*)re.p1.out, (void*)re.p2.out, (void*)d_wrong}) cudaFree(q);
    }

    // backward, accumulating onto existing gradients
    Vd dout1 = rounded(r.vec(NC, -1, 1)), dout2 = rounded(r.vec(NC, -1, 1));
    Vd dinp = rounded(r.vec(NC, -1, 1)), dw = rounded(r.vec(C, -1, 1)), db = rounded(r.vec(C, -1, 1));
    floatX *d_dout1 = to_dev<floatX>(dout1), *d_dout2 = to_dev<floatX>(dout2);
    floatX *d_dinp = to_dev<floatX>(dinp), *d_dw = to_dev<floatX>(dw), *d_db = to_dev<floatX>(db);
    float* d_scr = dev_alloc<float>(ln_backward_scratch_floats(N, C));
    LNSiteBackward g = ln_site_backward(f);  // the input, means, gamma, rstd and states of the forward
    g.p1.dout = d_dout1;
    if (p2) g.p2.dout = d_dout2;
    g.dx = d_dinp;
    g.dw = d_dw;
    g.db = d_db;
    g.scratch = d_scr;
    ln_path_backward(g);
    noln::layernorm_backward(dinp.data(), dw.data(), db.data(), dout1.data(), x.data(), w.data(), mean1.data(),
                             rs1.data(), N, C, p1.frozen != 0);
    if (p2)
        noln::layernorm_backward(dinp.data(), dw.data(), db.data(), dout2.data(), x.data(), w.data(),
                                 mean2.data(), rs2.data(), N, C, p2->frozen != 0);
    // dx: fp32 sums of bf16 products, one rounding into the bf16 accumulator; dw/db: sums of
    // N rows (up to ~60 in magnitude) rounded once
    snprintf(what, sizeof what, "%s: dinp", name);
    CHECK_CLOSE(from_dev(d_dinp, NC), dinp, tol(3), what);
    snprintf(what, sizeof what, "%s: dw", name);
    CHECK_CLOSE(from_dev(d_dw, C), dw, tol(3), what);
    snprintf(what, sizeof what, "%s: db", name);
    CHECK_CLOSE(from_dev(d_db, C), db, tol(3), what);
    // dx_overwrite (a first write): whatever dx held, NaN here, is not read
    {
        CUDA_CHECK(cudaMemset(d_dinp, 0xFF, NC * sizeof(floatX)));
        LNSiteBackward g2 = g;
        g2.dx_overwrite = true;
        ln_path_backward(g2);
        Vd fresh(NC, 0.0), dw2(C, 0.0), db2(C, 0.0);
        noln::layernorm_backward(fresh.data(), dw2.data(), db2.data(), dout1.data(), x.data(), w.data(), mean1.data(),
                                 rs1.data(), N, C, p1.frozen != 0);
        if (p2)
            noln::layernorm_backward(fresh.data(), dw2.data(), db2.data(), dout2.data(), x.data(), w.data(),
                                     mean2.data(), rs2.data(), N, C, p2->frozen != 0);
        snprintf(what, sizeof what, "%s: dinp (dx_overwrite)", name);
        CHECK_CLOSE(from_dev(d_dinp, NC), fresh, tol(3), what);
    }

    for (void* q : {(void*)d_a, (void*)d_b, (void*)d_x, (void*)d_w, (void*)d_bias, (void*)d_out1, (void*)d_out2,
                    (void*)d_mean, (void*)d_r1, (void*)d_r2, (void*)d_part, (void*)d_obs, (void*)d_tok, (void*)d_p,
                    (void*)d_dout1, (void*)d_dout2, (void*)d_dinp, (void*)d_dw, (void*)d_db, (void*)d_scr})
        cudaFree(q);
}

int main() {
    const LNPathParams real = make_path(false, 1, 1, false, false);
    const LNPathParams frozen = make_path(true, 1.7f, 2.9f, false, false);
    const LNPathParams frozen_bos = make_path(true, 1.7f, 2.9f, true, false);
    const LNPathParams frozen_v_eot = make_path(true, 0.8f, 3.1f, true, true);
    const LNPathParams real_v_eot = make_path(false, 0.8f, 3.1f, true, true);  // specials ignored when REAL
    struct Shape { int B, T, C; };
    for (Shape s : {Shape{3, 7, 37}, Shape{2, 5, 100}, Shape{1, 9, 64}, Shape{4, 1, 33}}) {
        uint64_t seed = s.B * 1000 + s.T * 10 + s.C;
        run_case("real", s.B, s.T, s.C, real, nullptr, false, seed);
        run_case("real+residual", s.B, s.T, s.C, real, nullptr, true, seed + 1);
        run_case("frozen", s.B, s.T, s.C, frozen, nullptr, false, seed + 2);
        run_case("frozen+bos+residual", s.B, s.T, s.C, frozen_bos, nullptr, true, seed + 3);
        run_case("split qk real / v frozen+eot", s.B, s.T, s.C, real, &frozen_v_eot, false, seed + 4);
        run_case("split qk frozen / v real", s.B, s.T, s.C, frozen_bos, &real_v_eot, true, seed + 5);
        run_case("both frozen, v eot", s.B, s.T, s.C, frozen, &frozen_v_eot, false, seed + 6);
        run_case("both real", s.B, s.T, s.C, real, &real, true, seed + 7);
    }
    return summary();
}
