// The CUDA GPT-2: noln::Model on the kernels of kernels/*.cuh, behind the same host loop as
// the CPU model (cpu/gpt2_core.cpp is its twin, op for op). Parameters, gradients and
// activations are floatX (bf16, or fp32 with -DENABLE_FP32) on the device; AdamW moments,
// the bf16 build's master weights, LN statistics, sigma observations and losses are fp32.
// The LN state lives in device memory (one LNPathParams per path, in the path order of
// host/ln_paths.h), so the schedule changing it is one small copy. Builds with the real nvcc and with emu/nvcc-emu (docs/gpu.md).
#pragma once
#include <cuda_runtime.h>
#include <nccl.h>

#include <cmath>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "cuda/gpu_peaks.h"
#include "host/dist.h"
#include "host/error.h"
#include "host/model.h"
#include "io/model_file.h"
#include "kernels/adamw.cuh"
#include "kernels/attention.cuh"
#include "kernels/aux_loss.cuh"
#include "kernels/classifier.cuh"
#include "kernels/common.cuh"
#include "kernels/encoder.cuh"
#include "kernels/gelu.cuh"
#include "kernels/global_norm.cuh"
#include "kernels/ln_path.cuh"
#include "kernels/matmul.cuh"
#include "kernels/residual.cuh"

#define NCCL_CHECK(call)                                                                     \
    do {                                                                                     \
        ncclResult_t nccl_check_r_ = (call);                                                 \
        if (nccl_check_r_ != ncclSuccess)                                                    \
            noln::fail("NCCL error at %s:%d: %s (%s)", __FILE__, __LINE__,                   \
                       ncclGetErrorString(nccl_check_r_), #call);                            \
    } while (0)

namespace noln {

// Picks this rank's GPU; a clear error instead of a CUDA one when there is none.
inline int cuda_select_device() {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) fail("no usable CUDA GPU: cudaGetDeviceCount failed: %s", cudaGetErrorString(e));
    if (n <= 0) fail("no CUDA GPU found (cudaGetDeviceCount returned 0)");
    const int dev = dist().rank % n;
    CUDA_CHECK(cudaSetDevice(dev));
    return dev;
}

class GPT2CUDA : public Model {
public:
    explicit GPT2CUDA(const GPT2Config& c) : cfg_(c), ln_(c.num_layers), obs_(c.num_layers) {
        validate_config(c, "GPT2 CUDA model");
        device_ = cuda_select_device();
        const size_t P = noln::num_parameters(c);
        params_ = dalloc<floatX>(P, "parameters");
        grads_ = dalloc<floatX>(P, "gradients");
        m_ = dalloc<float>(P, "AdamW first moments");
        v_ = dalloc<float>(P, "AdamW second moments");
#if !defined(ENABLE_FP32)
        master_ = dalloc<float>(P, "fp32 master weights");
#endif
        lnpaths_ = dalloc<LNPathParams>(num_paths(c.num_layers), "LN path states");
        obs_dev_ = dalloc<float>(2 * num_sites(c.num_layers), "sigma observations");
        aux_out_ = dalloc<float>(2, "aux loss scalars");
        gn_partials_ = dalloc<float>((size_t)NUM_PARAM_TENSORS * GN_BLOCKS, "grad norm partials");
        gn_out_ = dalloc<float>(1, "grad norm");
        CUDA_CHECK(cudaMemset(m_, 0, P * sizeof(float)));
        CUDA_CHECK(cudaMemset(v_, 0, P * sizeof(float)));
        CUDA_CHECK(cudaMemset(params_, 0, P * sizeof(floatX)));
        CUDA_CHECK(cudaMemset(grads_, 0, P * sizeof(floatX)));
        if (master_) CUDA_CHECK(cudaMemset(master_, 0, P * sizeof(float)));
        for (int t = 0; t < NUM_PARAM_TENSORS; t++) offs_[t] = param_offset(c, t);
        param_sizes(c, sizes_);
        set_ln_state(ln_);
    }
    // Parameters from the file; the LN state from its trailer when it has one.
    explicit GPT2CUDA(const ModelFile& f) : GPT2CUDA(f.config) {
        if (f.params.size() != num_parameters())
            fail("GPT2CUDA: model file holds %zu parameters, its config needs %zu", f.params.size(),
                 num_parameters());
        set_parameters(f.params.data());
        if (f.has_ln_state) set_ln_state(f.ln);
    }
    GPT2CUDA(const GPT2CUDA&) = delete;
    GPT2CUDA& operator=(const GPT2CUDA&) = delete;
    ~GPT2CUDA() override {
        // no throwing from a destructor: errors here are ignored on purpose
        for (void* p : allocs_) cudaFree(p);
        if (nccl_) ncclCommDestroy(nccl_);
    }

    const GPT2Config& config() const override { return cfg_; }
    const LNState& ln_state() const { return ln_; }

    // fp32 in file order. The bf16 build hands out its fp32 masters (the optimizer's truth).
    void get_parameters(float* out) const override {
        if (master_) return d2h(out, master_, num_parameters());
        d2h_x(out, params_, num_parameters());
    }
    // The bf16 build keeps the fp32 values as masters and rounds the parameters to nearest.
    void set_parameters(const float* in) override {
        const size_t P = num_parameters();
        if (master_) {
            CUDA_CHECK(cudaMemcpy(master_, in, P * sizeof(float), cudaMemcpyHostToDevice));
            copy_master_to_params(params_, master_, P);
            CUDA_CHECK(cudaDeviceSynchronize());
        } else {
            h2d_x(params_, in, P);
        }
    }

    // Checkpoints (host/model.h): the BF16 build stores its bf16 working parameters as a v5
    // file and its masters beside the optimizer state, so a resume continues from exactly
    // the stochastically rounded parameters the run had.
#if defined(ENABLE_FP32)
    int model_file_version() const override { return MODEL_VERSION_FP32; }
#else
    int model_file_version() const override { return MODEL_VERSION_BF16; }
#endif
    void get_working_parameters(float* out) const override { d2h_x(out, params_, num_parameters()); }
    // The values must be floatX-representable (they are, read from a v5 file): the
    // conversion is then exact whatever its rounding. The masters are left alone.
    void set_working_parameters(const float* in) override { h2d_x(params_, in, num_parameters()); }
    bool has_master_weights() const override { return master_ != nullptr; }
    void get_master_weights(float* out) const override {
        if (master_) d2h(out, master_, num_parameters());
    }
    void set_master_weights(const float* in) override {
        if (master_) CUDA_CHECK(cudaMemcpy(master_, in, num_parameters() * sizeof(float), cudaMemcpyHostToDevice));
    }

    void set_ln_state(const LNState& s) override {
        const int L = cfg_.num_layers;
        if (s.num_layers() != L || (int)s.paths.size() != num_paths(L))
            fail("GPT2CUDA: LN state has %d layers, the model %d", s.num_layers(), L);
        ln_ = s;
        std::vector<LNPathParams> h(s.paths.size());
        for (size_t i = 0; i < h.size(); i++) h[i] = ln_path_params(s, (int)i);
        CUDA_CHECK(cudaMemcpy(lnpaths_, h.data(), h.size() * sizeof(LNPathParams), cudaMemcpyHostToDevice));
    }
    void set_aux_lambda(float lambda) override {
        if (!(lambda >= 0.0f)) fail("GPT2CUDA: aux lambda %g must be >= 0", lambda);
        aux_lambda_ = lambda;
    }
    void set_gelu(Gelu g) override { gelu_ = g; }

    ForwardResult forward(const int* inputs, const int* targets, int B, int T) override;
    const SigmaObs& sigma_obs() const override { return obs_; }
    void get_token_losses(float* out) const override {
        std::memcpy(out, token_losses_.data(), token_losses_.size() * sizeof(float));
    }
    void get_logits(float* out) const override;

    void zero_grad() override {
        CUDA_CHECK(cudaMemset(grads_, 0, num_parameters() * sizeof(floatX)));
    }
    void backward(float scale) override;
    void get_gradients(float* out) const override { d2h_x(out, grads_, num_parameters()); }
    void allreduce_gradients() override;
    float grad_norm() override {
        for (int k = 0; k < NUM_PARAM_TENSORS; k++)
            global_norm_squared_partial(gn_partials_, k, grads_ + offs_[k], sizes_[k]);
        global_norm_squared_finish(gn_out_, gn_partials_, NUM_PARAM_TENSORS);
        float s = 0.0f;
        CUDA_CHECK(cudaMemcpy(&s, gn_out_, sizeof s, cudaMemcpyDeviceToHost));
        return std::sqrt(s);
    }
    void adamw_step(const AdamW& h, float grad_scale, int t) override {
        if (t < 1) fail("GPT2CUDA: AdamW step t=%d must count from 1", t);
        for (int k = 0; k < NUM_PARAM_TENSORS; k++) {
            const size_t o = offs_[k];
            // a fresh stream of rounding bits per (step, tensor): reproducible, uncorrelated
            const uint32_t seed = hash_u32((uint32_t)t, 0x5EEDu + (uint32_t)k);
            adamw_update(params_ + o, master_ ? master_ + o : nullptr, grads_ + o, m_ + o, v_ + o,
                         sizes_[k], h.lr, h.beta1, h.beta2, h.eps, param_is_decayed(k) ? h.weight_decay : 0.0f,
                         grad_scale, t, seed);
        }
        CUDA_CHECK(cudaDeviceSynchronize());
    }
    void get_optimizer_state(float* m, float* v) const override {
        d2h(m, m_, num_parameters());
        d2h(v, v_, num_parameters());
    }
    void set_optimizer_state(const float* m, const float* v) override {
        const size_t P = num_parameters();
        CUDA_CHECK(cudaMemcpy(m_, m, P * sizeof(float), cudaMemcpyHostToDevice));
        CUDA_CHECK(cudaMemcpy(v_, v, P * sizeof(float), cudaMemcpyHostToDevice));
    }

    int device() const { return device_; }

    // Throughput reporting (host/model.h): the GPU's name and dense peak for floatX.
    std::string device_name() const override {
        cudaDeviceProp prop;
        CUDA_CHECK(cudaGetDeviceProperties(&prop, device_));
        return prop.name;
    }
    // cuda/gpu_peaks.h; 0 for an unknown GPU and for the emulator.
    double peak_flops() const override {
        const GPUPeak* p = gpu_peak(device_name().c_str());
#if defined(ENABLE_FP32)
        return p ? 1e12 * p->fp32 : 0.0;
#else
        return p ? 1e12 * p->bf16 : 0.0;
#endif
    }
    const char* precision_name() const override { return PRECISION_NAME; }

    // How the MLP's GELU runs (kernels/matmul.cuh): our own kernels (default) or cuBLASLt's
    // epilogue, which falls back to our kernels where cuBLASLt refuses it.
    void set_gelu_impl(GeluImpl g) { gelu_impl_ = g; }
    GeluImpl gelu_impl() const { return gelu_impl_; }

private:
    GPT2Config cfg_;
    LNState ln_;
    SigmaObs obs_;
    float aux_lambda_ = 0.0f;
    GeluImpl gelu_impl_ = GeluImpl::Kernels;
    Gelu gelu_ = Gelu::Tanh;  // --gelu (host/gelu_kind.h)
    int device_ = 0;
    size_t offs_[NUM_PARAM_TENSORS], sizes_[NUM_PARAM_TENSORS];
    std::vector<void*> allocs_;
    ncclComm_t nccl_ = nullptr;

    floatX *params_ = nullptr, *grads_ = nullptr;
    float *m_ = nullptr, *v_ = nullptr, *master_ = nullptr;
    LNPathParams* lnpaths_ = nullptr;  // path order (host/ln_paths.h)
    float* obs_dev_ = nullptr;         // a SiteObs (2 floats) per site, site order
    float *aux_out_ = nullptr, *gn_partials_ = nullptr, *gn_out_ = nullptr;

    // The last forward.
    int B_ = 0, T_ = 0;
    long ntargets_ = 0;
    bool backward_ready_ = false, logits_valid_ = false;
    std::vector<float> token_losses_;
    EncoderBuckets buckets_;

    // Activations, sized for B_*T_ (acts_n_ tokens); per-layer arrays are stacked.
    size_t acts_n_ = 0;
    std::vector<void*> act_allocs_;
    int *inputs_ = nullptr, *targets_ = nullptr, *bk_tokens_ = nullptr, *bk_start_ = nullptr, *bk_pos_ = nullptr;
    floatX *encoded_ = nullptr, *ln1_ = nullptr, *ln1v_ = nullptr, *qkv_ = nullptr, *atty_ = nullptr,
           *attproj_ = nullptr, *residual2_ = nullptr, *ln2_ = nullptr, *fch_ = nullptr,
           *fch_gelu_ = nullptr, *fcproj_ = nullptr, *residual3_ = nullptr, *lnf_ = nullptr, *logits_ = nullptr;
    float *ln1_mean_ = nullptr, *ln1_rstd_ = nullptr, *ln1v_rstd_ = nullptr, *ln2_mean_ = nullptr,
          *ln2_rstd_ = nullptr, *lnf_mean_ = nullptr, *lnf_rstd_ = nullptr, *losses_ = nullptr, *lse_ = nullptr,
          *aux_sigma_ = nullptr, *obs_partial_ = nullptr, *att_lse_ = nullptr;
    // Backward scratch (activation gradients are reused layer by layer, as on the CPU).
    floatX *dres_ = nullptr, *dln_ = nullptr, *dlnv_ = nullptr, *dqkv_ = nullptr, *datty_ = nullptr,
           *dfch_ = nullptr, *dfchg_ = nullptr;
    float *att_d_ = nullptr, *ln_scratch_ = nullptr, *bias_scratch_ = nullptr;

    // cudaMalloc that says what it was for and how much it wanted when it fails.
    template <typename T>
    T* dalloc(size_t n, const char* what, std::vector<void*>* list = nullptr) {
        void* p = nullptr;
        const size_t bytes = (n ? n : 1) * sizeof(T);
        const cudaError_t e = cudaMalloc(&p, bytes);
        if (e != cudaSuccess) {
            cudaGetLastError();  // clear the sticky error so the message is the last word
            size_t free_b = 0, total_b = 0;
            cudaMemGetInfo(&free_b, &total_b);
            fail("GPT2CUDA: cudaMalloc of %zu bytes (%.2f GiB) for %s failed: %s (GPU has %.2f of %.2f GiB "
                 "free); the model does not fit: use a smaller -b/-t or model",
                 bytes, bytes / 1073741824.0, what, cudaGetErrorString(e), free_b / 1073741824.0,
                 total_b / 1073741824.0);
        }
        (list ? list : &allocs_)->push_back(p);
        return (T*)p;
    }
    static void d2h(float* out, const float* d, size_t n) {
        CUDA_CHECK(cudaMemcpy(out, d, n * sizeof(float), cudaMemcpyDeviceToHost));
    }
    static void d2h_x(float* out, const floatX* d, size_t n) {
        std::vector<floatX> t(n);
        CUDA_CHECK(cudaMemcpy(t.data(), d, n * sizeof(floatX), cudaMemcpyDeviceToHost));
        for (size_t i = 0; i < n; i++) out[i] = to_float(t[i]);
    }
    static void h2d_x(floatX* d, const float* in, size_t n) {
        std::vector<floatX> t(n);
        for (size_t i = 0; i < n; i++) t[i] = from_float<floatX>(in[i]);
        CUDA_CHECK(cudaMemcpy(d, t.data(), n * sizeof(floatX), cudaMemcpyHostToDevice));
    }
    floatX* param(int t) const { return params_ + offs_[t]; }
    floatX* grad(int t) const { return grads_ + offs_[t]; }
    const LNPathParams* path_dev(PathKind k, int l = 0) const { return lnpaths_ + path_index(k, l, cfg_.num_layers); }
    float* obs_dev(SiteKind s, int l = 0) const { return obs_dev_ + 2 * site_index(s, l, cfg_.num_layers); }
    void ensure_acts(int B, int T);
    // Where LN site (s, layer l) of the last forward reads and writes: the one description
    // of a site's wiring, used by the forward and (through ln_site_backward) the backward.
    LNSiteForward ln_site(SiteKind s, int l) const;
    // The site's backward: dout1 (and dout2, the V path's, on a split ln_1) into dres_ and
    // the site's gamma/beta gradients.
    // dx_overwrite: dres_ is written, not added to (the first gradient to reach it).
    void ln_site_grad(SiteKind s, int l, const floatX* dout1, const floatX* dout2 = nullptr, bool dx_overwrite = false);
};

inline void GPT2CUDA::ensure_acts(int B, int T) {
    const size_t N = (size_t)B * T, C = cfg_.channels, L = cfg_.num_layers, NH = cfg_.num_heads,
                 Vp = cfg_.padded_vocab_size;
    if (N <= acts_n_) return;
    for (void* p : act_allocs_) {
        CUDA_CHECK(cudaFree(p));
        allocs_.erase(std::find(allocs_.begin(), allocs_.end(), p));
    }
    act_allocs_.clear();
    auto X = [&](size_t n, const char* what) { return dalloc<floatX>(n, what, &act_allocs_); };
    auto F = [&](size_t n, const char* what) { return dalloc<float>(n, what, &act_allocs_); };
    auto I = [&](size_t n, const char* what) { return dalloc<int>(n, what, &act_allocs_); };
    inputs_ = I(N, "inputs");
    targets_ = I(N, "targets");
    bk_tokens_ = I(N, "encoder buckets");
    bk_start_ = I(N + 1, "encoder buckets");
    bk_pos_ = I(N, "encoder buckets");
    encoded_ = X(N * C, "activations (encoded)");
    ln1_ = X(L * N * C, "activations (ln1)");
    ln1v_ = X(L * N * C, "activations (ln1v)");
    qkv_ = X(L * N * 3 * C, "activations (qkv)");
    atty_ = X(L * N * C, "activations (atty)");
    att_lse_ = F(L * N * NH, "activations (attention log-sum-exp)");  // no T^2 matrix (flash style)
    attproj_ = X(N * C, "activations (attproj)");
    residual2_ = X(L * N * C, "activations (residual2)");
    ln2_ = X(L * N * C, "activations (ln2)");
    fch_ = X(L * N * 4 * C, "activations (fch)");
    fch_gelu_ = X(L * N * 4 * C, "activations (fch_gelu)");
    fcproj_ = X(N * C, "activations (fcproj)");
    residual3_ = X(L * N * C, "activations (residual3)");
    lnf_ = X(N * C, "activations (lnf)");
    logits_ = X(N * Vp, "logits");
    ln1_mean_ = F(L * N, "LN statistics");
    ln1_rstd_ = F(L * N, "LN statistics");
    ln1v_rstd_ = F(L * N, "LN statistics");
    ln2_mean_ = F(L * N, "LN statistics");
    ln2_rstd_ = F(L * N, "LN statistics");
    lnf_mean_ = F(N, "LN statistics");
    lnf_rstd_ = F(N, "LN statistics");
    losses_ = F(N, "token losses");
    lse_ = F(N, "logit log-sum-exps");
    aux_sigma_ = F(N, "aux loss sigmas");
    obs_partial_ = F(2 * (size_t)ln_forward_blocks((int)N), "sigma observation partials");
    dres_ = X(N * C, "backward scratch (dres)");
    dln_ = X(N * C, "backward scratch (dln)");
    dlnv_ = X(N * C, "backward scratch (dlnv)");
    dqkv_ = X(N * 3 * C, "backward scratch (dqkv)");
    datty_ = X(N * C, "backward scratch (datty)");
    dfch_ = X(N * 4 * C, "backward scratch (dfch)");
    dfchg_ = X(N * 4 * C, "backward scratch (dfchg)");
    att_d_ = F(N * NH, "backward scratch (attention D)");
    ln_scratch_ = F(ln_backward_scratch_floats((int)N, (int)C), "backward scratch (LN)");
    bias_scratch_ = F(bias_backward_scratch_floats((int)N, (int)(4 * C)), "backward scratch (bias)");
    acts_n_ = N;
}

inline ForwardResult GPT2CUDA::forward(const int* in, const int* tg, int B, int T) {
    const int C = cfg_.channels, L = cfg_.num_layers, NH = cfg_.num_heads, V = cfg_.vocab_size,
              Vp = cfg_.padded_vocab_size;
    if (B <= 0 || T <= 0 || T > cfg_.max_seq_len)
        fail("GPT2 CUDA forward: B=%d T=%d invalid (need B >= 1, 1 <= T <= max_seq_len %d)", B, T,
             cfg_.max_seq_len);
    const long N = (long)B * T;
    long ntg = 0;
    for (long i = 0; i < N; i++) {
        if (in[i] < 0 || in[i] >= V)
            fail("GPT2 CUDA forward: input token %d at position %ld is outside [0, %d)", in[i], i, V);
        if (tg && tg[i] >= V)
            fail("GPT2 CUDA forward: target token %d at position %ld is >= vocab size %d", tg[i], i, V);
        if (tg && tg[i] >= 0) ntg++;
    }
    ensure_acts(B, T);
    B_ = B;
    T_ = T;
    ntargets_ = ntg;
    CUDA_CHECK(cudaMemcpy(inputs_, in, N * sizeof(int), cudaMemcpyHostToDevice));
    if (tg) {
        CUDA_CHECK(cudaMemcpy(targets_, tg, N * sizeof(int), cudaMemcpyHostToDevice));
        // the encoder backward's grouping, built while the host holds the tokens
        buckets_.build(in, (int)N);
        CUDA_CHECK(cudaMemcpy(bk_tokens_, buckets_.tokens.data(), buckets_.tokens.size() * sizeof(int),
                              cudaMemcpyHostToDevice));
        CUDA_CHECK(cudaMemcpy(bk_start_, buckets_.start.data(), buckets_.start.size() * sizeof(int),
                              cudaMemcpyHostToDevice));
        CUDA_CHECK(cudaMemcpy(bk_pos_, buckets_.pos.data(), N * sizeof(int), cudaMemcpyHostToDevice));
    }

    encoder_forward(encoded_, inputs_, param(P_WTE), param(P_WPE), B, T, C);
    const size_t NC = (size_t)N * C;
    for (int l = 0; l < L; l++) {
        floatX* l_ln1 = ln1_ + l * NC;
        floatX* l_ln1v = ln1v_ + l * NC;
        floatX* l_qkv = qkv_ + l * NC * 3;
        floatX* l_atty = atty_ + l * NC;
        floatX* l_ln2 = ln2_ + l * NC;
        floatX* l_fch = fch_ + l * NC * 4;
        floatX* l_fchg = fch_gelu_ + l * NC * 4;
        const floatX* qkvw = param(P_QKVW) + (size_t)l * 3 * C * C;
        const floatX* qkvb = param(P_QKVB) + (size_t)l * 3 * C;
        const bool split = ln_.ln1_split(l);
        ln_path_forward(ln_site(SITE_LN1, l));
        if (split) {
            // Q, K from the ln1qk path, V from the ln1v path: column slices of one weight
            matmul_forward(l_qkv, 3 * C, l_ln1, qkvw, qkvb, (int)N, C, 2 * C);
            matmul_forward(l_qkv + 2 * C, 3 * C, l_ln1v, qkvw + (size_t)2 * C * C, qkvb + 2 * C, (int)N, C, C);
        } else {
            matmul_forward(l_qkv, 3 * C, l_ln1, qkvw, qkvb, (int)N, C, 3 * C);
        }
        attention_forward(l_atty, att_lse_ + l * (size_t)N * NH, l_qkv, B, T, C, NH);
        matmul_forward(attproj_, C, l_atty, param(P_ATTPROJW) + (size_t)l * C * C, param(P_ATTPROJB) + l * C,
                       (int)N, C, C);
        ln_path_forward(ln_site(SITE_LN2, l));
        matmul_forward_gelu(l_fchg, l_fch, 4 * C, l_ln2, param(P_FCW) + (size_t)l * 4 * C * C,
                            param(P_FCB) + l * 4 * C, (int)N, C, 4 * C, gelu_impl_, gelu_);
        matmul_forward(fcproj_, C, l_fchg, param(P_FCPROJW) + (size_t)l * 4 * C * C, param(P_FCPROJB) + l * C,
                       (int)N, 4 * C, C);
    }
    floatX* h = residual3_ + (L - 1) * NC;
    ln_path_forward(ln_site(SITE_LNF, 0));
    matmul_forward(logits_, Vp, lnf_, param(P_WTE), nullptr, (int)N, C, Vp);
    classifier(losses_, logits_, tg ? targets_ : nullptr, 0.0f, false, (int)N, V, Vp, lse_);
    if (aux_lambda_ > 0)
        aux_loss_forward(aux_sigma_, aux_out_, h, inputs_, B, T, C, ln_.eot_token, aux_lambda_);

    // One sync per forward: the loop needs the loss and the observations now anyway.
    token_losses_.resize(N);
    CUDA_CHECK(cudaMemcpy(token_losses_.data(), losses_, N * sizeof(float), cudaMemcpyDeviceToHost));
    static_assert(sizeof(SiteObs) == 2 * sizeof(float), "SiteObs is the device layout");
    CUDA_CHECK(cudaMemcpy(obs_.sites.data(), obs_dev_, obs_.sites.size() * sizeof(SiteObs), cudaMemcpyDeviceToHost));
    ForwardResult r;
    r.ntargets = ntg;
    if (tg) {
        double s = 0;
        for (long i = 0; i < N; i++) s += token_losses_[i];
        r.ce = ntg ? (float)(s / ntg) : 0.0f;
    } else {
        std::fill(token_losses_.begin(), token_losses_.end(), 0.0f);
    }
    if (aux_lambda_ > 0) {
        float a[2];
        CUDA_CHECK(cudaMemcpy(a, aux_out_, sizeof a, cudaMemcpyDeviceToHost));
        r.aux = a[1];
    }
    backward_ready_ = tg != nullptr;
    logits_valid_ = true;
    return r;
}

inline void GPT2CUDA::get_logits(float* out) const {
    // the backward turns the logits into their gradient in place (no second buffer)
    if (!logits_valid_) fail("GPT2CUDA::get_logits: no forward since the last backward overwrote the logits");
    const long N = (long)B_ * T_;
    const int V = cfg_.vocab_size, Vp = cfg_.padded_vocab_size;
    std::vector<floatX> t((size_t)N * Vp);
    CUDA_CHECK(cudaMemcpy(t.data(), logits_, t.size() * sizeof(floatX), cudaMemcpyDeviceToHost));
    for (long i = 0; i < N; i++)
        for (int v = 0; v < V; v++) out[i * V + v] = to_float(t[(size_t)i * Vp + v]);
}

inline void GPT2CUDA::backward(float scale) {
    if (!backward_ready_)
        fail("GPT2 CUDA backward: needs a forward with targets first (and only one backward per forward)");
    backward_ready_ = false;
    logits_valid_ = false;
    const int C = cfg_.channels, L = cfg_.num_layers, NH = cfg_.num_heads, V = cfg_.vocab_size,
              Vp = cfg_.padded_vocab_size, B = B_, T = T_;
    const int N = B * T;
    const size_t NC = (size_t)N * C;
    auto zero = [](floatX* p, size_t n) { CUDA_CHECK(cudaMemset(p, 0, n * sizeof(floatX))); };
    // Activation gradients are first written with beta = 0 / overwrite flags (no memsets):
    // `true` below marks a first write.

    // the forward's log-sum-exps: each logit is read once and overwritten by its gradient
    classifier(nullptr, logits_, targets_, ntargets_ ? scale / (float)ntargets_ : 0.0f, true, N, V, Vp, lse_, true);
    floatX* dlogits = logits_;
    matmul_backward(dln_, grad(P_WTE), nullptr, dlogits, Vp, lnf_, param(P_WTE), bias_scratch_, N, C, Vp, true);
    const floatX* h = residual3_ + (L - 1) * NC;
    ln_site_grad(SITE_LNF, 0, dln_, nullptr, true);
    if (aux_lambda_ > 0) aux_loss_backward(dres_, h, aux_sigma_, aux_out_, scale * aux_lambda_, B, T, C);

    for (int l = L - 1; l >= 0; l--) {
        const floatX* qkvw = param(P_QKVW) + (size_t)l * 3 * C * C;
        floatX* dqkvw = grad(P_QKVW) + (size_t)l * 3 * C * C;
        floatX* dqkvb = grad(P_QKVB) + (size_t)l * 3 * C;
        // MLP branch: dres holds d(residual3) = d(fcproj).
        matmul_backward(dfchg_, grad(P_FCPROJW) + (size_t)l * 4 * C * C, grad(P_FCPROJB) + l * C, dres_, C,
                        fch_gelu_ + l * NC * 4, param(P_FCPROJW) + (size_t)l * 4 * C * C, bias_scratch_, N,
                        4 * C, C, true);
        gelu_backward(dfch_, fch_ + l * NC * 4, dfchg_, (long)NC * 4, gelu_, 0, true);
        matmul_backward(dln_, grad(P_FCW) + (size_t)l * 4 * C * C, grad(P_FCB) + l * 4 * C, dfch_, 4 * C,
                        ln2_ + l * NC, param(P_FCW) + (size_t)l * 4 * C * C, bias_scratch_, N, C, 4 * C, true);
        ln_site_grad(SITE_LN2, l, dln_);
        // Attention branch: dres holds d(residual2) = d(attproj).
        matmul_backward(datty_, grad(P_ATTPROJW) + (size_t)l * C * C, grad(P_ATTPROJB) + l * C, dres_, C,
                        atty_ + l * NC, param(P_ATTPROJW) + (size_t)l * C * C, bias_scratch_, N, C, C, true);
        zero(dqkv_, NC * 3);
        attention_backward(dqkv_, att_d_, datty_, qkv_ + l * NC * 3, atty_ + l * NC, att_lse_ + l * (size_t)N * NH,
                           B, T, C, NH);
        if (ln_.ln1_split(l)) {
            matmul_backward(dln_, dqkvw, dqkvb, dqkv_, 3 * C, ln1_ + l * NC, qkvw, bias_scratch_, N, C, 2 * C, true);
            matmul_backward(dlnv_, dqkvw + (size_t)2 * C * C, dqkvb + 2 * C, dqkv_ + 2 * C, 3 * C, ln1v_ + l * NC,
                            qkvw + (size_t)2 * C * C, bias_scratch_, N, C, C, true);
        } else {
            matmul_backward(dln_, dqkvw, dqkvb, dqkv_, 3 * C, ln1_ + l * NC, qkvw, bias_scratch_, N, C, 3 * C, true);
        }
        // one kernel for both paths when split: they share the input, gamma and beta
        ln_site_grad(SITE_LN1, l, dln_, dlnv_);
        // dres now holds d(x), the gradient at block l's input.
    }
    encoder_backward(grad(P_WTE), grad(P_WPE), dres_, bk_tokens_, bk_start_, bk_pos_, (int)buckets_.tokens.size(),
                     B, T, C);
}

inline LNSiteForward GPT2CUDA::ln_site(SiteKind s, int l) const {
    const int L = cfg_.num_layers, C = cfg_.channels;
    const size_t N = (size_t)B_ * T_, NC = N * C;
    // block l's input: residual3[l-1] = residual2[l-1] + fcproj[l-1], formed and stored by
    // ln_1's kernel (layer 0 reads the embeddings as they are)
    floatX* block_in = l == 0 ? encoded_ : residual3_ + (l - 1) * NC;
    LNSiteForward a;
    int w = P_LNFW;  // the site's gamma tensor; beta is the next one
    if (s == SITE_LN1) {
        w = P_LN1W;
        a.p1 = {ln1_ + l * NC, ln1_rstd_ + l * N, path_dev(PATH_LN1QK, l)};
        if (ln_.ln1_split(l)) a.p2 = {ln1v_ + l * NC, ln1v_rstd_ + l * N, path_dev(PATH_LN1V, l)};
        a.mean = ln1_mean_ + l * N;
        a.x = l == 0 ? encoded_ : residual2_ + (l - 1) * NC;
        if (l > 0) {
            a.resid_b = fcproj_;
            a.resid_out = block_in;
        }
    } else if (s == SITE_LN2) {  // the MLP input residual2[l] = x + attproj
        w = P_LN2W;
        a.p1 = {ln2_ + l * NC, ln2_rstd_ + l * N, path_dev(PATH_LN2, l)};
        a.mean = ln2_mean_ + l * N;
        a.x = block_in;
        a.resid_b = attproj_;
        a.resid_out = residual2_ + l * NC;
    } else {  // the unembedding input residual3[L-1] = residual2[L-1] + fcproj
        l = 0;
        a.p1 = {lnf_, lnf_rstd_, path_dev(PATH_LNF)};
        a.mean = lnf_mean_;
        a.x = residual2_ + (L - 1) * NC;
        a.resid_b = fcproj_;
        a.resid_out = residual3_ + (L - 1) * NC;
    }
    a.w = param(w) + (size_t)l * C;
    a.b = param(w + 1) + (size_t)l * C;
    a.tokens = inputs_;
    a.obs_partial = obs_partial_;
    a.obs = obs_dev(s, l);
    a.N = (int)N;
    a.T = T_;
    a.C = C;
    return a;
}

inline void GPT2CUDA::ln_site_grad(SiteKind s, int l, const floatX* dout1, const floatX* dout2, bool dx_overwrite) {
    const LNSiteForward f = ln_site(s, l);
    LNSiteBackward g = ln_site_backward(f);
    g.p1.dout = dout1;
    if (f.p2.out) g.p2.dout = dout2;
    g.dx = dres_;
    g.dx_overwrite = dx_overwrite;
    g.dw = grads_ + (f.w - params_);  // gradients share the parameters' layout
    g.db = grads_ + (f.b - params_);
    g.scratch = ln_scratch_;
    ln_path_backward(g);
}

inline void GPT2CUDA::allreduce_gradients() {
    const Dist& d = dist();
    if (d.world <= 1) return;
    if (!nccl_) {
        ncclUniqueId id;
        if (d.rank == 0) NCCL_CHECK(ncclGetUniqueId(&id));
        dist_broadcast(&id, sizeof id, 0);
        NCCL_CHECK(ncclCommInitRank(&nccl_, d.world, id, d.rank));
        // Faults (host/dist.h): an error on any rank outside an agreement point ends the job
        // through dist_abort(); the place to abort this communicator first (ncclCommAbort)
        // is a dist_on_abort(...) hook registered here (not done yet: issue 10, item 6).
    }
#if defined(ENABLE_FP32)
    const ncclDataType_t type = ncclFloat;
#else
    const ncclDataType_t type = ncclBfloat16;
#endif
    NCCL_CHECK(ncclAllReduce(grads_, grads_, num_parameters(), type, ncclSum, nccl_, 0));
    CUDA_CHECK(cudaDeviceSynchronize());
}

}  // namespace noln
