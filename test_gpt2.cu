// test_gpt2: the CUDA GPT-2 (cuda/gpt2_cuda.cuh) against a reference.
//   test_gpt2 MODEL.bin STATE.bin   the batch of a reference debug state, as test_gpt2_cpu does
//   test_gpt2                       self-contained: the CPU model (cpu/) is the reference, on a
//                                   tiny GPT-2, for every kind of LayerNorm configuration
// Checks logits, loss, every gradient, the sigma observations, 10 AdamW steps, the AdamW
// moments, a checkpoint's next step (working parameters + masters) and a model file round
// trip; recompute (-r 1, -r 2) against -r 0 bit for bit, and the split-only buffers; the
// training loop's queued micro-steps against forward() bit for bit. Tolerances (docs/gpu.md) are relative to the
// reference tensor's largest magnitude, as in test_gpt2_cpu:
//   FP32: logits, losses, observations 1e-5; gradients, grad norm, step losses and moments
//         1e-4 (fp32 sums in another order through ~10 chained ops; measured ~3e-7 emulated,
//         the AdamW moments after 10 steps 2.7e-5);
//   BF16: multiples of bf16 epsilon eps = 2^-8 (a stored activation is off by up to eps/2,
//         and ~6 stored activations per layer lie on every path): logits, losses,
//         observations 4 eps; gradients 8 eps (they are also accumulated in bf16 buffers;
//         12 eps against a reference debug state, whose fp32 parameters are rounded here);
//         step losses 2 eps (a loss is an average, but stochastic rounding of the parameters
//         walks away from the fp32 reference step by step); moments after 10 steps 24 eps
//         (ten steps of stochastically rounded parameters apart: the measured worst case
//         moves with the model's shape, 8.8 eps at C=32, 13.8 eps at C=64 with the fp32
//         attention kernels, 17.1 eps with the flash ones, which round P and dS to bf16).
//         Measured emulated: logits 1.3 eps, gradients <= 2.3 eps, step losses 0.4 eps,
//         moments 17.1 eps.
// The reference sees the parameters rounded to floatX, so only the arithmetic is compared.
// Prints a per-tensor table and ends with "N passed, M failed"; exit 0 only when all pass.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <unistd.h>
#include <vector>

#include "cpu/gpt2_cpu.h"
#include "cuda/gpt2_cuda.cuh"
#include "io/debug_state.h"
#include "host/error.h"
#include "io/model_file.h"

using namespace noln;

#if defined(ENABLE_FP32)
static const bool IS_FP32_BUILD = true;
static const double TOL_FWD = 1e-5, TOL_GRAD = 1e-4, TOL_STEP = 1e-4, TOL_ADAM = 1e-4, TOL_GRAD_STATE = TOL_GRAD;
#else
static const bool IS_FP32_BUILD = false;
static const double BF16_EPS = 1.0 / 256;
static const double TOL_FWD = 4 * BF16_EPS, TOL_GRAD = 8 * BF16_EPS, TOL_STEP = 2 * BF16_EPS, TOL_ADAM = 24 * BF16_EPS;
// Against a reference debug state the parameters are fp32 in the reference and bf16 here,
// so the gradients also carry the parameter rounding: 12 eps (measured up to 8.1 eps).
static const double TOL_GRAD_STATE = 12 * BF16_EPS;
#endif

static int g_pass = 0, g_fail = 0;

static bool report(bool ok) {
    (ok ? g_pass : g_fail)++;
    return ok;
}

// Max |got - ref| over max |ref| (NaN anywhere fails).
static bool compare(const char* what, const float* got, const float* ref, size_t n, double tol) {
    double maxabs = 0, maxref = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = std::fabs((double)got[i] - ref[i]);
        if (std::isnan(d)) maxabs = INFINITY;  // kept: a NaN in maxabs would be replaced by the next d
        else if (d > maxabs) maxabs = d;
        maxref = std::max(maxref, std::fabs((double)ref[i]));
    }
    const double rel = maxref > 0 ? maxabs / maxref : maxabs;
    const bool ok = rel <= tol;
    printf("  %-4s %-12s max abs err %.3e  rel %.3e  (|ref| max %.3e, tol %.1e)\n", ok ? "OK" : "FAIL", what,
           maxabs, rel, maxref, tol);
    return report(ok);
}

static std::vector<float> rounded_to_floatX(std::vector<float> p) {
    for (float& x : p) x = to_float(from_float<floatX>(x));
    return p;
}

static bool compare_grads(const GPT2Config& c, const float* got, const float* ref, double tol = TOL_GRAD) {
    size_t sizes[NUM_PARAM_TENSORS];
    param_sizes(c, sizes);
    bool ok = true;
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
        const size_t o = param_offset(c, t);
        ok &= compare(PARAM_NAMES[t], got + o, ref + o, sizes[t], tol);
    }
    return ok;
}

// Every site's two observations, site order (host/ln_paths.h).
static std::vector<float> flatten_obs(const SigmaObs& o) {
    std::vector<float> v;
    for (const SiteObs& s : o.sites) {
        v.push_back(s.sigma);
        v.push_back(s.sigma_bos);
    }
    return v;
}

// ---- mode 1: a reference debug state (tolerances as above; the file's model is rounded to
// floatX on load exactly like the reference's parameters would need to be, so in BF16 the
// comparison also carries the parameter rounding).
static int run_state(const char* model_path, const char* state_path) {
    ModelFile mf = read_model_file(model_path);
    const GPT2Config& c = mf.config;
    DebugState s = read_debug_state(state_path, c);
    printf("[%s] model %s: L=%d NH=%d C=%d V=%d Vp=%d; state %s: B=%d T=%d\n", PRECISION_NAME, model_path,
           c.num_layers, c.num_heads, c.channels, c.vocab_size, c.padded_vocab_size, state_path, s.B, s.T);
    GPT2CUDA m(mf);
    m.set_aux_lambda(s.has_trailer ? s.aux_lambda : 0.0f);
    // both GELU paths: our kernels (the default) and cuBLASLt's epilogue (kernels/matmul.cuh)
    for (GeluImpl gi : {GeluImpl::Kernels, GeluImpl::Epilogue}) {
        m.set_gelu_impl(gi);
        const long fallbacks = g_gelu_epilogue_fallbacks;
        printf("GELU: %s\n", gi == GeluImpl::Kernels ? "our kernels" : "cuBLASLt epilogue");
        ForwardResult r = m.forward(s.x.data(), s.y.data(), s.B, s.T);
        std::vector<float> logits((size_t)s.B * s.T * c.vocab_size);
        m.get_logits(logits.data());
        compare("logits", logits.data(), s.logits.data(), logits.size(), TOL_FWD);
        const float loss = r.ce + r.aux;
        compare("loss", &loss, &s.loss, 1, TOL_FWD);
        m.zero_grad();
        m.backward(1.0f);
        std::vector<float> g(num_parameters(c));
        m.get_gradients(g.data());
        compare_grads(c, g.data(), s.grads.data(), TOL_GRAD_STATE);
        if (gi == GeluImpl::Epilogue && g_gelu_epilogue_fallbacks != fallbacks)
            printf("  (cuBLASLt refused the epilogue for %ld GEMMs: our kernels ran instead)\n",
                   g_gelu_epilogue_fallbacks - fallbacks);
    }
    m.set_gelu_impl(GeluImpl::Kernels);
    if (s.has_trailer && !s.step_losses.empty()) {
        GPT2CUDA m2(mf);
        m2.set_aux_lambda(s.aux_lambda);
        std::vector<float> got;
        for (size_t i = 0; i < s.step_losses.size(); i++) {
            m2.zero_grad();
            ForwardResult ri = m2.forward(s.x.data(), s.y.data(), s.B, s.T);
            got.push_back(ri.ce + ri.aux);
            m2.backward(1.0f);
            m2.adamw_step(s.adamw, 1.0f, (int)i + 1);
        }
        compare("step losses", got.data(), s.step_losses.data(), got.size(), TOL_STEP);
    }
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}

// ---- mode 2: self-contained, the CPU model as the reference

// One forward and backward of both models on the batch (parameters and LN state set):
// logits, losses, observations, every gradient and the gradient norm compared.
static void first_step(GPT2CPU& cpu, GPT2CUDA& gpu, const std::vector<int>& in, const std::vector<int>& tg, int B,
                       int T, bool aux, ForwardResult* rc, ForwardResult* rg) {
    const GPT2Config& c = cpu.config();
    const int N = B * T;
    *rc = cpu.forward(in.data(), tg.data(), B, T);
    *rg = gpu.forward(in.data(), tg.data(), B, T);
    std::vector<float> lc((size_t)N * c.vocab_size), lg(lc.size());
    cpu.get_logits(lc.data());
    gpu.get_logits(lg.data());
    compare("logits", lg.data(), lc.data(), lc.size(), TOL_FWD);
    compare("ce", &rg->ce, &rc->ce, 1, TOL_FWD);
    if (aux) compare("aux", &rg->aux, &rc->aux, 1, TOL_FWD);
    report(rg->ntargets == rc->ntargets) || printf("  FAIL ntargets %ld vs %ld\n", rg->ntargets, rc->ntargets);
    std::vector<float> tlc(N), tlg(N);
    cpu.get_token_losses(tlc.data());
    gpu.get_token_losses(tlg.data());
    compare("token losses", tlg.data(), tlc.data(), N, TOL_FWD);
    const std::vector<float> oc = flatten_obs(cpu.sigma_obs()), og = flatten_obs(gpu.sigma_obs());
    compare("sigma obs", og.data(), oc.data(), oc.size(), TOL_FWD);
    cpu.zero_grad();
    gpu.zero_grad();
    cpu.backward(1.0f);
    gpu.backward(1.0f);
    std::vector<float> g(num_parameters(c)), gref(g.size());
    cpu.get_gradients(gref.data());
    gpu.get_gradients(g.data());
    compare_grads(c, g.data(), gref.data());
    const float nc = cpu.grad_norm(), ng = gpu.grad_norm();
    compare("grad norm", &ng, &nc, 1, TOL_GRAD);
}

struct Case {
    std::string name;
    LNState ln;
    float aux_lambda = 0.0f;
    Gelu gelu = Gelu::Tanh;  // --gelu erf: the plain matmul, then the erf GELU kernel
};

static std::vector<Case> make_cases(const GPT2Config& c, const SigmaObs& o, int eot) {
    const int L = c.num_layers;
    auto frozen = [](float sigma, float sigma_bos) {
        LNPath p;
        p.frozen = true;
        p.sigma = sigma;
        p.sigma_bos = sigma_bos;
        return p;
    };
    std::vector<Case> cs;
    Case all_real{"all REAL", LNState(L)};
    all_real.ln.eot_token = eot;
    cs.push_back(all_real);

    // layer 0 splits (qk REAL, v FROZEN), layer 1 the other way; ln2[0] and lnf FROZEN
    Case mix{"REAL/FROZEN mix, split QKV", LNState(L)};
    mix.ln.eot_token = eot;
    mix.ln.path(PATH_LN1V, 0) = frozen(o.at(SITE_LN1, 0).sigma * 1.1f, o.at(SITE_LN1, 0).sigma_bos);
    mix.ln.path(PATH_LN2, 0) = frozen(o.at(SITE_LN2, 0).sigma, o.at(SITE_LN2, 0).sigma_bos);
    mix.ln.path(PATH_LN1QK, 1) = frozen(o.at(SITE_LN1, 1).sigma * 0.9f, o.at(SITE_LN1, 1).sigma_bos);
    mix.ln.path(PATH_LNF) = frozen(o.at(SITE_LNF).sigma, o.at(SITE_LNF).sigma_bos);
    cs.push_back(mix);

    // equal ln1qk/ln1v states still split: the EOT rule touches ln1v only
    Case sp{"BOS/EOT specials", LNState(L)};
    sp.ln.bos_special = sp.ln.eot_special = true;
    sp.ln.eot_token = eot;
    sp.ln.path(PATH_LN1QK, 0) = sp.ln.path(PATH_LN1V, 0) = frozen(o.at(SITE_LN1, 0).sigma, o.at(SITE_LN1, 0).sigma_bos * 2.0f);
    sp.ln.path(PATH_LN2, 1) = frozen(o.at(SITE_LN2, 1).sigma, o.at(SITE_LN2, 1).sigma_bos * 0.5f);
    sp.ln.path(PATH_LNF) = frozen(o.at(SITE_LNF).sigma, o.at(SITE_LNF).sigma_bos * 1.5f);
    cs.push_back(sp);

    Case aux{"aux loss (lambda 0.1)", LNState(L)};
    aux.ln.eot_token = eot;
    aux.ln.path(PATH_LN2, 0) = frozen(o.at(SITE_LN2, 0).sigma, o.at(SITE_LN2, 0).sigma_bos);
    aux.aux_lambda = 0.1f;
    cs.push_back(aux);

    Case all{"all FROZEN", LNState(L)};
    all.ln.eot_token = eot;
    for (int l = 0; l < L; l++) {
        all.ln.path(PATH_LN1QK, l) = all.ln.path(PATH_LN1V, l) = frozen(o.at(SITE_LN1, l).sigma, o.at(SITE_LN1, l).sigma_bos);
        all.ln.path(PATH_LN2, l) = frozen(o.at(SITE_LN2, l).sigma, o.at(SITE_LN2, l).sigma_bos);
    }
    all.ln.path(PATH_LNF) = frozen(o.at(SITE_LNF).sigma, o.at(SITE_LNF).sigma_bos);
    cs.push_back(all);

    Case erf = mix;  // the mix again with the exact GELU (paper (a)'s nanoGPT, --gelu erf)
    erf.name = "REAL/FROZEN mix, erf GELU";
    erf.gelu = Gelu::Erf;
    cs.push_back(erf);
    return cs;
}

// Recompute (-r 1: the GELU output, -r 2: also the LN outputs, from the kept inputs and
// statistics) is the same arithmetic: for every case, in this order on one model per level
// (so the V path's buffers come and go as the cases split or not), two micro-steps
// accumulated (the second forward rewrites the one-layer buffers) give -r 0's losses and
// every gradient bit for bit.
static void recompute_cases(const GPT2Config& c, const std::vector<float>& params, const std::vector<Case>& cases,
                            const std::vector<int>& in, const std::vector<int>& tg, int B, int T) {
    GPT2CUDA r0(c, 0, 0), r1(c, 0, 1), r2(c, 0, 2);
    GPT2CUDA* ms[3] = {&r0, &r1, &r2};
    const size_t P = params.size();
    std::vector<int> in2(in.rbegin(), in.rend()), tg2(tg.rbegin(), tg.rend());  // a second micro-batch
    for (const Case& k : cases) {
        std::vector<float> g[3];
        std::vector<float> loss[3];
        for (int i = 0; i < 3; i++) {
            ms[i]->set_parameters(params.data());
            ms[i]->set_ln_state(k.ln);
            ms[i]->set_aux_lambda(k.aux_lambda);
            ms[i]->set_gelu(k.gelu);
            ms[i]->zero_grad();
            for (int micro = 0; micro < 2; micro++) {
                const ForwardResult r = ms[i]->forward((micro ? in2 : in).data(), (micro ? tg2 : tg).data(), B, T);
                loss[i].push_back(r.ce);
                loss[i].push_back(r.aux);
                ms[i]->backward(0.5f);
            }
            g[i].resize(P);
            ms[i]->get_gradients(g[i].data());
        }
        for (int i = 1; i < 3; i++) {
            size_t differ = 0;
            for (size_t j = 0; j < P; j++) differ += g[i][j] != g[0][j];
            const bool ok = differ == 0 && loss[i] == loss[0];
            printf("  %-4s -r %d vs -r 0, %s: losses and all %zu gradients of 2 micro-steps bit for bit (%zu differ)\n",
                   ok ? "OK" : "FAIL", i, k.name.c_str(), P, differ);
            report(ok);
        }
    }
}

// The V path's buffers (ln1v, its rstd, dlnv) exist only while some layer's ln_1 is split,
// and the model's activation bytes are the memory plan's figure (host/device_buffers.h) with
// and without them. Their size by hand, L = 2, N = B*T = 24, C = 64, floatX of fx bytes:
//   -r 0: ln1v L*N*C + dlnv N*C = 3072 + 1536 floatX, rstd L*N = 48 fp32: 4608 fx + 192
//   -r 2: ln1v   N*C + dlnv N*C = 1536 + 1536 floatX, rstd 48 fp32:        3072 fx + 192
static void split_buffer_case(const GPT2Config& c, const std::vector<float>& params, const Case& plain,
                              const Case& split, const std::vector<int>& in, const std::vector<int>& tg, int B,
                              int T) {
    const size_t fx = sizeof(floatX);
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    const bool emulated = strstr(prop.name, "cuemu") != nullptr;
    for (int r : {0, 2}) {
        size_t free0 = 0, free1 = 0, total = 0;
        CUDA_CHECK(cudaMemGetInfo(&free0, &total));
        {
            GPT2CUDA m(c, 0, r);
            m.set_parameters(params.data());
            m.set_ln_state(plain.ln);
            const size_t none = m.activation_bytes();  // nothing before the first forward
            m.forward(in.data(), tg.data(), B, T);
            const size_t before = m.activation_bytes();
            m.set_ln_state(split.ln);
            const size_t with = m.activation_bytes();
            m.forward(in.data(), tg.data(), B, T);
            m.backward(1.0f);
            m.set_ln_state(plain.ln);
            const size_t after = m.activation_bytes();
            ActOptions o;
            o.recompute = r;
            o.ln1v = false;
            const size_t plan_without = total_bytes(activation_buffers(c, B, T, o), fx);
            o.ln1v = true;
            const size_t plan_with = total_bytes(activation_buffers(c, B, T, o), fx);
            const size_t hand = (r == 0 ? 4608 : 3072) * fx + 192;
            const bool ok = none == 0 && before == plan_without && with == plan_with && after == before &&
                            with - before == hand;
            printf("  %-4s -r %d: activations %zu bytes without a split, %zu with (+%zu, by hand %zu), %zu after it; "
                   "the plan's %zu / %zu\n",
                   ok ? "OK" : "FAIL", r, before, with, with - before, hand, after, plan_without, plan_with);
            report(ok);
        }
        // the model gives back every device byte it took (activations included) when it goes
        // away; exact under the emulator, whose free memory moves only with the program's
        // allocations (a GPU's also moves with the driver's pools: not checked there)
        CUDA_CHECK(cudaMemGetInfo(&free1, &total));
        if (emulated) {
            printf("  %-4s -r %d: device memory free before the model %zu bytes, after it %zu\n",
                   free1 == free0 ? "OK" : "FAIL", r, free0, free1);
            report(free1 == free0);
        } else {
            printf("  SKIP -r %d: the model's memory given back (free memory on a GPU also moves with the "
                   "driver's pools; checked under the emulator)\n", r);
        }
    }
}

static int run_builtin() {
    GPT2Config c;
    c.num_layers = 2;
    c.num_heads = 1;
    c.channels = 64;  // one head of size 64: the BF16 build runs the flash attention kernels
    c.vocab_size = 61;  // < Vp: the padded logit columns must be ignored
    c.padded_vocab_size = 64;
    c.max_seq_len = 16;
    const int B = 2, T = 12, N = B * T, eot = 60, STEPS = 10;
    std::vector<float> params(num_parameters(c));
    gpt2_init_params(c, params.data(), 1234);
    // larger LN gains and biases than the init's 1 and 0, so their gradients are exercised
    for (int t : {P_LN1W, P_LN2W, P_LNFW, P_LN1B, P_LN2B, P_LNFB, P_QKVB, P_FCB}) {
        size_t sz[NUM_PARAM_TENSORS];
        param_sizes(c, sz);
        for (size_t i = 0; i < sz[t]; i++)
            params[param_offset(c, t) + i] += 0.1f * (float)std::sin(0.37 * i + t);
    }
    params = rounded_to_floatX(params);
    std::vector<int> in(N), tg(N);
    uint32_t r = 12345;
    for (int i = 0; i < N; i++) {
        r = r * 1664525u + 1013904223u;
        in[i] = (int)((r >> 8) % (uint32_t)c.vocab_size);
    }
    in[5] = in[17] = in[20] = eot;  // EOT tokens inside sequences (and the BOS position is 0)
    for (int i = 0; i < N; i++) tg[i] = (i % T == T - 1) ? in[(i + 1) % N] : in[i + 1];
    tg[7] = -1;  // a masked target

    printf("[%s] tiny GPT-2: L=%d NH=%d C=%d V=%d Vp=%d, B=%d T=%d, %zu parameters\n", PRECISION_NAME,
           c.num_layers, c.num_heads, c.channels, c.vocab_size, c.padded_vocab_size, B, T, params.size());
    SigmaObs o0;
    {
        GPT2CPU probe(c);
        probe.set_parameters(params.data());
        probe.forward(in.data(), tg.data(), B, T);
        o0 = probe.sigma_obs();
    }
    GPT2CUDA gpu(c);  // one model for every case: the LN state changes by a device copy
    const size_t P = params.size();
    std::vector<float> zeros(P, 0.0f);
    AdamW h;
    h.lr = 1e-3f;
    h.weight_decay = 0.1f;
    const char* tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    for (const Case& k : make_cases(c, o0, eot)) {
        printf("case: %s (split QKV in layers:", k.name.c_str());
        for (int l = 0; l < c.num_layers; l++)
            if (k.ln.ln1_split(l)) printf(" %d", l);
        printf(")\n");
        GPT2CPU cpu(c);
        cpu.set_parameters(params.data());
        cpu.set_ln_state(k.ln);
        cpu.set_aux_lambda(k.aux_lambda);
        cpu.set_gelu(k.gelu);
        gpu.set_parameters(params.data());
        gpu.set_optimizer_state(zeros.data(), zeros.data());
        gpu.set_ln_state(k.ln);
        gpu.set_aux_lambda(k.aux_lambda);
        gpu.set_gelu(k.gelu);

        ForwardResult rc, rg;
        first_step(cpu, gpu, in, tg, B, T, k.aux_lambda > 0, &rc, &rg);
        std::vector<float> lc((size_t)N * c.vocab_size), lg(lc.size());

        // 10 AdamW steps on this batch (the step-1 gradients above are the first step's)
        std::vector<float> lossc, lossg;
        for (int s = 1; s <= STEPS; s++) {
            if (s > 1) {
                cpu.zero_grad();
                gpu.zero_grad();
                rc = cpu.forward(in.data(), tg.data(), B, T);
                rg = gpu.forward(in.data(), tg.data(), B, T);
                cpu.backward(1.0f);
                gpu.backward(1.0f);
            }
            lossc.push_back(rc.ce + rc.aux);
            lossg.push_back(rg.ce + rg.aux);
            cpu.adamw_step(h, 0.5f, s);
            gpu.adamw_step(h, 0.5f, s);
        }
        rc = cpu.forward(in.data(), tg.data(), B, T);
        rg = gpu.forward(in.data(), tg.data(), B, T);
        lossc.push_back(rc.ce + rc.aux);
        lossg.push_back(rg.ce + rg.aux);
        printf("  losses over %d steps: cpu %.5f -> %.5f, gpu %.5f -> %.5f\n", STEPS, lossc[0], lossc.back(),
               lossg[0], lossg.back());
        compare("step losses", lossg.data(), lossc.data(), lossg.size(), TOL_STEP);
        std::vector<float> mc(P), vc(P), mg(P), vg(P);
        cpu.get_optimizer_state(mc.data(), vc.data());
        gpu.get_optimizer_state(mg.data(), vg.data());
        compare("adam m", mg.data(), mc.data(), P, TOL_ADAM);
        compare("adam v", vg.data(), vc.data(), P, TOL_ADAM);

        // checkpoint interface (host/model.h): the working parameters through a model file of
        // model_file_version(), the masters and moments set beside them, give a twin whose
        // next step is this model's bit for bit. In BF16 the working parameters are the
        // masters' stochastic rounding, not their nearest one: the masters alone would not do.
        {
            std::vector<float> w(P), mw(P), w2(P), mw2(P), mo(P), vo(P);
            gpu.get_working_parameters(w.data());
            const std::string cp = std::string(tmpdir) + "/test_gpt2_ckpt_" + PRECISION_NAME + "_" +
                                   std::to_string(getpid()) + ".bin";
            write_model_file(cp, c, w.data(), gpu.model_file_version(), &k.ln);
            ModelFile cf = read_model_file(cp);
            unlink(cp.c_str());
            GPT2CUDA twin(c);
            twin.set_working_parameters(cf.params.data());
            gpu.get_master_weights(mw.data());
            twin.set_master_weights(mw.data());
            gpu.get_optimizer_state(mo.data(), vo.data());
            twin.set_optimizer_state(mo.data(), vo.data());
            twin.set_ln_state(k.ln);
            twin.set_aux_lambda(k.aux_lambda);
            twin.set_gelu(k.gelu);
            size_t not_nearest = 0;
            for (size_t i = 0; i < P && gpu.has_master_weights(); i++) not_nearest += w[i] != to_float(from_float<floatX>(mw[i]));
            float ce[2];
            GPT2CUDA* both[2] = {&gpu, &twin};
            for (int j = 0; j < 2; j++) {
                both[j]->zero_grad();
                ce[j] = both[j]->forward(in.data(), tg.data(), B, T).ce;
                both[j]->backward(1.0f);
                both[j]->adamw_step(h, 0.5f, STEPS + 1);
            }
            gpu.get_working_parameters(w.data());
            twin.get_working_parameters(w2.data());
            gpu.get_parameters(mw.data());
            twin.get_parameters(mw2.data());
            const bool ok = cf.version == (IS_FP32_BUILD ? MODEL_VERSION_FP32 : MODEL_VERSION_BF16) &&
                            gpu.has_master_weights() == !IS_FP32_BUILD && !IS_FP32_BUILD == (not_nearest > 0) &&
                            ce[0] == ce[1] && w == w2 && mw == mw2;
            printf("  %-4s checkpoint (v%d, working parameters + %s): next step identical (%zu of %zu "
                   "working parameters are not the masters' nearest rounding)\n",
                   ok ? "OK" : "FAIL", cf.version, IS_FP32_BUILD ? "no masters" : "fp32 masters", not_nearest, P);
            report(ok);
        }

        // save / reload: the file path (v3 or v5 by precision, LN trailer) gives the same forward
        // as setting the same fp32 values directly; FP32 also round-trips the trained weights.
        std::vector<float> p(P), back(P);
        gpu.get_parameters(p.data());
        const std::string path = std::string(tmpdir) + "/test_gpt2_" + PRECISION_NAME + "_" +
                                 std::to_string(getpid()) + ".bin";
        write_model_file(path, c, p.data(), IS_FP32_BUILD ? MODEL_VERSION_FP32 : MODEL_VERSION_BF16, &k.ln);
        ModelFile mf = read_model_file(path);
        unlink(path.c_str());
        GPT2CUDA re(mf);
        re.set_aux_lambda(k.aux_lambda);
        re.set_gelu(k.gelu);
        re.get_parameters(back.data());
        gpu.set_parameters(mf.params.data());
        const ForwardResult r1 = gpu.forward(in.data(), tg.data(), B, T);
        const ForwardResult r2 = re.forward(in.data(), tg.data(), B, T);
        gpu.get_logits(lc.data());
        re.get_logits(lg.data());
        bool same = mf.has_ln_state && mf.version == (IS_FP32_BUILD ? 3 : 5) && back == mf.params &&
                    lc == lg && r1.ce == r2.ce && r1.aux == r2.aux;
        if (IS_FP32_BUILD) same = same && back == p;
        printf("  %-4s save/reload (v%d + LN trailer): identical parameters and logits\n", same ? "OK" : "FAIL",
               mf.version);
        report(same);
    }
    {
        const std::vector<Case> cs = make_cases(c, o0, eot);
        printf("case: recompute\n");
        recompute_cases(c, params, cs, in, tg, B, T);
        split_buffer_case(c, params, cs[0], cs[1], in, tg, B, T);
    }
    // the GELU epilogue path (kernels/matmul.cuh) on the first and the aux-loss case: forward
    // and gradients against the CPU model; at these shapes cuBLASLt must accept it (no fallback)
    gpu.set_gelu_impl(GeluImpl::Epilogue);
    const long fallbacks = g_gelu_epilogue_fallbacks;
    for (const Case& k : make_cases(c, o0, eot)) {
        if (k.name != make_cases(c, o0, eot).front().name && k.aux_lambda == 0) continue;
        printf("case: %s, GELU in the cuBLASLt epilogue\n", k.name.c_str());
        GPT2CPU cpu(c);
        cpu.set_parameters(params.data());
        cpu.set_ln_state(k.ln);
        cpu.set_aux_lambda(k.aux_lambda);
        cpu.set_gelu(k.gelu);
        gpu.set_parameters(params.data());
        gpu.set_ln_state(k.ln);
        gpu.set_aux_lambda(k.aux_lambda);
        gpu.set_gelu(k.gelu);  // the cases before may have left the erf form set
        ForwardResult rc, rg;
        first_step(cpu, gpu, in, tg, B, T, k.aux_lambda > 0, &rc, &rg);
    }
    const bool fused = g_gelu_epilogue_fallbacks == fallbacks;
    printf("  %-4s the GELU epilogue ran fused (%ld fallbacks)\n", fused ? "OK" : "FAIL", g_gelu_epilogue_fallbacks - fallbacks);
    report(fused);
    gpu.set_gelu_impl(GeluImpl::Kernels);

    // The training loop's queued micro-steps (host/model.h forward_micro, micro_results,
    // backward_and_reduce) against forward()/sigma_obs() after each forward and
    // backward()+allreduce_gradients(): three micro-steps of different batches, the aux case
    // (its scalars ride along); results, observations, gradients and norm bit for bit.
    for (const Case& k : make_cases(c, o0, eot)) {
        if (k.aux_lambda == 0) continue;
        GPT2CUDA a(c), b(c);
        for (GPT2CUDA* m : {&a, &b}) {
            m->set_parameters(params.data());
            m->set_ln_state(k.ln);
            m->set_aux_lambda(k.aux_lambda);
            m->set_gelu(k.gelu);
            m->zero_grad();
        }
        const int K = 3;
        std::vector<ForwardResult> rb(K);
        std::vector<SigmaObs> ob(K);
        for (int j = 0; j < K; j++) {
            std::vector<int> ij(N);  // batch j: the tokens rotated by j positions
            for (int i = 0; i < N; i++) ij[i] = in[(i + j) % N];
            a.forward_micro(j, ij.data(), tg.data(), B, T);
            rb[j] = b.forward(ij.data(), tg.data(), B, T);
            ob[j] = b.sigma_obs();
            if (j + 1 < K) a.backward(1.0f / K);
            else a.backward_and_reduce(1.0f / K);
            b.backward(1.0f / K);
        }
        b.allreduce_gradients();
        const std::vector<MicroResult>& ra = a.micro_results();
        bool same = (int)ra.size() == K;
        for (int j = 0; same && j < K; j++)
            same = ra[j].r.ce == rb[j].ce && ra[j].r.aux == rb[j].aux && ra[j].r.ntargets == rb[j].ntargets &&
                   flatten_obs(ra[j].obs) == flatten_obs(ob[j]) && (j == 0 || rb[j].ce != rb[0].ce);
        std::vector<float> ga(P), gb(P);
        a.get_gradients(ga.data());
        b.get_gradients(gb.data());
        const float na = a.grad_norm(), nb = b.grad_norm();
        same = same && ga == gb && na == nb;
        printf("  %-4s %s: %d queued micro-steps (forward_micro, micro_results, backward_and_reduce) give "
               "forward()'s results, observations, gradients and norm bit for bit\n", same ? "OK" : "FAIL",
               k.name.c_str(), K);
        report(same);
        break;
    }
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}

int main(int argc, char** argv) {
    if (argc != 1 && argc != 3) {
        fprintf(stderr, "usage: %s [MODEL.bin STATE.bin]\n", argv[0]);
        return 1;
    }
    try {
        return argc == 3 ? run_state(argv[1], argv[2]) : run_builtin();
    } catch (const Error& e) {
        fprintf(stderr, "test_gpt2: %s\n", e.what());
        return 1;
    }
}
