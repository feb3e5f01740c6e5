// The CUDA model's device buffers as one list: cuda/gpt2_cuda.cuh allocates from it and the
// memory plan (train/plan.h) sums it, so the plan follows whatever the model really keeps.
// Plain C++ (no CUDA): the plan runs on machines without a GPU (--plan 1).
#pragma once
#include <cstddef>
#include <vector>

#include "host/gpt2_config.h"

namespace noln {

// Element types: floatX (2 bytes in the BF16 build, 4 in FP32), fp32 and int32.
enum BufType { BUF_X, BUF_F32, BUF_I32 };

struct DeviceBuffer {
    const char* what;
    BufType type;
    size_t count;  // elements
    size_t bytes(size_t floatx_bytes) const { return count * (type == BUF_X ? floatx_bytes : 4); }
};

// The kernels' launch constants that size their scratch (kernels/ln_path.cuh LN_FWD_THREADS/32
// and LN_BWD_ROWS, kernels/matmul.cuh BIAS_BWD_ROWS); cuda/gpt2_cuda.cuh static_asserts that
// they still agree.
constexpr int SCRATCH_LN_ROWS_PER_BLOCK = 8;
constexpr int SCRATCH_LN_BWD_ROWS = 32;
constexpr int SCRATCH_BIAS_BWD_ROWS = 256;

// The model state: parameters, gradients, AdamW m and v, and the BF16 build's fp32 masters.
// With ZeRO-1 over `shard_ranks` ranks each rank keeps ceil(P/ranks) of m, v and master, and
// the parameter and gradient buffers are padded to ranks * that so a reduce-scatter and an
// all-gather move equal shards.
enum StateBuf { ST_PARAMS, ST_GRADS, ST_M, ST_V, ST_MASTER, NUM_STATE_BUFS };
std::vector<DeviceBuffer> state_buffers(const GPT2Config& c, bool master, int shard_ranks);
size_t shard_size(size_t P, int ranks);  // ceil(P / ranks)

// The activations and backward scratch for a micro-batch of B sequences of T tokens, indexed
// by ActBuf. recompute (-r): 0 keeps every layer's buffers; 1 keeps one layer's GELU output
// (recomputed in the backward); 2 also one layer's LayerNorm outputs (ln1, ln1v, ln2). ln1v:
// whether some layer's ln_1 is split, so its V path needs its buffers: the output (ACT_LN1V),
// rstd (ACT_LN1V_RSTD) and gradient (ACT_DLNV); false: those three entries are zero-sized
// (the CUDA model allocates them only while a split exists, the plan counts them when the
// run may split).
enum ActBuf {
    ACT_INPUTS, ACT_TARGETS, ACT_BK_TOKENS, ACT_BK_START, ACT_BK_POS,
    ACT_ENCODED, ACT_LN1, ACT_LN1V, ACT_QKV, ACT_ATTY, ACT_ATTPROJ, ACT_RESIDUAL2, ACT_LN2,
    ACT_FCH, ACT_FCH_GELU, ACT_FCPROJ, ACT_RESIDUAL3, ACT_LNF, ACT_LOGITS,
    ACT_ATT_LSE, ACT_LN1_MEAN, ACT_LN1_RSTD, ACT_LN1V_RSTD, ACT_LN2_MEAN, ACT_LN2_RSTD, ACT_LNF_MEAN, ACT_LNF_RSTD,
    ACT_LOSSES, ACT_LSE, ACT_AUX_SIGMA, ACT_OBS_PARTIAL,
    ACT_DRES, ACT_DLN, ACT_DLNV, ACT_DQKV, ACT_DATTY, ACT_DFCH, ACT_DFCHG,
    ACT_ATT_D, ACT_LN_SCRATCH, ACT_BIAS_SCRATCH,
    NUM_ACT_BUFS
};
struct ActOptions {
    int recompute = 0;
    bool ln1v = true;
};
std::vector<DeviceBuffer> activation_buffers(const GPT2Config& c, int B, int T, const ActOptions& o = {});

size_t total_bytes(const std::vector<DeviceBuffer>& bufs, size_t floatx_bytes);

}  // namespace noln
