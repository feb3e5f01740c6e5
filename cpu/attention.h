// Causal multi-head self-attention on a (B, T, 3C) qkv buffer whose columns are Q for all
// heads, then K, then V (head h is columns h*hs..(h+1)*hs-1 of each third).
//   att[b,h,t,t2] = softmax_{t2<=t}(q_t . k_t2 / sqrt(hs)),  out[b,t,h*hs+i] = sum att * v_t2
// att (B, NH, T, T) is kept for the backward; entries above the diagonal are 0.
#pragma once
#include <cmath>
#include <vector>

namespace noln {

template <typename F>
void attention_forward(F* out, F* att, const F* qkv, int B, int T, int C, int NH) {
    const int hs = C / NH;
    const double scale = 1.0 / std::sqrt((double)hs);
#pragma omp parallel
    {
    std::vector<double> e(T);  // one softmax row per thread
#pragma omp for collapse(3)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const F* q = qkv + ((long)b * T + t) * 3 * C + h * hs;
                F* a = att + (((long)b * NH + h) * T + t) * T;
                double mx = -INFINITY;
                for (int t2 = 0; t2 <= t; t2++) {
                    const F* k = qkv + ((long)b * T + t2) * 3 * C + C + h * hs;
                    double s = 0;
                    for (int i = 0; i < hs; i++) s += (double)q[i] * k[i];
                    s *= scale;
                    a[t2] = (F)s;
                    if (s > mx) mx = s;
                }
                double sum = 0;
                for (int t2 = 0; t2 <= t; t2++) sum += e[t2] = std::exp((double)a[t2] - mx);
                for (int t2 = 0; t2 < T; t2++) a[t2] = t2 <= t ? (F)(e[t2] / sum) : (F)0;
                F* o = out + ((long)b * T + t) * C + h * hs;
                for (int i = 0; i < hs; i++) {
                    double s = 0;
                    for (int t2 = 0; t2 <= t; t2++)
                        s += (double)a[t2] * qkv[((long)b * T + t2) * 3 * C + 2 * C + h * hs + i];
                    o[i] = (F)s;
                }
            }
    }
}

// Accumulates into dqkv. Parallel over (b, h): each pair owns its columns of dqkv.
template <typename F>
void attention_backward(F* dqkv, const F* dout, const F* qkv, const F* att, int B, int T, int C,
                        int NH) {
    const int hs = C / NH;
    const double scale = 1.0 / std::sqrt((double)hs);
#pragma omp parallel for collapse(2)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            std::vector<double> datt(T), dpre(T);
            for (int t = 0; t < T; t++) {
                const F* a = att + (((long)b * NH + h) * T + t) * T;
                const F* d = dout + ((long)b * T + t) * C + h * hs;
                const long row = ((long)b * T + t) * 3 * C;
                // out = att v: gradients to att and to v
                for (int t2 = 0; t2 <= t; t2++) {
                    const long row2 = ((long)b * T + t2) * 3 * C;
                    double s = 0;
                    for (int i = 0; i < hs; i++) {
                        s += (double)d[i] * qkv[row2 + 2 * C + h * hs + i];
                        dqkv[row2 + 2 * C + h * hs + i] += (F)((double)a[t2] * d[i]);
                    }
                    datt[t2] = s;
                }
                // softmax: dpre = a * (datt - sum(a * datt))
                double dot = 0;
                for (int t2 = 0; t2 <= t; t2++) dot += (double)a[t2] * datt[t2];
                for (int t2 = 0; t2 <= t; t2++) dpre[t2] = (double)a[t2] * (datt[t2] - dot) * scale;
                // pre = q . k * scale
                for (int t2 = 0; t2 <= t; t2++) {
                    const long row2 = ((long)b * T + t2) * 3 * C;
                    for (int i = 0; i < hs; i++) {
                        dqkv[row + h * hs + i] += (F)(dpre[t2] * qkv[row2 + C + h * hs + i]);
                        dqkv[row2 + C + h * hs + i] += (F)(dpre[t2] * qkv[row + h * hs + i]);
                    }
                }
            }
        }
}

}  // namespace noln
