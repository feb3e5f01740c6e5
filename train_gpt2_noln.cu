// The CUDA trainer: the same flags, loop, schedule and files as train_gpt2_noln_cpu
// (train/train_loop.h, docs/training.md), with the CUDA GPT-2 of cuda/gpt2_cuda.cuh as the
// backend. One GPU per MPI rank (mpirun -np N), gradients summed with NCCL. After every
// step rank 0 prints the model FLOPs utilisation against the GPU's dense peak (the loop
// times the step; GPT2CUDA::peak_flops knows the GPU; docs/gpu.md).
#include <memory>

#include "cuda/gpt2_cuda.cuh"
#include "train/train_loop.h"

using namespace noln;

int main(int argc, char** argv) {
    DeviceMemory dev;  // what the memory plan needs to know (train/plan.h)
    dev.floatx_bytes = (int)sizeof(floatX);
    dev.master = HAS_MASTER;
    dev.free_gib = [] {
        cuda_select_device();
        size_t free_b = 0, total_b = 0;
        CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
        return free_b / 1073741824.0;
    };
    return trainer_main(argc, argv, "train_gpt2_noln", [](const GPT2Config& c, int zero, int recompute) {
        return std::make_unique<GPT2CUDA>(c, zero, recompute);
    }, dev);
}
