#include "train/plan.h"

#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "host/device_buffers.h"
#include "host/error.h"

namespace noln {

static const double GIB = 1073741824.0;

static size_t act_bytes(const PlanInput& in, int B) {
    ActOptions o;
    o.recompute = in.recompute;
    o.ln1v = in.ln1_split;  // the worst step of the run: a split ln_1 wherever one may exist
    return total_bytes(activation_buffers(in.config, B, in.T, o), (size_t)in.floatx_bytes);
}

void plan_batch(Plan& p, long tokens, int T, int ranks, int B, int max_B) {
    p.batch_note.clear();
    if (B <= 0 && max_B <= 0) fail("plan: no micro-batch fits (max_B %d)", max_B);
    if (tokens <= 0) {  // -d -1: one micro-batch per rank
        p.B = B > 0 ? B : max_B;
        p.accum = 1;
        p.total_batch = (long)p.B * T * ranks;
        return;
    }
    // false when the nearest total needs more than INT_MAX micro-batches of b sequences
    auto nearest = [&](int b, long& total, int& accum) {
        const long per = (long)b * T * ranks;
        long k = (tokens + per / 2) / per;
        if (k < 1) k = 1;
        if (k > INT_MAX) return false;
        accum = (int)k;
        total = k * per;
        return true;
    };
    auto too_many = [&](int b) {
        const long per = (long)b * T * ranks;
        fail("-d: %lld tokens per step is %lld micro-batches of %lld tokens, more than the limit %d",
             (long long)tokens, (long long)((tokens + per / 2) / per), (long long)per, INT_MAX);
    };
    if (B > 0) {
        p.B = B;
        if (!nearest(B, p.total_batch, p.accum)) too_many(B);
    } else {
        long best = -1;
        for (int b = 1; b <= max_B; b++) {
            long total;
            int accum;
            if (!nearest(b, total, accum)) continue;
            const long dist = std::labs(total - tokens);
            if (best < 0 || dist <= best) {  // ties: the larger micro-batch
                best = dist;
                p.B = b;
                p.total_batch = total;
                p.accum = accum;
            }
        }
        if (best < 0) too_many(max_B);
    }
    if (p.total_batch != tokens) {
        char b[256];
        snprintf(b, sizeof b,
                 "-d %ld is not a multiple of %d rank(s) * -t %d * -b %d: using the nearest global batch, "
                 "%ld tokens (%d micro-steps, %+.2f%%)",
                 tokens, ranks, T, p.B, p.total_batch, p.accum, 100.0 * (p.total_batch - tokens) / tokens);
        p.batch_note = b;
    }
}

Plan make_plan(const PlanInput& in) {
    const GPT2Config& c = in.config;
    validate_config(c, "plan");
    if (in.ranks < 1) fail("plan: %d ranks", in.ranks);
    if (in.zero != 0 && in.zero != 1) fail("-z: ZeRO stage %d must be 0 or 1", in.zero);
    if (in.T < 1 || in.T > c.max_seq_len)
        fail("-t: sequence length %d must be 1..max_seq_len %d", in.T, c.max_seq_len);
    Plan p;
    const std::vector<DeviceBuffer> st = state_buffers(c, in.master, in.zero ? in.ranks : 1);
    const size_t fx = (size_t)in.floatx_bytes;
    p.params = st[ST_PARAMS].bytes(fx);
    p.grads = st[ST_GRADS].bytes(fx);
    p.m = st[ST_M].bytes(fx);
    p.v = st[ST_V].bytes(fx);
    p.master = st[ST_MASTER].bytes(fx);
    p.state = total_bytes(st, fx);
    p.act_per_seq = act_bytes(in, 1);
    p.headroom = (size_t)(PLAN_HEADROOM_GIB * GIB);
    p.capacity = in.gpu_gib > 0 ? (size_t)(in.gpu_gib * GIB) : 0;

    long avail = -1;  // bytes left for activations (-1: unknown)
    p.max_B = -1;
    if (p.capacity) {
        avail = (long)p.capacity - (long)p.headroom - (long)p.state;
        p.max_B = 0;
        if (avail > 0 && act_bytes(in, 1) <= (size_t)avail) {
            // activations grow linearly in B: start at the estimate and settle exactly
            int b = (int)std::max(1L, std::min(1L << 20, avail / (long)p.act_per_seq));
            while (b > 1 && act_bytes(in, b) > (size_t)avail) b--;
            while (b < (1 << 20) && act_bytes(in, b + 1) <= (size_t)avail) b++;
            p.max_B = b;
        }
    }
    char why[640];
    if (p.max_B == 0) {
        p.fits = false;
        snprintf(why, sizeof why,
                 "does not fit: the model state (%.2f GiB per rank) + one sequence's activations (%.2f GiB at -t %d) "
                 "+ headroom (%.2f GiB) exceed the GPU's %.2f GiB; use %s-r 1 or 2 (recompute), a shorter -t, or a "
                 "larger GPU",
                 p.state / GIB, p.act_per_seq / GIB, in.T, p.headroom / GIB, in.gpu_gib,
                 in.zero == 0 && in.ranks > 1 ? "-z 1 (shards AdamW m, v and the masters over the ranks), " : "");
        p.problem = why;
        p.B = in.B > 0 ? in.B : 1;
        plan_batch(p, in.tokens_per_step, in.T, in.ranks, p.B, 0);
        p.acts = act_bytes(in, p.B);
        return p;
    }
    int cap = p.max_B;
    if (in.max_auto_B > 0 && (cap < 0 || in.max_auto_B < cap)) cap = in.max_auto_B;
    if (in.B <= 0 && cap < 0)
        fail("-b 0 (the largest micro-batch that fits) needs the GPU's memory: give --gpu-mem GiB or -b");
    plan_batch(p, in.tokens_per_step, in.T, in.ranks, in.B, cap);
    p.acts = act_bytes(in, p.B);
    if (p.max_B > 0 && p.B > p.max_B) {
        p.fits = false;
        snprintf(why, sizeof why,
                 "does not fit: -b %d needs %.2f GiB of activations, %.2f GiB are left after the model state "
                 "(%.2f GiB) and headroom (%.2f GiB) on %.2f GiB; use -b %d or less (-b 0 picks it)%s, or -r 1 or 2",
                 p.B, p.acts / GIB, avail / GIB, p.state / GIB, p.headroom / GIB, in.gpu_gib, p.max_B,
                 in.zero == 0 && in.ranks > 1 ? ", -z 1" : "");
        p.problem = why;
    }
    return p;
}

std::string plan_text(const PlanInput& in, const Plan& p) {
    const GPT2Config& c = in.config;
    std::string out;
    char b[512];
    auto line = [&](const char* what, size_t bytes, const char* note) {
        snprintf(b, sizeof b, "  %-22s %9.2f GiB%s%s\n", what, bytes / GIB, *note ? "  " : "", note);
        out += b;
    };
    char shard[64];
    snprintf(shard, sizeof shard, in.zero ? "1/%d shard per rank (-z 1)" : "whole on every rank (-z 0)", in.ranks);
    char gpu[48] = "memory unknown";
    if (in.gpu_gib > 0) snprintf(gpu, sizeof gpu, "%.2f GiB", in.gpu_gib);
    snprintf(b, sizeof b,
             "memory plan: L%d C%d H%d V%d (%zu parameters), %s, -t %d, %d rank(s), -z %d, -r %d, GPU %s\n",
             c.num_layers, c.channels, c.num_heads, c.vocab_size, num_parameters(c),
             in.floatx_bytes == 2 ? "BF16" : "FP32", in.T, in.ranks, in.zero, in.recompute,
             gpu);
    out += b;
    line("parameters", p.params, in.floatx_bytes == 2 ? "bf16, whole on every rank" : "fp32, whole on every rank");
    line("gradients", p.grads, in.zero ? "whole (padded to the ranks), reduce-scattered" : "whole on every rank");
    line("AdamW m", p.m, shard);
    line("AdamW v", p.v, shard);
    if (in.master) line("fp32 master weights", p.master, shard);
    line("model state", p.state, "");
    line("activations/sequence", p.act_per_seq,
         in.ln1_split ? "with scratch, at -t" : "with scratch, at -t; no ln_1 split in this run");
    line("headroom", p.headroom, "CUDA context, NCCL, cuBLASLt workspace, small buffers");
    if (p.max_B > 0) {
        snprintf(b, sizeof b, "  %-22s %9d\n", "largest micro-batch", p.max_B);
        out += b;
    }
    if (!p.fits) return out + "plan: " + p.problem + "\n";
    snprintf(b, sizeof b,
             "batch plan: micro-batch -b %d, %d micro-step(s) x %d rank(s) x %d x %d = %ld tokens per step\n", p.B,
             p.accum, in.ranks, p.B, in.T, p.total_batch);
    out += b;
    if (!p.batch_note.empty()) out += "  " + p.batch_note + "\n";
    line("activations at -b", p.acts, "");
    if (p.capacity) {
        snprintf(b, sizeof b, "  %-22s %9.2f GiB of %.2f GiB: fits\n", "total per GPU",
                 (p.state + p.acts + p.headroom) / GIB, p.capacity / GIB);
        out += b;
    }
    return out;
}

}  // namespace noln
