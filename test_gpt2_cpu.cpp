// test_gpt2_cpu MODEL.bin STATE.bin [tanh|erf]: runs the CPU GPT-2 on the batch of a reference debug
// state (llm.c's format, optionally with noln's trailer) and compares logits, loss and all
// 16 parameter gradients, then the losses of the state's AdamW steps on the same batch.
// The third argument picks the MLP's GELU (default tanh, GPT-2's; erf for the exact form).
// Exit 0 only if everything is within tolerance (docs/cpu-reference.md).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cpu/gpt2_cpu.h"
#include "io/debug_state.h"
#include "host/error.h"
#include "io/model_file.h"

using namespace noln;

// Errors are relative to the reference tensor's largest magnitude: per-element relative
// errors are meaningless for entries that are zero up to rounding (most gradients have some).
static const double TOL_LOGITS = 1e-5, TOL_LOSS = 1e-5, TOL_GRADS = 1e-5, TOL_STEPS = 1e-5;

static bool compare(const char* what, const float* got, const float* ref, size_t n, double tol) {
    double maxabs = 0, maxref = 0;
    for (size_t i = 0; i < n; i++) {
        double d = std::fabs((double)got[i] - ref[i]);
        if (!(d <= maxabs)) maxabs = d;  // NaN propagates
        maxref = std::max(maxref, std::fabs((double)ref[i]));
    }
    const double rel = maxref > 0 ? maxabs / maxref : maxabs;
    const bool ok = rel <= tol;
    printf("%-4s %-10s max abs err %.3e  max rel err %.3e  (|ref| max %.3e, tol %.0e)\n",
           ok ? "OK" : "FAIL", what, maxabs, rel, maxref, tol);
    return ok;
}

static int run(const char* model_path, const char* state_path, Gelu gelu) {
    ModelFile mf = read_model_file(model_path);
    const GPT2Config& c = mf.config;
    DebugState s = read_debug_state(state_path, c);
    printf("model %s: L=%d NH=%d C=%d V=%d Vp=%d maxT=%d, %zu parameters, LN trailer: %s\n",
           model_path, c.num_layers, c.num_heads, c.channels, c.vocab_size, c.padded_vocab_size,
           c.max_seq_len, num_parameters(c), mf.has_ln_state ? "yes" : "no (all REAL)");
    printf("state %s: B=%d T=%d, noln trailer: %s\n", state_path, s.B, s.T,
           s.has_trailer ? "yes" : "no");
    bool ok = true;
    GPT2CPU model(mf);
    model.set_gelu(gelu);
    printf("GELU: %s\n", gelu_name(gelu));
    model.set_aux_lambda(s.has_trailer ? s.aux_lambda : 0.0f);
    ForwardResult r = model.forward(s.x.data(), s.y.data(), s.B, s.T);
    std::vector<float> logits((size_t)s.B * s.T * c.vocab_size);
    model.get_logits(logits.data());
    ok &= compare("logits", logits.data(), s.logits.data(), logits.size(), TOL_LOGITS);
    const float loss = r.ce + r.aux;
    ok &= compare("loss", &loss, &s.loss, 1, TOL_LOSS);
    if (s.has_trailer) {
        ok &= compare("ce", &r.ce, &s.ce, 1, TOL_LOSS);
        if (s.aux_lambda > 0) ok &= compare("aux", &r.aux, &s.aux, 1, TOL_LOSS);
    }
    model.zero_grad();
    model.backward(1.0f);
    std::vector<float> g(num_parameters(c));
    model.get_gradients(g.data());
    size_t sizes[NUM_PARAM_TENSORS];
    param_sizes(c, sizes);
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
        const size_t off = param_offset(c, t);
        ok &= compare(PARAM_NAMES[t], g.data() + off, s.grads.data() + off, sizes[t], TOL_GRADS);
    }

    if (s.has_trailer && !s.step_losses.empty()) {
        printf("%zu AdamW steps (lr %g betas %g %g eps %g wd %g):\n", s.step_losses.size(),
               s.adamw.lr, s.adamw.beta1, s.adamw.beta2, s.adamw.eps, s.adamw.weight_decay);
        GPT2CPU m2(mf);
        m2.set_gelu(gelu);
        m2.set_aux_lambda(s.aux_lambda);
        double worst = 0;
        for (size_t i = 0; i < s.step_losses.size(); i++) {
            m2.zero_grad();
            ForwardResult ri = m2.forward(s.x.data(), s.y.data(), s.B, s.T);
            const double got = (double)ri.ce + ri.aux, ref = s.step_losses[i];
            const double rel = std::fabs(got - ref) / std::max(std::fabs(ref), 1e-6);
            worst = std::isnan(rel) ? rel : std::max(worst, rel);
            printf("  step %2zu loss %.6f ref %.6f rel err %.2e\n", i + 1, got, ref, rel);
            m2.backward(1.0f);
            m2.adamw_step(s.adamw, 1.0f, (int)i + 1);
        }
        const bool sok = worst <= TOL_STEPS;
        printf("%-4s step losses: max rel err %.3e (tol %.0e)\n", sok ? "OK" : "FAIL", worst,
               TOL_STEPS);
        ok &= sok;
    }
    printf("test_gpt2_cpu: %s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}

int main(int argc, char** argv) {
    const std::string g = argc == 4 ? argv[3] : "tanh";
    if ((argc != 3 && argc != 4) || (g != "tanh" && g != "erf")) {
        fprintf(stderr, "usage: %s MODEL.bin STATE.bin [tanh|erf]\n", argv[0]);
        return 1;
    }
    try {
        return run(argv[1], argv[2], g == "erf" ? Gelu::Erf : Gelu::Tanh);
    } catch (const Error& e) {
        fprintf(stderr, "test_gpt2_cpu: %s\n", e.what());
        return 1;
    }
}
