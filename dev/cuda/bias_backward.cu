// The kernel lab's bias gradient (kernels/matmul.cuh's bias_backward, which matmul_backward
// calls): dbias[o] += sum over the N = B*T rows of dout[n, o], deterministic (fixed row
// chunks, then a fixed-order finish). Every version validated against cpu/matmul.h, then
// timed on a GPU, at the trainer's widths: OUT = C (attproj, fcproj), 3C (qkv), 4C (fc),
// C = NH*HS, and validated on the split QKV's V slice (OUT = C at column 2C of rows of 3C).
//   ./bias_backward [VERSION|all] [-b B] [-t T] [-n NH] [-s HS] [-r REPEATS] [--validate-only]
// v1: before issue 12 (dev/cuda/bias_backward_v1.cuh): one column per thread, scalar loads
// v2: kernels/matmul.cuh: one 16-byte chunk of columns per thread, 128-bit loads
#include <iterator>

#include "cpu/matmul.h"
#include "dev/cuda/bias_backward_v1.cuh"
#include "dev/cuda/lab.h"

static const char* const NAMES[] = {"", "v1 scalar (before issue 12)", "v2 128-bit chunks (kernels/)"};

int main(int argc, char** argv) {
    const LabArgs a = lab_args(argc, argv, 2, "  1  scalar loads (before issue 12)\n  2  128-bit chunks (the trainer's)\n");
    const int N = a.B * a.T, C = a.NH * a.hs;
    const LabDevice dev;
    printf("bias_backward [%s] on %s: N=%d rows (B=%d T=%d), C=%d\n", PRECISION_NAME, dev.name, N, a.B, a.T, C);
    struct Case {
        const char* name;
        int OUT, ldo, col0;  // dout's columns col0 .. col0 + OUT - 1 of rows of ldo
    };
    const Case cases[] = {{"OUT = C", C, C, 0}, {"OUT = 3C", 3 * C, 3 * C, 0}, {"OUT = 4C", 4 * C, 4 * C, 0},
                          {"V slice of 3C", C, 3 * C, 2 * C}};
    Rng r(17 + C);
    const size_t most = (size_t)N * 4 * C;
    const Vd dout = rounded(lab_random(most, -1, 1, 1)), db0 = rounded(r.vec(4 * C, -1, 1));
    floatX *d_dout = to_dev<floatX>(dout), *d_db = dev_alloc<floatX>(4 * C), *d_db0 = to_dev<floatX>(db0);
    float* d_scratch = dev_alloc<float>(bias_backward_scratch_floats(N, 4 * C));
    auto run = [&](int v, const Case& k) {
        if (v == 1) bias_backward_v1(d_db, d_dout + k.col0, k.ldo, d_scratch, N, k.OUT);
        else bias_backward(d_db, d_dout + k.col0, k.ldo, d_scratch, N, k.OUT);
    };
    std::vector<Vd> want;
    for (const Case& k : cases) {  // the CPU op's bias gradient (with IN = 1, so dw costs little)
        Vd db(db0.begin(), db0.begin() + k.OUT), inp(N, 1.0), dw(k.OUT, 0.0), w(k.OUT, 0.0);
        noln::matmul_backward((double*)nullptr, dw.data(), db.data(), dout.data() + k.col0, k.ldo, inp.data(),
                              w.data(), N, 1, k.OUT);
        want.push_back(db);
    }
    const std::vector<int> passed = lab_validate(a, 2, [&](int v) {
        for (size_t i = 0; i < std::size(cases); i++) {
            lab_copy(d_db, d_db0, cases[i].OUT);
            run(v, cases[i]);
            // sums of N bf16 values (up to ~sqrt(N) in size) rounded once into the bf16 gradient
            // (tests/cuda/test_matmul.cu)
            const std::string what = std::string(cases[i].name) + " dbias";
            LAB_CLOSE(from_dev(d_db, cases[i].OUT), want[i], tol(3), NAMES[v], what.c_str());
        }
    });
    if (lab_skip_timing(a, dev)) return summary();
    for (int i = 0; i < 3; i++) {  // reads dout once; dbias (OUT) and the fp32 partials are small
        const Case& k = cases[i];
        const std::string part = std::string("bias gradient, ") + k.name;
        lab_time_part(dev, a, part.c_str(), (double)N * k.OUT, sizeof(floatX) * (double)N * k.OUT + 4.0 * k.OUT,
                      passed, NAMES, [&](int v) { run(v, k); });
    }
    return summary();
}
