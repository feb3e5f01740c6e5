// The CUDA GPT-2: noln::Model on the kernels of kernels/*.cuh, behind the same host loop as
// the CPU model (cpu/gpt2_core.cpp is its twin, op for op). Parameters, gradients and
// activations are floatX (bf16, or fp32 with -DENABLE_FP32) on the device; AdamW moments,
// the bf16 build's master weights, LN statistics, sigma observations and losses are fp32.
// The LN state lives in device memory (one LNPathParams per path, in the path order of
// host/ln_paths.h), so the schedule changing it is one small copy. Builds with the real nvcc and with emu/nvcc-emu (docs/gpu.md).
#pragma once
#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <cmath>
#include <thread>
#include <type_traits>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "cuda/gpu_peaks.h"
#include "host/device_buffers.h"
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
    // the node-local rank (host/dist.h), so ranks spread over nodes each take their node's
    // GPUs; CUDA_VISIBLE_DEVICES has already narrowed what n counts (one GPU per rank: 0)
    const int dev = dist().local_rank % n;
    CUDA_CHECK(cudaSetDevice(dev));
    return dev;
}

#if defined(ENABLE_FP32)
constexpr bool HAS_MASTER = false;  // fp32 parameters are their own masters
constexpr ncclDataType_t NCCL_FLOATX = ncclFloat;
#else
constexpr bool HAS_MASTER = true;
constexpr ncclDataType_t NCCL_FLOATX = ncclBfloat16;
#endif

// Test-only builds (cuda/cuda.mk's train_gpt2_noln_emu_fp32_dropwait, suite 75) leave out
// the ordering that NOLN_TEST_DROP_WAIT names ("layer": the reduce stream's wait for a
// layer's gradients; "reduced": stream 0's wait for the reductions; "staging": the host's
// wait before it rewrites pinned upload memory), to show that suite 75's comparisons fail
// without it. Every other build keeps all of them.
inline bool test_drops_wait(const char* which) {
#if defined(NOLN_TEST_DROP_WAITS)
    const char* d = std::getenv("NOLN_TEST_DROP_WAIT");
    return d && std::strcmp(d, which) == 0;
#else
    (void)which;
    return false;
#endif
}

class GPT2CUDA : public Model {
public:
    // zero: the ZeRO stage (-z). With 1 on several ranks this rank keeps AdamW's m, v and the
    // masters of one shard of the flat parameters, [rank*S, rank*S + S) with S = ceil(P/ranks):
    // gradients are reduce-scattered onto it and the updated parameters all-gathered.
    // recompute (-r): 1 keeps one layer's GELU output and recomputes it in the backward; 2 also
    // one layer's LayerNorm outputs (ln1, ln1v, ln2), recomputed from the stored inputs and
    // statistics (kernels/ln_path.cuh ln_path_recompute) before the weight gradients need them.
    explicit GPT2CUDA(const GPT2Config& c, int zero = 0, int recompute = 0)
        : cfg_(c), ln_(c.num_layers), obs_(c.num_layers), recompute_(recompute) {
        validate_config(c, "GPT2 CUDA model");
        if (zero != 0 && zero != 1) fail("GPT2CUDA: ZeRO stage %d must be 0 or 1", zero);
        if (recompute < 0 || recompute > 2) fail("GPT2CUDA: -r %d: recompute must be 0, 1 or 2", recompute);
        device_ = cuda_select_device();
        const size_t P = noln::num_parameters(c);
        const int R = zero ? dist().world : 1;
        // the model state from the list the memory plan sums (host/device_buffers.h)
        const std::vector<DeviceBuffer> st = state_buffers(c, HAS_MASTER, R);
        shard_ = st[ST_M].count;
        shard_first_ = R > 1 ? (size_t)dist().rank * shard_ : 0;
        padded_ = st[ST_GRADS].count;
        params_ = dalloc<floatX>(st[ST_PARAMS].count, st[ST_PARAMS].what);
        grads_ = dalloc<floatX>(st[ST_GRADS].count, st[ST_GRADS].what);
        m_ = dalloc<float>(st[ST_M].count, st[ST_M].what);
        v_ = dalloc<float>(st[ST_V].count, st[ST_V].what);
        if (HAS_MASTER) master_ = dalloc<float>(st[ST_MASTER].count, st[ST_MASTER].what);
        lnpaths_ = dalloc<LNPathParams>(num_paths(c.num_layers), "LN path states");
        obs_dev_ = dalloc<float>(2 * num_sites(c.num_layers), "sigma observations");
        aux_out_ = dalloc<float>(2, "aux loss scalars");
        gn_partials_ = dalloc<float>((size_t)NUM_PARAM_TENSORS * GN_BLOCKS, "grad norm partials");
        gn_out_ = dalloc<float>(1, "grad norm");
        (void)P;
        CUDA_CHECK(cudaMemset(m_, 0, shard_ * sizeof(float)));
        CUDA_CHECK(cudaMemset(v_, 0, shard_ * sizeof(float)));
        CUDA_CHECK(cudaMemset(params_, 0, padded_ * sizeof(floatX)));
        CUDA_CHECK(cudaMemset(grads_, 0, padded_ * sizeof(floatX)));
        if (master_) CUDA_CHECK(cudaMemset(master_, 0, shard_ * sizeof(float)));
        for (int t = 0; t < NUM_PARAM_TENSORS; t++) offs_[t] = param_offset(c, t);
        param_sizes(c, sizes_);
        // NOLN_OVERLAP=0: the last micro-step reduces the gradients after its backward, in
        // one all-reduce (docs/gpu.md "Streams and host waits"); the sums are the same
        const char* ov = std::getenv("NOLN_OVERLAP");
        if (ov && std::strcmp(ov, "0") != 0 && std::strcmp(ov, "1") != 0)
            fail("NOLN_OVERLAP=%s: must be 0 (reduce after the backward) or 1 (overlap, the default)", ov);
        overlap_ = !(ov && std::strcmp(ov, "0") == 0);
        grads_ready_.resize((size_t)c.num_layers + 1);
        for (cudaEvent_t& e : grads_ready_) e = new_event();
        reduced_ = new_event();
        waited_ = new_event();
        norm_host_ = (float*)pinned(sizeof(float), "the gradient norm");
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
        if (abort_hook_) dist_remove_abort_hook(abort_hook_);
        for (void* p : allocs_) cudaFree(p);
        for (void* p : act_allocs_) cudaFree(p);
        for (void* p : pinned_) cudaFreeHost(p);
        for (cudaEvent_t e : events_) cudaEventDestroy(e);
        if (reduce_stream_) cudaStreamDestroy(reduce_stream_);
        if (nccl_) ncclCommDestroy(nccl_);
    }

    const GPT2Config& config() const override { return cfg_; }
    const LNState& ln_state() const { return ln_; }

    // fp32 in file order. The bf16 build hands out its fp32 masters (the optimizer's truth);
    // sharded (-z 1), that gathers every rank's masters: a collective, every rank calls it.
    void get_parameters(float* out) const override {
        if (!master_) return d2h_x(out, params_, num_parameters());
        if (!sharded()) return d2h(out, master_, num_parameters());
        std::vector<float> mine(shard_), all(padded_);
        d2h(mine.data(), master_, shard_);
        dist_allgather(mine.data(), shard_ * sizeof(float), all.data());
        std::copy(all.begin(), all.begin() + num_parameters(), out);
    }
    // The bf16 build keeps the fp32 values as masters (its shard of them with -z 1) and
    // rounds the parameters to nearest.
    void set_parameters(const float* in) override {
        const size_t P = num_parameters();
        if (master_ && !sharded()) {
            CUDA_CHECK(cudaMemcpy(master_, in, P * sizeof(float), cudaMemcpyHostToDevice));
            copy_master_to_params(params_, master_, P);
            CUDA_CHECK(cudaDeviceSynchronize());
            return;
        }
        h2d_x(params_, in, P);  // round to nearest, as copy_master_to_params
        if (master_) upload_shard(master_, in + shard_first_);
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
        if (master_) d2h(out, master_, state_count());
    }
    void set_master_weights(const float* in) override {
        if (master_) upload_shard(master_, in);
    }
    size_t state_first() const override { return shard_first_; }
    size_t state_count() const override { return std::min(shard_, num_parameters() - std::min(num_parameters(), shard_first_)); }

    void set_ln_state(const LNState& s) override {
        const int L = cfg_.num_layers;
        if (s.num_layers() != L || (int)s.paths.size() != num_paths(L))
            fail("GPT2CUDA: LN state has %d layers, the model %d", s.num_layers(), L);
        ln_ = s;
        // through pinned memory, queued: the forwards after it read the new state in order
        const size_t bytes = s.paths.size() * sizeof(LNPathParams);
        LNPathParams* h = (LNPathParams*)staging(ln_stage_, bytes, "the LN path states");
        for (size_t i = 0; i < s.paths.size(); i++) h[i] = ln_path_params(s, (int)i);
        CUDA_CHECK(cudaMemcpyAsync(lnpaths_, h, bytes, cudaMemcpyHostToDevice, 0));
        CUDA_CHECK(cudaEventRecord(ln_stage_.copied, 0));
        fit_split_buffers();
    }
    void set_aux_lambda(float lambda) override {
        if (!(lambda >= 0.0f)) fail("GPT2CUDA: aux lambda %g must be >= 0", lambda);
        aux_lambda_ = lambda;
    }
    void set_gelu(Gelu g) override { gelu_ = g; }

    ForwardResult forward(const int* inputs, const int* targets, int B, int T) override;
    // The training loop's micro-steps (host/model.h): queued, their results copied into
    // pinned memory and read once, after the step's last backward.
    void forward_micro(int k, const int* inputs, const int* targets, int B, int T) override;
    const std::vector<MicroResult>& micro_results() override;
    const SigmaObs& sigma_obs() const override { return obs_; }
    void get_token_losses(float* out) const override {
        std::memcpy(out, token_losses_.data(), token_losses_.size() * sizeof(float));
    }
    void get_logits(float* out) const override;

    void zero_grad() override {
        CUDA_CHECK(cudaMemset(grads_, 0, padded_ * sizeof(floatX)));
        norm_ready_ = false;
    }
    void backward(float scale) override { backward_pass(scale, false); }
    void get_gradients(float* out) const override { d2h_x(out, grads_, num_parameters()); }
    void allreduce_gradients() override {
        if (dist().world <= 1) return;  // a no-op on one rank (host/model.h)
        queue_reduction();
        host_wait("gradient reduction");
    }
    // The last micro-step: with overlap (several ranks, -z 0, NOLN_OVERLAP not 0) each
    // layer's gradients are all-reduced on reduce_stream_ as soon as the backward has
    // produced them; otherwise one reduction after the backward. The gradient norm is queued
    // behind it, and the host waits once for all of it (the step's one wait, docs/gpu.md).
    void backward_and_reduce(float scale) override {
        const bool overlap = overlap_ && dist().world > 1 && !sharded();
        backward_pass(scale, overlap);
        if (!overlap) queue_reduction();
        queue_grad_norm();
        host_wait("gradient reduction");
        norm_ready_ = true;
    }
    // The norm of the reduced gradients: with -z 1 each rank sums its shard's squares (one
    // partial slot per tensor, as without) and the ranks' sums are added over MPI. Already
    // computed when backward_and_reduce queued it and the gradients did not change since.
    float grad_norm() override {
        if (!norm_ready_) {
            queue_grad_norm();
            host_wait("gradient norm");
        }
        float s = *norm_host_;
        if (sharded()) dist_allreduce_sum(&s, 1);
        return std::sqrt(s);
    }
    void adamw_step(const AdamW& h, float grad_scale, int t) override {
        if (t < 1) fail("GPT2CUDA: AdamW step t=%d must count from 1", t);
        for (int k = 0; k < NUM_PARAM_TENSORS; k++) {
            size_t lo, hi;  // the part of tensor k in this rank's shard (all of it without -z 1)
            shard_part(k, lo, hi);
            if (lo == hi) continue;
            const size_t s = lo - shard_first_;  // into the shard's m, v and masters
            // a fresh stream of rounding bits per (step, tensor): reproducible, uncorrelated
            const uint32_t seed = hash_u32((uint32_t)t, 0x5EEDu + (uint32_t)k);
            adamw_update(params_ + lo, master_ ? master_ + s : nullptr, grads_ + lo, m_ + s, v_ + s, hi - lo,
                         h.lr, h.beta1, h.beta2, h.eps, param_is_decayed(k) ? h.weight_decay : 0.0f, grad_scale,
                         t, seed);
        }
        // No wait without -z 1: what follows (the next step, a checkpoint's copies) is queued
        // behind the update. With it the host polls the all-gather to its end, so that no
        // later blocking copy can wait forever behind a collective a dead peer never joins.
        if (sharded()) {  // every rank's updated shard to every rank, in place
            NCCL_CHECK(ncclAllGather(params_ + shard_first_, params_, shard_, NCCL_FLOATX, comm(), 0));
            host_wait("parameter all-gather");
        }
    }
    void get_optimizer_state(float* m, float* v) const override {
        d2h(m, m_, state_count());
        d2h(v, v_, state_count());
    }
    void set_optimizer_state(const float* m, const float* v) override {
        upload_shard(m_, m);
        upload_shard(v_, v);
    }

    int device() const { return device_; }
    // Bytes of activation and backward-scratch buffers allocated now: the memory plan's figure
    // (host/device_buffers.h activation_buffers) for the last micro-batch shape, with the V
    // path's buffers only while some layer's ln_1 is split (0 before the first forward).
    size_t activation_bytes() const { return act_bytes_; }
    bool sharded() const { return padded_ != 0 && shard_ != num_parameters(); }

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
    int recompute_ = 0;
    GeluImpl gelu_impl_ = GeluImpl::Kernels;  // -r 1 uses Kernels whatever this says (forward())
    Gelu gelu_ = Gelu::Tanh;  // --gelu (host/gelu_kind.h)
    int device_ = 0;
    size_t offs_[NUM_PARAM_TENSORS], sizes_[NUM_PARAM_TENSORS];
    // ZeRO-1: this rank's shard [shard_first_, shard_first_ + shard_) of the flat parameters
    // (shard_ = P without it); params_ and grads_ hold padded_ >= P values
    size_t shard_ = 0, shard_first_ = 0, padded_ = 0;
    std::vector<void*> allocs_;
    ncclComm_t nccl_ = nullptr;
    int abort_hook_ = 0;  // dist_on_abort id (0: none)

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

    // Streams, events and pinned host memory (docs/gpu.md "Streams and host waits"). The
    // compute stream is the default stream 0; reduce_stream_ (non-blocking: no implicit
    // ordering with stream 0) carries the overlapped gradient all-reduces.
    bool overlap_ = true;               // NOLN_OVERLAP (constructor)
    cudaStream_t reduce_stream_ = nullptr;
    std::vector<cudaEvent_t> events_;   // every event made, destroyed by the destructor
    // grads_ready_[l]: layer l's gradients are final (recorded on stream 0 after its
    // backward); [L]: wte's, wpe's and lnf's (after the encoder backward)
    std::vector<cudaEvent_t> grads_ready_;
    cudaEvent_t reduced_ = nullptr;     // reduce_stream_'s last all-reduce of the step
    cudaEvent_t waited_ = nullptr;      // host_wait's mark on stream 0
    std::vector<void*> pinned_;         // every cudaMallocHost block
    // Pinned memory that queued uploads read: `copied` is recorded after them, and the host
    // rewrites the memory only once that event has completed (staging()).
    struct Staging {
        void* p = nullptr;
        size_t bytes = 0;
        cudaEvent_t copied = nullptr;
    };
    Staging ln_stage_, tok_stage_[2];   // the LN states; a forward's tokens (two sets in turn)
    int tok_next_ = 0;
    // Where forwards' results are copied (pinned): slot 0 forward()'s, slot k+1 micro-step
    // k's; each holds `tokens` losses, 2 floats per site of observations and the 2 aux floats.
    struct ResultSlot {
        float* p = nullptr;
        size_t tokens = 0;
    };
    std::vector<ResultSlot> slots_;
    struct Pending {  // what the host knows of a queued micro-step forward
        long ntargets, N;
        bool targets;
    };
    std::vector<Pending> pending_;
    float* norm_host_ = nullptr;  // the squared gradient norm (this rank's part with -z 1)
    bool norm_ready_ = false;     // *norm_host_ is the current gradients' (backward_and_reduce)

    // Activations, sized for acts_B_*acts_T_ (acts_n_ tokens); per-layer arrays are stacked.
    // ln1v_, ln1v_rstd_ and dlnv_ (the V path of a split ln_1) exist only while some layer is
    // split (fit_split_buffers); with -r 2 ln1_, ln1v_ and ln2_ hold one layer (ln_out).
    size_t acts_n_ = 0, act_bytes_ = 0;
    int acts_B_ = 0, acts_T_ = 0;
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
    // [lo, hi): the part of tensor t inside this rank's shard (flat indices; empty: lo == hi)
    void shard_part(int t, size_t& lo, size_t& hi) const {
        lo = std::max(offs_[t], shard_first_);
        hi = std::min(offs_[t] + sizes_[t], shard_first_ + shard_);
        if (hi < lo) hi = lo;
    }
    void upload_shard(float* d, const float* h) {
        CUDA_CHECK(cudaMemcpy(d, h, state_count() * sizeof(float), cudaMemcpyHostToDevice));
    }
    ncclComm_t comm();
    cudaEvent_t new_event() {
        cudaEvent_t e = nullptr;
        CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
        events_.push_back(e);
        return e;
    }
    void* pinned(size_t bytes, const char* what) {
        void* p = nullptr;
        const cudaError_t e = cudaMallocHost(&p, bytes ? bytes : 1);
        if (e != cudaSuccess) fail("GPT2CUDA: cudaMallocHost of %zu bytes for %s failed: %s", bytes, what, cudaGetErrorString(e));
        pinned_.push_back(p);
        return p;
    }
    void unpin(void* p) {
        CUDA_CHECK(cudaFreeHost(p));
        pinned_.erase(std::find(pinned_.begin(), pinned_.end(), p));
    }
    void* staging(Staging& s, size_t bytes, const char* what);
    ResultSlot& result_slot(size_t i, size_t tokens);
    // Waits for `ev` (default: everything queued on stream 0 so far), polling NCCL's
    // asynchronous error state rather than blocking in a synchronize that a dead peer would
    // never end; the one way the host waits for the device during training.
    void host_wait(const char* what, cudaEvent_t ev = nullptr);
    // Queues forward k's work (its uploads staged through pinned memory) and the copies of
    // its results into slots_[slot]; returns the targets counted.
    long queue_forward(const int* in, const int* tg, int B, int T, size_t slot);
    // A queued forward's result and observations, from its slot, after the wait.
    ForwardResult read_result(size_t slot, long ntargets, long N, bool targets, SigmaObs& obs) const;
    // overlap: all-reduce each layer's gradients on reduce_stream_ as it is done
    void backward_pass(float scale, bool overlap);
    // reduce_stream_: the all-reduce of the gradient slices of layer l (l == L: the
    // tensors outside the layers), after grads_ready_[l]
    void reduce_layer(int l);
    // The whole reduction on stream 0: an all-reduce (-z 0) or the reduce-scatter (-z 1).
    void queue_reduction();
    // The squared norm of the (reduced) gradients into *norm_host_, queued.
    void queue_grad_norm();
    floatX* param(int t) const { return params_ + offs_[t]; }
    floatX* grad(int t) const { return grads_ + offs_[t]; }
    const LNPathParams* path_dev(PathKind k, int l = 0) const { return lnpaths_ + path_index(k, l, cfg_.num_layers); }
    float* obs_dev(SiteKind s, int l = 0) const { return obs_dev_ + 2 * site_index(s, l, cfg_.num_layers); }
    void ensure_acts(int B, int T);
    ActOptions act_options() const;
    // Allocates or frees the V path's buffers when whether some layer splits has changed.
    void fit_split_buffers();
    // The layer slot of the LN output buffers: l, or 0 with -r 2 (one reused layer).
    size_t ln_out(int l) const { return recompute_ >= 2 ? 0 : (size_t)l; }
    // The site's outputs, ready for layer l's weight gradients: kept by the forward, or with
    // -r 2 recomputed now into the one layer's buffers.
    LNSiteForward ln_outputs(SiteKind s, int l) const;
    // Where LN site (s, layer l) of the last forward reads and writes: the one description
    // of a site's wiring, used by the forward and (through ln_site_backward) the backward.
    LNSiteForward ln_site(SiteKind s, int l) const;
    // The site's backward: dout1 (and dout2, the V path's, on a split ln_1) into dres_ and
    // the site's gamma/beta gradients.
    // dx_overwrite: dres_ is written, not added to (the first gradient to reach it).
    void ln_site_grad(SiteKind s, int l, const floatX* dout1, const floatX* dout2 = nullptr, bool dx_overwrite = false);
};

// The kernels' scratch sizes that host/device_buffers.h (and so the memory plan) assumes.
static_assert(LN_FWD_THREADS / 32 == SCRATCH_LN_ROWS_PER_BLOCK && LN_BWD_ROWS == SCRATCH_LN_BWD_ROWS &&
                  BIAS_BWD_ROWS == SCRATCH_BIAS_BWD_ROWS,
              "host/device_buffers.h's scratch constants must follow the kernels'");

inline void GPT2CUDA::ensure_acts(int B, int T) {
    const size_t N = (size_t)B * T;
    if (N <= acts_n_) return;
    // (activations are on act_allocs_ only: dalloc's list)
    for (void* p : act_allocs_) CUDA_CHECK(cudaFree(p));
    act_allocs_.clear();
    // one list (host/device_buffers.h) for the model and the memory plan
    const std::vector<DeviceBuffer> bufs = activation_buffers(cfg_, B, T, act_options());
    void* p[NUM_ACT_BUFS];
    for (int i = 0; i < NUM_ACT_BUFS; i++)  // an empty entry (no split: the V path's) is no buffer
        p[i] = bufs[i].count ? dalloc<char>(bufs[i].bytes(sizeof(floatX)), bufs[i].what, &act_allocs_) : nullptr;
    inputs_ = (int*)p[ACT_INPUTS];
    targets_ = (int*)p[ACT_TARGETS];
    bk_tokens_ = (int*)p[ACT_BK_TOKENS];
    bk_start_ = (int*)p[ACT_BK_START];
    bk_pos_ = (int*)p[ACT_BK_POS];
    floatX** xs[] = {&encoded_, &ln1_, &ln1v_, &qkv_, &atty_, &attproj_, &residual2_, &ln2_,
                     &fch_, &fch_gelu_, &fcproj_, &residual3_, &lnf_, &logits_};
    for (int i = 0; i < (int)(sizeof xs / sizeof *xs); i++) *xs[i] = (floatX*)p[ACT_ENCODED + i];
    float** fs[] = {&att_lse_, &ln1_mean_, &ln1_rstd_, &ln1v_rstd_, &ln2_mean_, &ln2_rstd_, &lnf_mean_, &lnf_rstd_,
                    &losses_, &lse_, &aux_sigma_, &obs_partial_};
    for (int i = 0; i < (int)(sizeof fs / sizeof *fs); i++) *fs[i] = (float*)p[ACT_ATT_LSE + i];
    floatX** ds[] = {&dres_, &dln_, &dlnv_, &dqkv_, &datty_, &dfch_, &dfchg_};
    for (int i = 0; i < (int)(sizeof ds / sizeof *ds); i++) *ds[i] = (floatX*)p[ACT_DRES + i];
    att_d_ = (float*)p[ACT_ATT_D];
    ln_scratch_ = (float*)p[ACT_LN_SCRATCH];
    bias_scratch_ = (float*)p[ACT_BIAS_SCRATCH];
    acts_n_ = N;
    acts_B_ = B;
    acts_T_ = T;
    act_bytes_ = total_bytes(bufs, sizeof(floatX));
}

inline ActOptions GPT2CUDA::act_options() const {
    ActOptions o;
    o.recompute = recompute_;
    o.ln1v = ln_.any_ln1_split();
    return o;
}

inline void GPT2CUDA::fit_split_buffers() {
    const ActOptions o = act_options();
    if (acts_n_ == 0 || o.ln1v == (ln1v_ != nullptr)) return;  // none yet (ensure_acts sizes them), or right
    const std::vector<DeviceBuffer> bufs = activation_buffers(cfg_, acts_B_, acts_T_, o);
    auto fit = [&](int buf, auto*& ptr) {
        if (o.ln1v) {
            ptr = (std::remove_reference_t<decltype(ptr)>)dalloc<char>(bufs[buf].bytes(sizeof(floatX)), bufs[buf].what,
                                                                        &act_allocs_);
        } else {
            CUDA_CHECK(cudaFree(ptr));
            act_allocs_.erase(std::find(act_allocs_.begin(), act_allocs_.end(), (void*)ptr));
            ptr = nullptr;
        }
    };
    fit(ACT_LN1V, ln1v_);
    fit(ACT_LN1V_RSTD, ln1v_rstd_);
    fit(ACT_DLNV, dlnv_);
    act_bytes_ = total_bytes(bufs, sizeof(floatX));
}

inline void* GPT2CUDA::staging(Staging& s, size_t bytes, const char* what) {
    // the copies that read it must be done (normally long since)
    if (!s.copied) s.copied = new_event();
    else if (!test_drops_wait("staging")) host_wait(what, s.copied);
    if (s.bytes < bytes) {
        if (s.p) unpin(s.p);
        s.p = pinned(bytes, what);
        s.bytes = bytes;
    }
    return s.p;
}

inline GPT2CUDA::ResultSlot& GPT2CUDA::result_slot(size_t i, size_t tokens) {
    if (slots_.size() <= i) slots_.resize(i + 1);
    ResultSlot& r = slots_[i];
    if (r.tokens < tokens) {  // a larger B*T: nothing may still be copying into the old one
        if (r.p) {
            host_wait("forward results");
            unpin(r.p);
            r.p = nullptr;
        }
        r.p = (float*)pinned((tokens + 2 * obs_.sites.size() + 2) * sizeof(float), "forward results");
        r.tokens = tokens;
    }
    return r;
}

inline ForwardResult GPT2CUDA::forward(const int* in, const int* tg, int B, int T) {
    const long N = (long)B * T;
    const long ntg = queue_forward(in, tg, B, T, 0);
    host_wait("forward");
    ForwardResult r = read_result(0, ntg, N, tg != nullptr, obs_);
    token_losses_.assign(slots_[0].p, slots_[0].p + N);
    if (!tg) std::fill(token_losses_.begin(), token_losses_.end(), 0.0f);
    return r;
}

inline void GPT2CUDA::forward_micro(int k, const int* in, const int* tg, int B, int T) {
    const long ntg = queue_forward(in, tg, B, T, (size_t)k + 1);
    pending_.resize((size_t)k + 1);
    pending_[k] = Pending{ntg, (long)B * T, tg != nullptr};
}

inline const std::vector<MicroResult>& GPT2CUDA::micro_results() {
    host_wait("forward results");  // after backward_and_reduce's wait: already done
    micro_.resize(pending_.size());
    for (size_t k = 0; k < pending_.size(); k++) {
        micro_[k].obs = obs_;  // the site layout
        micro_[k].r = read_result(k + 1, pending_[k].ntargets, pending_[k].N, pending_[k].targets, micro_[k].obs);
    }
    return micro_;
}

inline ForwardResult GPT2CUDA::read_result(size_t slot, long ntg, long N, bool targets, SigmaObs& obs) const {
    const float* p = slots_[slot].p;
    static_assert(sizeof(SiteObs) == 2 * sizeof(float), "SiteObs is the device layout");
    const float* o = p + slots_[slot].tokens;
    std::memcpy(&obs.sites.data()->sigma, o, obs.sites.size() * sizeof(SiteObs));
    ForwardResult r;
    r.ntargets = ntg;
    if (targets) {  // the losses summed in position order, in double
        double s = 0;
        for (long i = 0; i < N; i++) s += p[i];
        r.ce = ntg ? (float)(s / ntg) : 0.0f;
    }
    if (aux_lambda_ > 0) r.aux = o[2 * obs.sites.size() + 1];
    return r;
}

inline long GPT2CUDA::queue_forward(const int* in, const int* tg, int B, int T, size_t slot) {
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
    // The uploads, through one of two pinned sets used in turn, in one block: the inputs and,
    // with targets, the targets and the encoder backward's grouping (built while the host
    // holds the tokens)
    struct Upload {
        const int* src;
        size_t n;
        int* dst;
    } ups[5] = {{in, (size_t)N, inputs_}};
    int nup = 1;
    if (tg) {
        buckets_.build(in, (int)N);
        ups[nup++] = {tg, (size_t)N, targets_};
        ups[nup++] = {buckets_.tokens.data(), buckets_.tokens.size(), bk_tokens_};
        ups[nup++] = {buckets_.start.data(), buckets_.start.size(), bk_start_};
        ups[nup++] = {buckets_.pos.data(), buckets_.pos.size(), bk_pos_};
    }
    size_t total = 0;
    for (int i = 0; i < nup; i++) total += ups[i].n;
    Staging& st = tok_stage_[tok_next_];
    tok_next_ ^= 1;
    int* x = (int*)staging(st, total * sizeof(int), "the token uploads");
    for (int i = 0; i < nup; i++) {
        std::memcpy(x, ups[i].src, ups[i].n * sizeof(int));
        CUDA_CHECK(cudaMemcpyAsync(ups[i].dst, x, ups[i].n * sizeof(int), cudaMemcpyHostToDevice, 0));
        x += ups[i].n;
    }
    CUDA_CHECK(cudaEventRecord(st.copied, 0));

    encoder_forward(encoded_, inputs_, param(P_WTE), param(P_WPE), B, T, C);
    const size_t NC = (size_t)N * C;
    for (int l = 0; l < L; l++) {
        floatX* l_qkv = qkv_ + l * NC * 3;
        floatX* l_atty = atty_ + l * NC;
        floatX* l_fch = fch_ + l * NC * 4;
        floatX* l_fchg = fch_gelu_ + (recompute_ >= 1 ? 0 : l * NC * 4);  // -r 1: one layer's
        const floatX* qkvw = param(P_QKVW) + (size_t)l * 3 * C * C;
        const floatX* qkvb = param(P_QKVB) + (size_t)l * 3 * C;
        const LNSiteForward ln1 = ln_site(SITE_LN1, l);
        ln_path_forward(ln1);
        if (ln1.p2.out) {  // split
            // Q, K from the ln1qk path, V from the ln1v path: column slices of one weight
            matmul_forward(l_qkv, 3 * C, ln1.p1.out, qkvw, qkvb, (int)N, C, 2 * C);
            matmul_forward(l_qkv + 2 * C, 3 * C, ln1.p2.out, qkvw + (size_t)2 * C * C, qkvb + 2 * C, (int)N, C, C);
        } else {
            matmul_forward(l_qkv, 3 * C, ln1.p1.out, qkvw, qkvb, (int)N, C, 3 * C);
        }
        attention_forward(l_atty, att_lse_ + l * (size_t)N * NH, l_qkv, B, T, C, NH);
        matmul_forward(attproj_, C, l_atty, param(P_ATTPROJW) + (size_t)l * C * C, param(P_ATTPROJB) + l * C,
                       (int)N, C, C);
        const LNSiteForward ln2 = ln_site(SITE_LN2, l);
        ln_path_forward(ln2);
        // -r 1: GELU by our kernels (the epilogue's rounding may differ), as the backward
        // recomputes it, bit for bit; otherwise the set_gelu_impl choice
        matmul_forward_gelu(l_fchg, l_fch, 4 * C, ln2.p1.out, param(P_FCW) + (size_t)l * 4 * C * C,
                            param(P_FCB) + l * 4 * C, (int)N, C, 4 * C,
                            recompute_ >= 1 ? GeluImpl::Kernels : gelu_impl_, gelu_);
        matmul_forward(fcproj_, C, l_fchg, param(P_FCPROJW) + (size_t)l * 4 * C * C, param(P_FCPROJB) + l * C,
                       (int)N, 4 * C, C);
    }
    floatX* h = residual3_ + (L - 1) * NC;
    ln_path_forward(ln_site(SITE_LNF, 0));
    matmul_forward(logits_, Vp, lnf_, param(P_WTE), nullptr, (int)N, C, Vp);
    classifier(losses_, logits_, tg ? targets_ : nullptr, 0.0f, false, (int)N, V, Vp, lse_);
    if (aux_lambda_ > 0)
        aux_loss_forward(aux_sigma_, aux_out_, h, inputs_, B, T, C, ln_.eot_token, aux_lambda_);

    // The results into the pinned slot, queued (no wait here): the token losses, the sigma
    // observations and the aux scalars. Only the next forward overwrites their device copies.
    ResultSlot& rs = result_slot(slot, (size_t)N);
    if (tg) CUDA_CHECK(cudaMemcpyAsync(rs.p, losses_, N * sizeof(float), cudaMemcpyDeviceToHost, 0));
    float* o = rs.p + rs.tokens;
    const size_t no = 2 * obs_.sites.size();
    CUDA_CHECK(cudaMemcpyAsync(o, obs_dev_, no * sizeof(float), cudaMemcpyDeviceToHost, 0));
    if (aux_lambda_ > 0) CUDA_CHECK(cudaMemcpyAsync(o + no, aux_out_, 2 * sizeof(float), cudaMemcpyDeviceToHost, 0));
    backward_ready_ = tg != nullptr;
    logits_valid_ = true;
    return ntg;
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

inline void GPT2CUDA::backward_pass(float scale, bool overlap) {
    if (!backward_ready_)
        fail("GPT2 CUDA backward: needs a forward with targets first (and only one backward per forward)");
    backward_ready_ = false;
    logits_valid_ = false;
    norm_ready_ = false;
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
        const floatX* l_fchg = fch_gelu_ + l * NC * 4;
        if (recompute_ >= 1) {  // -r 1: this layer's GELU output again, into the one buffer
            gelu_forward(fch_gelu_, fch_ + l * NC * 4, (long)NC * 4, gelu_);
            l_fchg = fch_gelu_;
        }
        matmul_backward(dfchg_, grad(P_FCPROJW) + (size_t)l * 4 * C * C, grad(P_FCPROJB) + l * C, dres_, C,
                        l_fchg, param(P_FCPROJW) + (size_t)l * 4 * C * C, bias_scratch_, N, 4 * C, C, true);
        gelu_backward(dfch_, fch_ + l * NC * 4, dfchg_, (long)NC * 4, gelu_, 0, true);
        matmul_backward(dln_, grad(P_FCW) + (size_t)l * 4 * C * C, grad(P_FCB) + l * 4 * C, dfch_, 4 * C,
                        ln_outputs(SITE_LN2, l).p1.out, param(P_FCW) + (size_t)l * 4 * C * C, bias_scratch_, N, C,
                        4 * C, true);
        ln_site_grad(SITE_LN2, l, dln_);
        // Attention branch: dres holds d(residual2) = d(attproj).
        matmul_backward(datty_, grad(P_ATTPROJW) + (size_t)l * C * C, grad(P_ATTPROJB) + l * C, dres_, C,
                        atty_ + l * NC, param(P_ATTPROJW) + (size_t)l * C * C, bias_scratch_, N, C, C, true);
        zero(dqkv_, NC * 3);
        attention_backward(dqkv_, att_d_, datty_, qkv_ + l * NC * 3, atty_ + l * NC, att_lse_ + l * (size_t)N * NH,
                           B, T, C, NH);
        const LNSiteForward ln1 = ln_outputs(SITE_LN1, l);
        if (ln1.p2.out) {  // split
            matmul_backward(dln_, dqkvw, dqkvb, dqkv_, 3 * C, ln1.p1.out, qkvw, bias_scratch_, N, C, 2 * C, true);
            matmul_backward(dlnv_, dqkvw + (size_t)2 * C * C, dqkvb + 2 * C, dqkv_ + 2 * C, 3 * C, ln1.p2.out,
                            qkvw + (size_t)2 * C * C, bias_scratch_, N, C, C, true);
        } else {
            matmul_backward(dln_, dqkvw, dqkvb, dqkv_, 3 * C, ln1.p1.out, qkvw, bias_scratch_, N, C, 3 * C, true);
        }
        // one kernel for both paths when split: they share the input, gamma and beta
        ln_site_grad(SITE_LN1, l, dln_, dlnv_);
        // dres now holds d(x), the gradient at block l's input.
        // Layer l's gradients are final: nothing below writes them again.
        if (overlap) reduce_layer(l);
    }
    encoder_backward(grad(P_WTE), grad(P_WPE), dres_, bk_tokens_, bk_start_, bk_pos_, (int)buckets_.tokens.size(),
                     B, T, C);
    if (overlap) {
        reduce_layer(L);  // wte (the classifier's and the encoder's parts), wpe, lnf
        // everything after (the norm, the update, the next step) waits for the reductions
        CUDA_CHECK(cudaEventRecord(reduced_, reduce_stream_));
        if (!test_drops_wait("reduced")) CUDA_CHECK(cudaStreamWaitEvent(0, reduced_, 0));
    }
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
        a.p1 = {ln1_ + ln_out(l) * NC, ln1_rstd_ + l * N, path_dev(PATH_LN1QK, l)};
        if (ln_.ln1_split(l)) a.p2 = {ln1v_ + ln_out(l) * NC, ln1v_rstd_ + l * N, path_dev(PATH_LN1V, l)};
        a.mean = ln1_mean_ + l * N;
        a.x = l == 0 ? encoded_ : residual2_ + (l - 1) * NC;
        if (l > 0) {
            a.resid_b = fcproj_;
            a.resid_out = block_in;
        }
    } else if (s == SITE_LN2) {  // the MLP input residual2[l] = x + attproj
        w = P_LN2W;
        a.p1 = {ln2_ + ln_out(l) * NC, ln2_rstd_ + l * N, path_dev(PATH_LN2, l)};
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

inline LNSiteForward GPT2CUDA::ln_outputs(SiteKind s, int l) const {
    const LNSiteForward f = ln_site(s, l);
    if (recompute_ >= 2) ln_path_recompute(f);
    return f;
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

inline ncclComm_t GPT2CUDA::comm() {
    if (!nccl_) {
        const Dist& d = dist();
        ncclUniqueId id;
        if (d.rank == 0) NCCL_CHECK(ncclGetUniqueId(&id));
        dist_broadcast(&id, sizeof id, 0);
        NCCL_CHECK(ncclCommInitRank(&nccl_, d.world, id, d.rank));
        // Faults (host/dist.h): an error on any rank outside an agreement point ends the job
        // through dist_abort(); this hook aborts the communicator first, so no NCCL call on
        // this rank stays blocked (removed again by the destructor)
        abort_hook_ = dist_on_abort([this] {
            if (nccl_) ncclCommAbort(nccl_);
            nccl_ = nullptr;
        });
    }
    return nccl_;
}

inline void GPT2CUDA::host_wait(const char* what, cudaEvent_t ev) {
    if (!ev) {
        CUDA_CHECK(cudaEventRecord(waited_, 0));
        ev = waited_;
    }
    for (;;) {
        const cudaError_t e = cudaEventQuery(ev);
        if (e == cudaSuccess) return;
        if (e != cudaErrorNotReady) CUDA_CHECK(e);
        if (nccl_) {
            ncclResult_t async = ncclSuccess;
            NCCL_CHECK(ncclCommGetAsyncError(nccl_, &async));
            if (async != ncclSuccess) fail("NCCL failed on this rank while waiting for %s: %s", what, ncclGetErrorString(async));
        }
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
}

// Sums the gradients over ranks on stream 0: all of them (-z 0), or with -z 1 each rank's
// shard only, reduce-scattered in place onto grads_[shard_first_, +shard_). With -z 1 a
// per-layer reduction does not fit: a layer's slices of the per-tensor arrays fall across
// every rank's shard, so each layer would need one reduce-scatter per rank-sized piece.
inline void GPT2CUDA::queue_reduction() {
    norm_ready_ = false;
    if (dist().world <= 1) return;
    if (sharded())
        NCCL_CHECK(ncclReduceScatter(grads_, grads_ + shard_first_, shard_, NCCL_FLOATX, ncclSum, comm(), 0));
    else
        NCCL_CHECK(ncclAllReduce(grads_, grads_, num_parameters(), NCCL_FLOATX, ncclSum, comm(), 0));
}

// One group of in-place all-reduces: each per-layer tensor's slice of layer l (tensors are
// stored per kind, layers stacked: the slice is sizes/L values at offset + l*sizes/L), or
// for l == L the tensors outside the layers. Together the slices cover the P gradients once,
// so each value is the same sum as the one all-reduce of queue_reduction().
inline void GPT2CUDA::reduce_layer(int l) {
    const int L = cfg_.num_layers;
    ncclComm_t cm = comm();  // made outside the group (its first call is a collective)
    if (!reduce_stream_) CUDA_CHECK(cudaStreamCreateWithFlags(&reduce_stream_, cudaStreamNonBlocking));
    CUDA_CHECK(cudaEventRecord(grads_ready_[l], 0));
    if (!test_drops_wait("layer")) CUDA_CHECK(cudaStreamWaitEvent(reduce_stream_, grads_ready_[l], 0));
    NCCL_CHECK(ncclGroupStart());
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
        const bool outside = !param_is_per_layer(t);
        if (outside != (l == L)) continue;
        const size_t n = outside ? sizes_[t] : sizes_[t] / L;
        floatX* g = grad(t) + (outside ? 0 : (size_t)l * n);
        NCCL_CHECK(ncclAllReduce(g, g, n, NCCL_FLOATX, ncclSum, cm, reduce_stream_));
    }
    NCCL_CHECK(ncclGroupEnd());
}

inline void GPT2CUDA::queue_grad_norm() {
    for (int k = 0; k < NUM_PARAM_TENSORS; k++) {
        size_t lo, hi;
        shard_part(k, lo, hi);
        global_norm_squared_partial(gn_partials_, k, grads_ + lo, hi - lo);
    }
    global_norm_squared_finish(gn_out_, gn_partials_, NUM_PARAM_TENSORS);
    CUDA_CHECK(cudaMemcpyAsync(norm_host_, gn_out_, sizeof(float), cudaMemcpyDeviceToHost, 0));
}

}  // namespace noln
