// The attention versions of the lab, shared by attention_forward.cu and
// attention_backward.cu: names, where each can run, and the buffers they need.
#pragma once
#include "dev/cuda/attention_v1.cuh"
#include "dev/cuda/lab.h"
#include "dev/cuda/attention_v2.cuh"
#include "kernels/attention.cuh"
#include "tests/cuda/attention_ref.h"

constexpr int ATT_VERSIONS = 4;
inline const char* att_version_name(int v) {
    static const char* names[] = {"",
                                  "v1 warp per row, CUDA cores, T^2 stored",
                                  "v2 cuBLASLt batched GEMMs + softmax, T^2",
                                  "v3 flash, bf16 tensor cores (wmma), hs 64",
                                  "v4 online softmax, fp32 CUDA cores, any hs"};
    return names[v];
}
constexpr const char* ATT_VERSIONS_HELP =
    "  1  v1: one warp per query row on CUDA cores, the T^2 probabilities stored (the trainer's\n"
    "         attention before issue 9, dev/cuda/attention_v1.cuh)\n"
    "  2  v2: QK^T and att V as cuBLASLt strided batched GEMMs (tensor cores in BF16) and a\n"
    "         causal softmax kernel; T^2 scores and probabilities stored (attention_v2.cuh)\n"
    "  3  v3: flash-style fused kernels on bf16 tensor cores (wmma), head size 64, fp32 lse\n"
    "         only: the trainer's BF16 attention (kernels/attention.cuh, attention_flash_*)\n"
    "  4  v4: the same algorithm in fp32 on CUDA cores, any head size: the trainer's FP32\n"
    "         attention and its BF16 fallback (kernels/attention.cuh, attention_online_*)\n";

// Why version v cannot run in this build at this shape, or nullptr.
inline const char* att_unsupported(int v, int C, int NH) {
    if (v == 3 && IS_FP32) return "bf16 tensor cores only; this build is FP32";
    if (v == 3 && C != 64 * NH) return "head size 64 only";
    return nullptr;
}

// Device buffers for every version at one shape; T^2 ones only when a T^2 version runs.
struct AttBuffers {
    floatX *qkv = nullptr, *out = nullptr, *dout = nullptr, *dqkv = nullptr, *att = nullptr, *dpre_x = nullptr;
    float *lse = nullptr, *D = nullptr, *f32_tt = nullptr;
    AttBuffers(const AttentionCase& k, bool t2_buffers) {
        const size_t N = (size_t)k.B * k.T, rows = (size_t)k.B * k.NH * k.T, tt = rows * k.T;
        qkv = to_dev<floatX>(k.qkv);
        dout = to_dev<floatX>(k.dout);
        out = dev_alloc<floatX>(N * k.C);
        dqkv = dev_alloc<floatX>(N * 3 * k.C);
        lse = dev_alloc<float>(rows);
        D = dev_alloc<float>(rows);
        if (t2_buffers) {
            att = dev_alloc<floatX>(tt);
            dpre_x = dev_alloc<floatX>(tt);
            f32_tt = dev_alloc<float>(tt);  // v1's dpre, v2's scores and datt
        }
    }
    ~AttBuffers() {
        for (void* p : {(void*)qkv, (void*)out, (void*)dout, (void*)dqkv, (void*)att, (void*)dpre_x, (void*)lse,
                        (void*)D, (void*)f32_tt})
            if (p) cudaFree(p);
    }
};
typedef __nv_bfloat16 att_bf16;  // v3's pointers (v3 never runs in the FP32 build)

inline void att_run_forward(int v, AttBuffers& m, int B, int T, int C, int NH) {
    switch (v) {
    case 1: attention_v1_forward(m.out, m.att, m.qkv, B, T, C, NH); break;
    case 2: attention_v2_forward(m.out, m.att, m.f32_tt, m.qkv, B, T, C, NH); break;
    case 3: attention_flash_forward((att_bf16*)m.out, m.lse, (const att_bf16*)m.qkv, B, T, C, NH); break;
    case 4: attention_online_forward(m.out, m.lse, m.qkv, B, T, C, NH); break;
    }
}
inline void att_run_backward(int v, AttBuffers& m, int B, int T, int C, int NH) {
    switch (v) {
    case 1: attention_v1_backward(m.dqkv, m.f32_tt, m.dout, m.qkv, m.att, B, T, C, NH); break;
    case 2: attention_v2_backward(m.dqkv, m.f32_tt, m.dpre_x, m.dout, m.qkv, m.att, B, T, C, NH); break;
    case 3:
        attention_flash_backward((att_bf16*)m.dqkv, m.D, (const att_bf16*)m.dout, (const att_bf16*)m.qkv,
                                 (const att_bf16*)m.out, m.lse, B, T, C, NH);
        break;
    case 4: attention_online_backward(m.dqkv, m.D, m.dout, m.qkv, m.out, m.lse, B, T, C, NH); break;
    }
}

// The useful causal work of each op (the T(T+1)/2 visible pairs): forward QK^T and PV,
// backward dP, dV, dQ, dK (recomputing P is not counted); bytes: inputs read once,
// outputs written once (dqkv read and written: it accumulates).
inline double att_pairs(int B, int T, int NH) { return (double)B * NH * T * (T + 1) / 2.0; }
inline double att_forward_flops(int B, int T, int C, int NH) { return 4.0 * att_pairs(B, T, NH) * (C / NH); }
inline double att_backward_flops(int B, int T, int C, int NH) { return 8.0 * att_pairs(B, T, NH) * (C / NH); }
inline double att_forward_bytes(int B, int T, int C, int NH) {
    return sizeof(floatX) * (double)B * T * (3.0 * C + C) + 4.0 * B * NH * T;
}
inline double att_backward_bytes(int B, int T, int C, int NH) {
    return sizeof(floatX) * (double)B * T * (3.0 * C + 2.0 * C + 2 * 3.0 * C) + 4.0 * B * NH * T;
}

// The whole program for either op: validate every requested version against the CPU op,
// then time the ones that passed. Exit status 1 when any validation failed.
inline int att_lab_main(int argc, char** argv, bool backward) {
    const LabArgs a = lab_args(argc, argv, ATT_VERSIONS, ATT_VERSIONS_HELP);
    const int B = a.B, T = a.T, NH = a.NH, C = a.hs * a.NH;
    const LabDevice dev;
    const char* op = backward ? "attention_backward" : "attention_forward";
    printf("%s [%s] on %s: B=%d T=%d NH=%d hs=%d (C=%d)\n", op, PRECISION_NAME, dev.name, B, T, NH, a.hs, C);
    std::vector<int> versions;
    for (int v = 1; v <= ATT_VERSIONS; v++)
        if (a.version == 0 || a.version == v) versions.push_back(v);
    bool t2 = false;
    for (int v : versions) t2 |= v <= 2;
    const AttentionCase k = attention_case(B, T, C, NH, 1000 + T, backward);
    AttBuffers m(k, t2);
    const size_t N = (size_t)B * T, nq = N * 3 * C;
    std::vector<int> passed;
    for (int v : versions) {
        if (const char* why = att_unsupported(v, C, NH)) {
            printf("SKIP %s: %s\n", att_version_name(v), why);
            continue;
        }
        const int failed_before = g_failed;
        // poison what the version must write (0xFF bytes are NaN in fp32 and bf16)
        CUDA_CHECK(cudaMemset(m.out, 0xFF, N * C * sizeof(floatX)));
        CUDA_CHECK(cudaMemset(m.lse, 0xFF, (size_t)B * NH * T * sizeof(float)));
        att_run_forward(v, m, B, T, C, NH);
        if (!backward) {
            const Vd out = from_dev(m.out, N * C), lse = from_dev(m.lse, (size_t)B * NH * T);
            attention_check(k, att_version_name(v), &out, v >= 3 ? &lse : nullptr, nullptr, true);
        } else {
            // the version's own forward state (out and lse, or att) is in m now
            upload_to(m.dqkv, k.dqkv0);
            att_run_backward(v, m, B, T, C, NH);
            const Vd dqkv = from_dev(m.dqkv, nq);
            attention_check(k, att_version_name(v), nullptr, nullptr, &dqkv, true);
            // deterministic: the same bytes from the same start, twice
            std::vector<floatX> r1(nq), r2(nq);
            for (auto* r : {&r1, &r2}) {
                CUDA_CHECK(cudaMemset(m.dqkv, 0, nq * sizeof(floatX)));
                att_run_backward(v, m, B, T, C, NH);
                CUDA_CHECK(cudaMemcpy(r->data(), m.dqkv, nq * sizeof(floatX), cudaMemcpyDeviceToHost));
            }
            CHECK(memcmp(r1.data(), r2.data(), nq * sizeof(floatX)) == 0, "%s: backward not bitwise reproducible",
                  att_version_name(v));
        }
        if (g_failed == failed_before) passed.push_back(v);
    }
    if (a.validate_only || dev.emulated) {
        printf("timing skipped: %s\n", a.validate_only ? "--validate-only" : "emulated device (host time means nothing for a GPU)");
        return summary();
    }
    const double flops = backward ? att_backward_flops(B, T, C, NH) : att_forward_flops(B, T, C, NH);
    const double bytes = backward ? att_backward_bytes(B, T, C, NH) : att_forward_bytes(B, T, C, NH);
    lab_print_roofline_basis(dev, flops, bytes);
    lab_print_header();
    for (int v : passed) {
        const double ms = lab_time_ms([&] {
            if (backward) att_run_backward(v, m, B, T, C, NH);
            else att_run_forward(v, m, B, T, C, NH);
        }, a.repeats);
        lab_print_timing(dev, att_version_name(v), ms, flops, bytes);
    }
    return summary();
}
