// State shared between cuemu's launch path and its runtime API (library-internal).
#pragma once
#include <cuda_runtime_api.h>

#include <functional>

namespace cuemu {
// Records an error for cudaGetLastError/cudaPeekAtLastError (sticky until read).
void set_last_error(cudaError_t e);
// The dynamic shared memory a launch may use: 48 KiB unless raised with
// cudaFuncSetAttribute(cudaFuncAttributeMaxDynamicSharedMemorySize). A launch does not
// know its kernel's address (templates are called by name), so the largest limit set
// for any kernel applies: weaker than the GPU's per-kernel check, documented.
int max_dynamic_smem();
// Puts `work` on stream `s` (a kernel launch, copy, memset, event marker, NCCL collective,
// cuBLASLt matmul): it runs at the call or when something forces the stream, as
// CUEMU_STREAMS says, always after the work queued on `s` before it (emu/README.md,
// "Streams"). A handle that is no live stream gives cudaErrorInvalidResourceHandle and
// `work` never runs.
cudaError_t enqueue(cudaStream_t s, std::function<void()> work);
// True while program exit runs the work still queued.
bool exiting();
}  // namespace cuemu
