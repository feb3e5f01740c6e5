// The float loops that dominate an op's time, compiled once per x86-64 level (baseline SSE2,
// v3 = AVX2+FMA, v4 = AVX-512) and picked when the program loads (GCC target_clones):
// the build stays portable, and a modern CPU runs the exps 4x wider. Each is the op's
// generic template body, forced inline (gnu::always_inline) so that it is compiled for each
// level; only the instruction set differs (FMA may round differently).
#include "cpu/gelu.h"
#include "cpu/softmax.h"

namespace noln {

#define NOLN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

NOLN_CLONES double softmax_span(float* p, const float* x, int n) {
    return softmax_span<float>(p, x, n);
}

NOLN_CLONES void gelu_forward_span(float* out, const float* inp, long n) {
    gelu_forward_span<float>(out, inp, n);
}

NOLN_CLONES void gelu_backward_span(float* dinp, const float* inp, const float* dout, long n) {
    gelu_backward_span<float>(dinp, inp, dout, n);
}

}  // namespace noln
