// Wall-clock time per op of GPT2Core, for the benchmark (bench/bench_cpu.cpp). Off unless
// a caller points GPT2Core::profile at an OpProfile: then each op is timed with
// omp_get_wtime, which costs far less than the smallest op it measures.
#pragma once
#include <omp.h>

#include <string>
#include <vector>

namespace noln {

struct OpProfile {
    struct Entry {
        std::string name;
        double seconds = 0;
        long calls = 0;
    };
    std::vector<Entry> entries;  // in order of first use, so forward ops come before backward

    void add(const char* name, double s) {
        for (auto& e : entries)
            if (e.name == name) {
                e.seconds += s;
                e.calls++;
                return;
            }
        entries.push_back({name, s, 1});
    }
    void clear() { entries.clear(); }
};

// A stopwatch over a sequence of ops: lap("x") books the time since the previous lap (or
// since construction) under "x". Does nothing when p is null.
class OpLaps {
public:
    explicit OpLaps(OpProfile* p) : p_(p), t_(p ? omp_get_wtime() : 0) {}
    void operator()(const char* name) {
        if (!p_) return;
        const double now = omp_get_wtime();
        p_->add(name, now - t_);
        t_ = now;
    }

private:
    OpProfile* p_;
    double t_;
};

}  // namespace noln
