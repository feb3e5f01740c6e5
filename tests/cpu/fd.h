// Finite differences for the CPU op tests: central differences in double precision compared
// with an analytic gradient. The reference is the loss function itself, never the backward.
#pragma once
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace fdtest {

inline std::vector<double> randn(size_t n, unsigned seed, double sd = 1.0) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> d(0.0, sd);
    std::vector<double> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); i++) s += a[i] * b[i];
    return s;
}

// Largest |numeric - analytic| over the checked elements of x, divided by max(1e-3, largest
// |analytic|). loss() must read x. idx: which elements (all when empty).
template <class Loss>
double fd_error(Loss loss, std::vector<double>& x, const std::vector<double>& grad,
                std::vector<size_t> idx = {}, double h = 1e-5) {
    if (idx.empty())
        for (size_t i = 0; i < x.size(); i++) idx.push_back(i);
    double maxerr = 0, maxg = 1e-3;
    for (size_t i : idx) {
        const double x0 = x[i];
        x[i] = x0 + h;
        const double fp = loss();
        x[i] = x0 - h;
        const double fm = loss();
        x[i] = x0;
        const double num = (fp - fm) / (2 * h);
        maxerr = std::max(maxerr, std::fabs(num - grad[i]));
        if (std::isnan(num - grad[i])) maxerr = INFINITY;
        maxg = std::max(maxg, std::fabs(grad[i]));
    }
    return maxerr / maxg;
}

constexpr double FD_TOL = 1e-7;

}  // namespace fdtest
