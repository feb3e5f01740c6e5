// The CPU GPT-2: the no-GPU backend and the reference every other backend is checked
// against. fp32 parameters, activations and AdamW moments; matmuls through OpenBLAS,
// everything else OpenMP loops (the ops in cpu/*.h). The work is done by GPT2Core<float>
// (cpu/gpt2_core.h); this class adds the optimizer state and the noln::Model interface.
#pragma once
#include <cstdint>
#include <vector>

#include "cpu/gpt2_core.h"
#include "host/model.h"

namespace noln {

struct ModelFile;  // io/model_file.h

class GPT2CPU : public Model {
public:
    // All parameters zero (fill them with set_parameters; gpt2_init_params in host/gpt2_config.h makes fresh ones), all LN paths REAL.
    explicit GPT2CPU(const GPT2Config& c);
    // Parameters from the file; the LN state from its trailer when it has one (else all REAL).
    explicit GPT2CPU(const ModelFile& f);

    const GPT2Config& config() const override { return core_.cfg; }
    void get_parameters(float* out) const override;
    void set_parameters(const float* in) override;
    void set_ln_state(const LNState& s) override;
    void set_aux_lambda(float lambda) override;
    void set_gelu(Gelu g) override { core_.gelu = g; }
    const LNState& ln_state() const { return core_.ln; }

    ForwardResult forward(const int* inputs, const int* targets, int B, int T) override;
    const SigmaObs& sigma_obs() const override { return core_.obs; }
    void get_token_losses(float* out) const override;
    void get_logits(float* out) const override;

    void zero_grad() override;
    void backward(float scale) override;
    void get_gradients(float* out) const override;
    void allreduce_gradients() override;
    float grad_norm() override;
    void adamw_step(const AdamW& h, float grad_scale, int t) override;
    void get_optimizer_state(float* m, float* v) const override;
    void set_optimizer_state(const float* m, const float* v) override;

    // Direct access for tests and tools (file order, num_parameters() floats).
    float* params() { return core_.params.data(); }
    float* grads() { return core_.grads.data(); }
    // The forward's state (activations of the last forward, read-only): for analysis tools.
    const GPT2Core<float>& core() const { return core_; }
    // Per-op timing of forward/backward into p (nullptr: off); see cpu/op_profile.h.
    void set_profile(OpProfile* p) { core_.profile = p; }

private:
    GPT2Core<float> core_;
    std::vector<float> m_, v_;
};

}  // namespace noln
