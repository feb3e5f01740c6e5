// exp and tanh that the compiler can vectorise (glibc's are scalar calls unless -ffast-math).
// The float versions are a Cephes-style range reduction and polynomial, within 2 ulp of
// std::exp over the whole float range; the double versions are std:: so that
// GPT2Core<double>, which the finite-difference tests differentiate, stays exact.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace noln {

#pragma omp declare simd notinbranch
inline float fast_exp(float x) {
    // exp(x) = 2^n exp(r), n = round(x / ln 2), |r| <= ln2 / 2; ln 2 split in two parts so
    // that x - n ln2 is exact for every n the float range allows.
    const float hi = 88.72283f, lo = -87.33654f;  // beyond: inf, and 0 (no denormals)
    const float xc = x > hi ? hi : (x < lo ? lo : x);
    const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    const float t = xc * 1.44269504088896341f + shifter;
    const float n = t - shifter;
    const float r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    // 2^n by building the float's exponent field; n is in [-126, 128], so split it in two
    // halves to keep each factor a normal float.
    const int32_t ni = (int32_t)n;
    const int32_t n1 = ni / 2, n2 = ni - n1;
    int32_t b1 = (n1 + 127) << 23, b2 = (n2 + 127) << 23;
    float s1, s2;
    std::memcpy(&s1, &b1, 4);
    std::memcpy(&s2, &b2, 4);
    const float y = p * s1 * s2;
    return x > hi ? INFINITY : (x < lo ? 0.0f : y);
}
inline double fast_exp(double x) { return std::exp(x); }

// tanh through exp: 1 - 2 / (exp(2u) + 1) has an absolute error of a few float ulps of 1,
// which is what its users (GELU, where it is added to 1) can see.
#pragma omp declare simd notinbranch
inline float fast_tanh(float u) { return 1.0f - 2.0f / (fast_exp(2.0f * u) + 1.0f); }
inline double fast_tanh(double u) { return std::tanh(u); }

}  // namespace noln
