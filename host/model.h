// The narrow interface between the one host training loop and a backend (the CPU model in
// cpu/, the CUDA model in the .cu programs). Everything the schedule, the loop, the
// checkpoints and the evals need goes through here; nothing else about a backend leaks out.
//
// Conventions:
//  - Parameters, gradients and optimizer moments cross this boundary as fp32 buffers in
//    llm.c's file order (host/gpt2_config.h), whatever the backend stores internally.
//  - inputs/targets are B*T token ids; a target < 0 is ignored (masked) by the loss.
//  - The loss of one forward is the mean cross-entropy over counted targets plus, when
//    aux_lambda > 0, the aux loss of docs/method.md §4. backward(scale) accumulates the gradient
//    of scale * that loss into the gradient buffers (scale = 1/grad_accum_steps).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "host/error.h"
#include "host/gelu_kind.h"
#include "host/gpt2_config.h"
#include "host/ln_paths.h"

namespace noln {

struct ForwardResult {
    float ce = 0.0f;       // mean cross-entropy over counted targets (0 if targets == nullptr)
    float aux = 0.0f;      // lambda * aux term (0 when aux_lambda == 0)
    long ntargets = 0;     // how many targets were counted
};

// What the loop reads of one training micro-step (forward_micro / micro_results): the
// forward's result and its sigma observations.
struct MicroResult {
    ForwardResult r;
    SigmaObs obs;
};

struct AdamW {
    float lr = 6e-4f, beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f, weight_decay = 0.0f;
};

class Model {
public:
    virtual ~Model() = default;
    virtual const GPT2Config& config() const = 0;
    size_t num_parameters() const { return noln::num_parameters(config()); }

    virtual void get_parameters(float* out) const = 0;
    virtual void set_parameters(const float* in) = 0;

    // LN path states and divisors for every following forward/backward.
    virtual void set_ln_state(const LNState& s) = 0;
    virtual void set_aux_lambda(float lambda) = 0;
    // The MLP's GELU for every following forward/backward (host/gelu_kind.h). A backend
    // with only GPT-2's tanh form refuses the other.
    virtual void set_gelu(Gelu g) {
        if (g != Gelu::Tanh) fail("this backend has only the tanh GELU (--gelu %s)", gelu_name(g));
    }

    // One micro-batch. targets may be nullptr (inference: no loss, no backward).
    virtual ForwardResult forward(const int* inputs, const int* targets, int B, int T) = 0;
    // Sigma observations of the last forward (docs/method.md §3), site order.
    virtual const SigmaObs& sigma_obs() const = 0;
    // Per-position cross-entropy of the last forward, B*T floats (0 where the target was
    // masked); used by the HellaSwag eval.
    virtual void get_token_losses(float* out) const = 0;
    // Logits of the last forward, B*T*V floats (unpadded V); used by tests and export checks.
    virtual void get_logits(float* out) const = 0;

    // The training loop's micro-steps (train/train_loop.cpp). forward_micro(k, ...) is the
    // forward of micro-step k (0, 1, ... of one optimizer step, with targets) whose result
    // and sigma observations the loop reads only after the step's last backward, from
    // micro_results() (entries 0..k of the last k): a backend may leave them on its device
    // until then and fetch every micro-step's at once (the CUDA model: one host wait per
    // optimizer step, docs/gpu.md). micro_results()[k] is what forward() and sigma_obs()
    // would have given. sigma_obs() and get_token_losses() need not describe a
    // forward_micro. The defaults: forward(), its result and observations kept here.
    virtual void forward_micro(int k, const int* inputs, const int* targets, int B, int T) {
        micro_.resize((size_t)k + 1);
        micro_[k].r = forward(inputs, targets, B, T);
        micro_[k].obs = sigma_obs();
    }
    virtual const std::vector<MicroResult>& micro_results() { return micro_; }

    virtual void zero_grad() = 0;
    virtual void backward(float scale) = 0;
    virtual void get_gradients(float* out) const = 0;
    // Sum gradients over data-parallel ranks (no-op on one rank).
    virtual void allreduce_gradients() {}
    // The last micro-step's backward(scale), then allreduce_gradients(). A backend may
    // reduce each layer's gradients as soon as the backward has produced them (the CUDA
    // model's overlap, docs/gpu.md); the default does the two in turn.
    virtual void backward_and_reduce(float scale) {
        backward(scale);
        allreduce_gradients();
    }
    // Global L2 norm of the accumulated gradients (after allreduce).
    virtual float grad_norm() = 0;
    // One AdamW step (bias-corrected, t counts from 1); gradients are multiplied by
    // grad_scale first (the clipping factor, 1 when not clipping). Weight decay only on the
    // 2-D tensors (param_is_decayed).
    virtual void adamw_step(const AdamW& h, float grad_scale, int t) = 0;
    // ZeRO-1 (-z 1): this rank keeps the optimizer state (m, v and the masters) of the
    // parameters [state_first(), state_first() + state_count()) only. The defaults: all of them.
    virtual size_t state_first() const { return 0; }
    virtual size_t state_count() const { return num_parameters(); }
    // Optimizer moments of this rank's range, state_count() floats each.
    virtual void get_optimizer_state(float* m, float* v) const = 0;
    virtual void set_optimizer_state(const float* m, const float* v) = 0;

    // What a checkpoint stores (docs/training.md "Checkpoints"). A backend that trains in
    // bf16 keeps fp32 master weights beside its bf16 working parameters, and a bit-exact
    // resume needs both as they were: its model file is v5 holding the working parameters
    // (get/set_working_parameters: the bf16 values widened to fp32, which is exact, the
    // masters untouched), and the masters go into the training-state file. The defaults
    // describe an fp32 backend: v3, the working parameters are the parameters, no masters.
    // get_parameters stays the optimizer's truth (the masters where there are some).
    virtual int model_file_version() const { return 3; }
    virtual void get_working_parameters(float* out) const { get_parameters(out); }
    virtual void set_working_parameters(const float* in) { set_parameters(in); }
    // The masters of this rank's range (state_count() floats).
    virtual bool has_master_weights() const { return false; }
    virtual void get_master_weights(float* out) const { (void)out; }
    virtual void set_master_weights(const float* in) { (void)in; }

    // Throughput (docs/gpu.md "train_gpt2_noln and MFU"): the loop times each step and, for
    // a backend that names its device, prints the achieved FLOP/s and the MFU against
    // peak_flops(), the device's dense peak FLOP/s in precision_name()'s arithmetic
    // (0: unknown, no MFU). The defaults (the CPU) name no device: no such lines.
    virtual std::string device_name() const { return ""; }
    virtual double peak_flops() const { return 0.0; }
    virtual const char* precision_name() const { return "FP32"; }

protected:
    std::vector<MicroResult> micro_;  // the default forward_micro's results
};

}  // namespace noln
