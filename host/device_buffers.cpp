#include "host/device_buffers.h"

#include "host/error.h"

namespace noln {

static size_t cdiv(size_t a, size_t b) { return (a + b - 1) / b; }

size_t shard_size(size_t P, int ranks) { return cdiv(P, (size_t)(ranks < 1 ? 1 : ranks)); }

std::vector<DeviceBuffer> state_buffers(const GPT2Config& c, bool master, int shard_ranks) {
    const size_t P = num_parameters(c);
    const int R = shard_ranks < 1 ? 1 : shard_ranks;
    const size_t S = R == 1 ? P : shard_size(P, R);
    std::vector<DeviceBuffer> b(NUM_STATE_BUFS);
    b[ST_PARAMS] = {"parameters", BUF_X, R == 1 ? P : S * R};  // all-gathered from the shards
    b[ST_GRADS] = {"gradients", BUF_X, R == 1 ? P : S * R};
    b[ST_M] = {"AdamW first moments", BUF_F32, S};
    b[ST_V] = {"AdamW second moments", BUF_F32, S};
    b[ST_MASTER] = {"fp32 master weights", BUF_F32, master ? S : 0};
    return b;
}

std::vector<DeviceBuffer> activation_buffers(const GPT2Config& c, int B, int T, const ActOptions& o) {
    if (B < 1 || T < 1) fail("activation_buffers: B=%d T=%d must be >= 1", B, T);
    if (o.recompute < 0 || o.recompute > 2) fail("-r: recompute %d must be 0, 1 or 2", o.recompute);
    const size_t N = (size_t)B * T, C = c.channels, L = c.num_layers, NH = c.num_heads,
                 Vp = c.padded_vocab_size, NC = N * C;
    // layers whose GELU output / LN outputs are kept: all of them, or one reused buffer
    const size_t Lg = o.recompute >= 1 ? 1 : L, Lln = o.recompute >= 2 ? 1 : L;
    std::vector<DeviceBuffer> b(NUM_ACT_BUFS);
    b[ACT_INPUTS] = {"inputs", BUF_I32, N};
    b[ACT_TARGETS] = {"targets", BUF_I32, N};
    b[ACT_BK_TOKENS] = {"encoder buckets", BUF_I32, N};
    b[ACT_BK_START] = {"encoder buckets", BUF_I32, N + 1};
    b[ACT_BK_POS] = {"encoder buckets", BUF_I32, N};
    b[ACT_ENCODED] = {"activations (encoded)", BUF_X, NC};
    b[ACT_LN1] = {"activations (ln1)", BUF_X, Lln * NC};
    b[ACT_LN1V] = {"activations (ln1v)", BUF_X, o.ln1v ? Lln * NC : 0};
    b[ACT_QKV] = {"activations (qkv)", BUF_X, L * 3 * NC};
    b[ACT_ATTY] = {"activations (atty)", BUF_X, L * NC};
    b[ACT_ATTPROJ] = {"activations (attproj)", BUF_X, NC};
    b[ACT_RESIDUAL2] = {"activations (residual2)", BUF_X, L * NC};
    b[ACT_LN2] = {"activations (ln2)", BUF_X, Lln * NC};
    b[ACT_FCH] = {"activations (fch)", BUF_X, L * 4 * NC};
    b[ACT_FCH_GELU] = {"activations (fch_gelu)", BUF_X, Lg * 4 * NC};
    b[ACT_FCPROJ] = {"activations (fcproj)", BUF_X, NC};
    b[ACT_RESIDUAL3] = {"activations (residual3)", BUF_X, L * NC};
    b[ACT_LNF] = {"activations (lnf)", BUF_X, NC};
    b[ACT_LOGITS] = {"logits", BUF_X, N * Vp};
    b[ACT_ATT_LSE] = {"activations (attention log-sum-exp)", BUF_F32, L * N * NH};  // flash style: no T^2
    b[ACT_LN1_MEAN] = {"LN statistics", BUF_F32, L * N};
    b[ACT_LN1_RSTD] = {"LN statistics", BUF_F32, L * N};
    b[ACT_LN1V_RSTD] = {"LN statistics", BUF_F32, o.ln1v ? L * N : 0};
    b[ACT_LN2_MEAN] = {"LN statistics", BUF_F32, L * N};
    b[ACT_LN2_RSTD] = {"LN statistics", BUF_F32, L * N};
    b[ACT_LNF_MEAN] = {"LN statistics", BUF_F32, N};
    b[ACT_LNF_RSTD] = {"LN statistics", BUF_F32, N};
    b[ACT_LOSSES] = {"token losses", BUF_F32, N};
    b[ACT_LSE] = {"logit log-sum-exps", BUF_F32, N};  // the forward's, read by the classifier backward
    b[ACT_AUX_SIGMA] = {"aux loss sigmas", BUF_F32, N};
    b[ACT_OBS_PARTIAL] = {"sigma observation partials", BUF_F32, 2 * cdiv(N, SCRATCH_LN_ROWS_PER_BLOCK)};
    b[ACT_DRES] = {"backward scratch (dres)", BUF_X, NC};
    b[ACT_DLN] = {"backward scratch (dln)", BUF_X, NC};
    b[ACT_DLNV] = {"backward scratch (dlnv)", BUF_X, o.ln1v ? NC : 0};
    b[ACT_DQKV] = {"backward scratch (dqkv)", BUF_X, 3 * NC};
    b[ACT_DATTY] = {"backward scratch (datty)", BUF_X, NC};
    b[ACT_DFCH] = {"backward scratch (dfch)", BUF_X, 4 * NC};
    b[ACT_DFCHG] = {"backward scratch (dfchg)", BUF_X, 4 * NC};
    b[ACT_ATT_D] = {"backward scratch (attention D)", BUF_F32, N * NH};
    b[ACT_LN_SCRATCH] = {"backward scratch (LN)", BUF_F32, 2 * cdiv(N, SCRATCH_LN_BWD_ROWS) * C};
    b[ACT_BIAS_SCRATCH] = {"backward scratch (bias)", BUF_F32, cdiv(N, SCRATCH_BIAS_BWD_ROWS) * 4 * C};
    return b;
}

size_t total_bytes(const std::vector<DeviceBuffer>& bufs, size_t floatx_bytes) {
    size_t s = 0;
    for (const DeviceBuffer& b : bufs) s += b.bytes(floatx_bytes);
    return s;
}

}  // namespace noln
