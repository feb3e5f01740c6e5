// The CUDA trainer: the same flags, loop, schedule and files as train_gpt2_noln_cpu
// (host/train_loop.h, docs/training.md), with the CUDA GPT-2 of gpt2_cuda.cuh as the
// backend. One GPU per MPI rank (mpirun -np N), gradients summed with NCCL. After every
// step rank 0 prints the model FLOPs utilisation against the GPU's dense peak (docs/gpu.md).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>

#include "cuda/gpu_peaks.h"
#include "gpt2_cuda.cuh"
#include "host/args.h"
#include "host/dist.h"
#include "host/error.h"
#include "host/train_loop.h"

using namespace noln;

// The dense peak of this build's precision (cuda/gpu_peaks.h); 0 for an unknown GPU.
static double peak_tflops(const char* name) {
    const GPUPeak* p = gpu_peak(name);
#if defined(ENABLE_FP32)
    return p ? p->fp32 : 0.0;
#else
    return p ? p->bf16 : 0.0;
#endif
}

// The CUDA model with a stopwatch: a step runs from the first forward after an update to
// the end of the next update, so its time covers everything the GPU is asked to do.
class TimedGPT2 : public GPT2CUDA {
public:
    explicit TimedGPT2(const GPT2Config& c) : GPT2CUDA(c) {
        cudaDeviceProp prop;
        CUDA_CHECK(cudaGetDeviceProperties(&prop, device()));
        snprintf(name_, sizeof name_, "%s", prop.name);
        peak_ = peak_tflops(name_);
        const double L = c.num_layers, C = c.channels, T = c.max_seq_len;
        // 6 FLOPs per parameter per token (forward 2, backward 4) plus the attention
        // scores and mixing, 12 L C T per token at full context (PaLM's appendix B count)
        flops_per_token_ = 6.0 * (double)noln::num_parameters(c) + 12.0 * L * C * T;
        if (dist().rank == 0) {
            if (peak_ > 0)
                printf("GPU %s: %s dense peak %.1f TFLOP/s per GPU\n", name_, PRECISION_NAME, peak_);
            else
                printf("GPU %s: peak unknown (not in the table of docs/gpu.md): MFU not reported\n", name_);
        }
    }
    ForwardResult forward(const int* in, const int* tg, int B, int T) override {
        if (!timing_) {
            t0_ = std::chrono::steady_clock::now();
            timing_ = true;
        }
        if (tg) tokens_ += (double)B * T;
        return GPT2CUDA::forward(in, tg, B, T);
    }
    void adamw_step(const AdamW& h, float grad_scale, int t) override {
        GPT2CUDA::adamw_step(h, grad_scale, t);  // ends with a device sync
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
        if (dist().rank == 0 && s > 0) {
            const double tflops = flops_per_token_ * tokens_ / s / 1e12;  // this GPU's share
            if (peak_ > 0)
                printf("step %d: %.2f TFLOP/s per GPU, MFU %.1f%% of %s %s peak\n", t, tflops,
                       100.0 * tflops / peak_, name_, PRECISION_NAME);
            else
                printf("step %d: %.3f TFLOP/s per GPU (MFU n/a)\n", t, tflops);
            fflush(stdout);
        }
        timing_ = false;
        tokens_ = 0;
    }

private:
    char name_[256] = {0};
    double peak_ = 0, flops_per_token_ = 0, tokens_ = 0;
    bool timing_ = false;
    std::chrono::steady_clock::time_point t0_;
};

int main(int argc, char** argv) {
    return trainer_main(argc, argv, "train_gpt2_noln", [](const GPT2Config& c) {
        return std::make_unique<TimedGPT2>(c);
    });
}
