// The batch and memory plan (train/plan.h) against figures counted independently of it:
// tests/train/plan_figures.py counts each buffer from GPT-2's shapes by hand (its docstring
// has the formulas) and printed the tables below, which are written out here as literals.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "host/error.h"
#include "host/gpt2_config.h"
#include "train/args.h"
#include "train/plan.h"
#include "train/presets.h"
#include "train/schedule.h"

using namespace noln;

namespace {

GPT2Config gpt2(int L, int C, int NH) {
    GPT2Config c;
    c.max_seq_len = 1024;
    c.vocab_size = 50257;
    c.padded_vocab_size = 50304;
    c.num_layers = L;
    c.channels = C;
    c.num_heads = NH;
    return c;
}
GPT2Config size_named(const std::string& s) {
    if (s == "Small") return gpt2(12, 768, 12);
    if (s == "Medium") return gpt2(24, 1024, 16);
    if (s == "Large") return gpt2(36, 1280, 20);
    return gpt2(48, 1600, 25);
}

PlanInput bf16(const std::string& size, int ranks, double gib, int zero = 0, int recompute = 0) {
    PlanInput in;
    in.config = size_named(size);
    in.T = 1024;
    in.ranks = ranks;
    in.gpu_gib = gib;
    in.zero = zero;
    in.recompute = recompute;
    in.floatx_bytes = 2;
    in.master = true;
    return in;
}

struct Figures {
    const char* size;
    size_t params, state, act[3];  // act: one sequence at T = 1024, -r 0/1/2
};
const Figures FIG[] = {
    {"Small", 124475904, 1991614464, {454943748, 385737732, 333833220}},
    {"Medium", 354871296, 5677940736, {1001006084, 808068100, 663364612}},
    {"Large", 774090240, 12385443840, {1761371140, 1394369540, 1119118340}},
    {"XL", 1557686400, 24922982400, {2845705220, 2229666820, 1767638020}},
};

struct MaxB {
    const char* size;
    int gib, zero, recompute;
    int max_b[8];  // ranks 1..8
};
const MaxB MAXB[] = {
    {"Small", 40, 0, 0, {85, 85, 85, 85, 85, 85, 85, 85}},
    {"Small", 40, 0, 1, {100, 100, 100, 100, 100, 100, 100, 100}},
    {"Small", 40, 0, 2, {116, 116, 116, 116, 116, 116, 116, 116}},
    {"Small", 40, 1, 0, {85, 86, 87, 87, 87, 88, 88, 88}},
    {"Small", 40, 1, 1, {100, 102, 103, 103, 103, 103, 103, 104}},
    {"Small", 40, 1, 2, {116, 118, 119, 119, 119, 119, 120, 120}},
    {"Small", 80, 0, 0, {179, 179, 179, 179, 179, 179, 179, 179}},
    {"Small", 80, 0, 1, {211, 211, 211, 211, 211, 211, 211, 211}},
    {"Small", 80, 0, 2, {244, 244, 244, 244, 244, 244, 244, 244}},
    {"Small", 80, 1, 0, {179, 181, 181, 182, 182, 182, 182, 182}},
    {"Small", 80, 1, 1, {211, 213, 214, 214, 215, 215, 215, 215}},
    {"Small", 80, 1, 2, {244, 247, 247, 248, 248, 248, 248, 248}},
    {"Small", 141, 0, 0, {323, 323, 323, 323, 323, 323, 323, 323}},
    {"Small", 141, 0, 1, {381, 381, 381, 381, 381, 381, 381, 381}},
    {"Small", 141, 0, 2, {441, 441, 441, 441, 441, 441, 441, 441}},
    {"Small", 141, 1, 0, {323, 325, 325, 326, 326, 326, 326, 326}},
    {"Small", 141, 1, 1, {381, 383, 384, 384, 384, 384, 385, 385}},
    {"Small", 141, 1, 2, {441, 443, 444, 444, 444, 444, 444, 445}},
    {"Medium", 40, 0, 0, {35, 35, 35, 35, 35, 35, 35, 35}},
    {"Medium", 40, 0, 1, {43, 43, 43, 43, 43, 43, 43, 43}},
    {"Medium", 40, 0, 2, {52, 52, 52, 52, 52, 52, 52, 52}},
    {"Medium", 40, 1, 0, {35, 37, 37, 38, 38, 38, 38, 38}},
    {"Medium", 40, 1, 1, {43, 46, 46, 47, 47, 47, 47, 48}},
    {"Medium", 40, 1, 2, {52, 56, 57, 57, 58, 58, 58, 58}},
    {"Medium", 80, 0, 0, {77, 77, 77, 77, 77, 77, 77, 77}},
    {"Medium", 80, 0, 1, {96, 96, 96, 96, 96, 96, 96, 96}},
    {"Medium", 80, 0, 2, {117, 117, 117, 117, 117, 117, 117, 117}},
    {"Medium", 80, 1, 0, {77, 80, 80, 81, 81, 81, 81, 81}},
    {"Medium", 80, 1, 1, {96, 99, 100, 100, 100, 101, 101, 101}},
    {"Medium", 80, 1, 2, {117, 120, 121, 122, 122, 123, 123, 123}},
    {"Medium", 141, 0, 0, {143, 143, 143, 143, 143, 143, 143, 143}},
    {"Medium", 141, 0, 1, {177, 177, 177, 177, 177, 177, 177, 177}},
    {"Medium", 141, 0, 2, {216, 216, 216, 216, 216, 216, 216, 216}},
    {"Medium", 141, 1, 0, {143, 145, 146, 146, 146, 146, 147, 147}},
    {"Medium", 141, 1, 1, {177, 180, 181, 181, 181, 182, 182, 182}},
    {"Medium", 141, 1, 2, {216, 219, 220, 221, 221, 221, 221, 222}},
    {"Large", 40, 0, 0, {16, 16, 16, 16, 16, 16, 16, 16}},
    {"Large", 40, 0, 1, {20, 20, 20, 20, 20, 20, 20, 20}},
    {"Large", 40, 0, 2, {25, 25, 25, 25, 25, 25, 25, 25}},
    {"Large", 40, 1, 0, {16, 18, 19, 20, 20, 20, 20, 20}},
    {"Large", 40, 1, 1, {20, 23, 24, 25, 25, 25, 26, 26}},
    {"Large", 40, 1, 2, {25, 29, 30, 31, 32, 32, 32, 32}},
    {"Large", 80, 0, 0, {40, 40, 40, 40, 40, 40, 40, 40}},
    {"Large", 80, 0, 1, {51, 51, 51, 51, 51, 51, 51, 51}},
    {"Large", 80, 0, 2, {63, 63, 63, 63, 63, 63, 63, 63}},
    {"Large", 80, 1, 0, {40, 43, 44, 44, 44, 44, 45, 45}},
    {"Large", 80, 1, 1, {51, 54, 55, 56, 56, 56, 56, 57}},
    {"Large", 80, 1, 2, {63, 67, 69, 69, 70, 70, 70, 71}},
    {"Large", 141, 0, 0, {77, 77, 77, 77, 77, 77, 77, 77}},
    {"Large", 141, 0, 1, {98, 98, 98, 98, 98, 98, 98, 98}},
    {"Large", 141, 0, 2, {122, 122, 122, 122, 122, 122, 122, 122}},
    {"Large", 141, 1, 0, {77, 80, 81, 81, 81, 82, 82, 82}},
    {"Large", 141, 1, 1, {98, 101, 102, 103, 103, 103, 103, 103}},
    {"Large", 141, 1, 2, {122, 126, 127, 128, 128, 129, 129, 129}},
    {"XL", 40, 0, 0, {5, 5, 5, 5, 5, 5, 5, 5}},
    {"XL", 40, 0, 1, {7, 7, 7, 7, 7, 7, 7, 7}},
    {"XL", 40, 0, 2, {8, 8, 8, 8, 8, 8, 8, 8}},
    {"XL", 40, 1, 0, {5, 8, 9, 10, 10, 11, 11, 11}},
    {"XL", 40, 1, 1, {7, 11, 12, 13, 13, 14, 14, 14}},
    {"XL", 40, 1, 2, {8, 14, 16, 16, 17, 17, 18, 18}},
    {"XL", 80, 0, 0, {20, 20, 20, 20, 20, 20, 20, 20}},
    {"XL", 80, 0, 1, {26, 26, 26, 26, 26, 26, 26, 26}},
    {"XL", 80, 0, 2, {33, 33, 33, 33, 33, 33, 33, 33}},
    {"XL", 80, 1, 0, {20, 23, 25, 25, 25, 26, 26, 26}},
    {"XL", 80, 1, 1, {26, 30, 31, 32, 33, 33, 33, 33}},
    {"XL", 80, 1, 2, {33, 38, 40, 41, 41, 42, 42, 42}},
    {"XL", 141, 0, 0, {43, 43, 43, 43, 43, 43, 43, 43}},
    {"XL", 141, 0, 1, {55, 55, 55, 55, 55, 55, 55, 55}},
    {"XL", 141, 0, 2, {70, 70, 70, 70, 70, 70, 70, 70}},
    {"XL", 141, 1, 0, {43, 46, 48, 48, 48, 49, 49, 49}},
    {"XL", 141, 1, 1, {55, 59, 61, 62, 62, 62, 62, 63}},
    {"XL", 141, 1, 2, {70, 75, 77, 78, 78, 79, 79, 79}},
};

}  // namespace

TEST_CASE("plan: parameters, model state and activations per sequence, BF16", "[plan]") {
    for (const Figures& f : FIG) {
        INFO(f.size);
        CHECK(num_parameters(size_named(f.size)) == f.params);
        for (int r = 0; r < 3; r++) {
            const Plan p = make_plan(bf16(f.size, 1, 80, 0, r));
            CHECK(p.state == f.state);
            CHECK(p.params == 2 * f.params);
            CHECK(p.grads == 2 * f.params);
            CHECK(p.m == 4 * f.params);
            CHECK(p.v == 4 * f.params);
            CHECK(p.master == 4 * f.params);
            CHECK(p.act_per_seq == f.act[r]);
        }
    }
    // ZeRO-1 on 8 ranks: XL's m, v and masters are ceil(P/8) = 194710800 floats each; the
    // gradients are padded to 8 of those (no padding: 8 divides P)
    const Plan z = make_plan(bf16("XL", 8, 80, 1));
    CHECK(z.m == 4ull * 194710800);
    CHECK(z.grads == 2ull * 1557686400);
    CHECK(z.state == 2ull * 1557686400 * 2 + 12ull * 194710800);
    // 5 ranks do not divide Small's P = 124475904: ceil(P/5) = 24895181, the gradients padded to 5 * that = 124475905
    const Plan z5 = make_plan(bf16("Small", 5, 80, 1));
    CHECK(z5.m == 4ull * 24895181);
    CHECK(z5.grads == 2ull * 124475905);
}

// A run in which no ln_1 splits (the vanilla preset removes nothing) is planned without the
// V path's buffers: ln1v (Lln*N*C bf16), dlnv (N*C bf16) and ln1v's rstd (L*N fp32). Small,
// one sequence (N = 1024, C = 768, L = 12), by hand:
//   -r 0: 12*1024*768*2 + 1024*768*2 + 12*1024*4 = 18874368 + 1572864 + 49152 = 20496384
//         454943748 - 20496384 = 434447364   (plan_figures.py: "without a split")
//   -r 2:  1*1024*768*2 + 1024*768*2 + 12*1024*4 =  1572864 + 1572864 + 49152 =  3194880
//         333833220 -  3194880 = 330638340
TEST_CASE("plan: no split ln_1 in the run, no V path buffers", "[plan]") {
    PlanInput in = bf16("Small", 1, 80, 0, 0);
    in.ln1_split = false;
    CHECK(make_plan(in).act_per_seq == 434447364);
    in.recompute = 2;
    CHECK(make_plan(in).act_per_seq == 330638340);
    CHECK(plan_text(in, make_plan(in)).find("no ln_1 split in this run") != std::string::npos);
    in.ln1_split = true;
    CHECK(make_plan(in).act_per_seq == 333833220);  // FIG's -r 2
    // the presets from a fresh model over their -x: every paper schedule splits, vanilla never
    for (const Preset& p : presets()) {
        INFO(p.name);
        TrainArgs a;
        apply_preset(p, a);
        const bool want = std::string(p.name) != "vanilla";
        CHECK(ln1_split_possible(a.remove, LNState(12), a.sched_step(a.steps), a.eot_sigma_off > 0) == want);
    }
}

TEST_CASE("plan: the largest micro-batch, Small..XL x 1..8 ranks x 40/80/141 GiB x -z 0/1 x -r 0/1/2", "[plan]") {
    for (const MaxB& m : MAXB)
        for (int R = 1; R <= 8; R++) {
            INFO(m.size << " " << m.gib << " GiB -z " << m.zero << " -r " << m.recompute << " ranks " << R);
            PlanInput in = bf16(m.size, R, m.gib, m.zero, m.recompute);
            const Plan p = make_plan(in);
            CHECK(p.fits);
            CHECK(p.max_B == m.max_b[R - 1]);
            CHECK(p.B == m.max_b[R - 1]);  // -b 0, -d -1: the largest
            CHECK(p.accum == 1);
        }
}

TEST_CASE("plan: the global batch stays -d where it divides, else the nearest, said in one line", "[plan]") {
    const struct {
        const char* why;
        long tokens;
        int ranks, B, max_B;           // T = 1024
        int want_B, want_accum;
        long want_total;
        const char* note;              // "" : no note
    } R[] = {
        {"paper-b-xl, 504 sequences on 8 ranks = 63 each; up to 13: the largest divisor is 9",
         516096, 8, 0, 13, 9, 7, 516096, ""},
        {"the preset's old -b 4 on 8 ranks: 15.75 micro-steps; 16 give 512 sequences",
         516096, 8, 4, 0, 4, 16, 524288, "using the nearest global batch, 524288 tokens (16 micro-steps, +1.59%)"},
        {"paper-b-medium, 506 = 2*11*23 on 8 ranks: 504 is 2 off with B = 1, 3, 7, 9 (13: 520, 12: 480)",
         518144, 8, 0, 13, 9, 7, 504 * 1024, "-0.40%"},
        {"paper-b-medium on one rank: 11 divides 506", 518144, 1, 0, 13, 11, 46, 518144, ""},
        {"paper-b-small, 512 sequences on 8 ranks, up to 48: 32 x 2", 524288, 8, 0, 48, 32, 2, 524288, ""},
        {"fewer tokens than one micro-batch: one micro-step", 1000, 2, 1, 0, 1, 1, 2048, "+104.80%"},
        {"-d -1: one micro-batch per rank", -1, 8, 3, 0, 3, 1, 3 * 1024 * 8, ""},
    };
    for (const auto& r : R) {
        INFO(r.why);
        Plan p;
        plan_batch(p, r.tokens, 1024, r.ranks, r.B, r.max_B);
        CHECK(p.B == r.want_B);
        CHECK(p.accum == r.want_accum);
        CHECK(p.total_batch == r.want_total);
        if (*r.note) CHECK(p.batch_note.find(r.note) != std::string::npos);
        else CHECK(p.batch_note.empty());
    }
}

TEST_CASE("plan: the headline run, paper-b-xl on 8 ranks of 80 GiB", "[plan]") {
    PlanInput in = bf16("XL", 8, 80, 1);
    in.tokens_per_step = 516096;
    Plan p = make_plan(in);
    CHECK(p.fits);
    CHECK(p.max_B == 26);
    CHECK(p.B == 21);  // 63 sequences per rank: the largest divisor up to 26
    CHECK(p.accum == 3);
    CHECK(p.total_batch == 516096);
    const std::string text = plan_text(in, p);
    CHECK(text.find("micro-batch -b 21, 3 micro-step(s) x 8 rank(s)") != std::string::npos);
    CHECK(text.find("fits") != std::string::npos);
    in.zero = 0;  // the same without ZeRO-1: 20 fit, and 9 is the largest divisor of 63 up to 20
    p = make_plan(in);
    CHECK(p.max_B == 20);
    CHECK(p.B == 9);
    CHECK(p.accum == 7);
}

TEST_CASE("plan: every preset plans on 1, 2, 4 and 8 ranks of 40, 80 and 141 GiB", "[plan]") {
    const struct { const char* preset; const char* size; } R[] = {
        {"paper-a-small", "Small"}, {"paper-b-small", "Small"}, {"paper-b-medium", "Medium"},
        {"paper-b-large", "Large"}, {"paper-b-xl", "XL"}, {"vanilla", "Small"}, {"tiny", "Small"}};
    for (const auto& r : R)
        for (int ranks : {1, 2, 4, 8})
            for (double gib : {40.0, 80.0, 141.0}) {
                INFO(r.preset << " on " << ranks << " ranks of " << gib << " GiB");
                TrainArgs a;
                apply_preset(*find_preset(r.preset), a);
                PlanInput in = bf16(r.size, ranks, gib, ranks > 1 ? 1 : 0);
                in.T = a.T;
                in.B = a.B;
                in.tokens_per_step = a.total_batch;
                const Plan p = make_plan(in);
                CHECK(p.fits);
                CHECK(p.B >= 1);
                CHECK(p.total_batch == (long)p.B * a.T * ranks * p.accum);
                // within half a micro-step's tokens of the preset's, or one micro-step when even
                // that is more (tiny's -b 16 on 8 ranks: 8192 tokens against its 1024)
                if (p.accum > 1) CHECK(std::labs(p.total_batch - a.total_batch) <= (long)p.B * a.T * ranks / 2);
                else CHECK(p.total_batch >= a.total_batch / 2);
            }
}

TEST_CASE("plan: what does not fit is named with what to change", "[plan]") {
    // XL -z 0 on 40 GiB: 5 sequences fit; 6 do not
    PlanInput in = bf16("XL", 8, 40);
    in.B = 6;
    Plan p = make_plan(in);
    CHECK_FALSE(p.fits);
    CHECK(p.problem.find("-b 6 needs") != std::string::npos);
    CHECK(p.problem.find("use -b 5 or less") != std::string::npos);
    CHECK(p.problem.find("-z 1") != std::string::npos);
    // FP32 XL (16 bytes per parameter, 23.2 GiB) on a 24 GiB GPU: nothing fits
    in = bf16("XL", 2, 24);
    in.floatx_bytes = 4;
    in.master = false;
    p = make_plan(in);
    CHECK_FALSE(p.fits);
    CHECK(p.max_B == 0);
    CHECK(p.problem.find("the model state (23.21 GiB per rank)") != std::string::npos);
    CHECK(p.problem.find("use -z 1") != std::string::npos);
    // -b 0 with no GPU memory known and no cap cannot choose
    in = bf16("Small", 1, 0);
    CHECK_THROWS_WITH(make_plan(in), Catch::Contains("--gpu-mem"));
    in.max_auto_B = 4;  // the CPU trainer's cap
    in.tokens_per_step = 491520;  // 480 sequences: 4 divides
    p = make_plan(in);
    CHECK(p.B == 4);
    CHECK(p.accum == 120);
    in.zero = 2;
    CHECK_THROWS_WITH(make_plan(in), Catch::Contains("-z"));
}
