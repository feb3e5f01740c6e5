// Peak rates per GPU from NVIDIA's data sheets, one table for the trainer's MFU line
// (Model::peak_flops in cuda/gpt2_cuda.cuh) and the kernel lab's roofline columns (dev/cuda/lab.h). Dense (no
// sparsity) TFLOP/s: bf16 on tensor cores, and plain fp32 on CUDA cores (our GEMMs use
// COMPUTE_32F, no TF32); HBM bandwidth in TB/s.
#pragma once
#include <cstring>

namespace noln {

struct GPUPeak {
    const char* match;  // substring of cudaDeviceProp::name; the first match wins
    double bf16, fp32, hbm_tbs;
};
inline const GPUPeak GPU_PEAKS[] = {
    {"H200", 989.0, 67.0, 4.8},        // H200 SXM
    {"H100 PCIe", 756.0, 51.0, 2.0},   // H100 PCIe
    {"H100", 989.0, 67.0, 3.35},       // H100 SXM (and NVL-class parts reporting "H100")
    {"A100", 312.0, 19.5, 2.0},        // A100 SXM / PCIe 80 GB (the 40 GB parts: 1.6 TB/s)
};

// nullptr for an unknown GPU and for the emulator (which only looks like an H100).
inline const GPUPeak* gpu_peak(const char* name) {
    if (strstr(name, "cuemu")) return nullptr;
    for (const GPUPeak& p : GPU_PEAKS)
        if (strstr(name, p.match)) return &p;
    return nullptr;
}

}  // namespace noln
