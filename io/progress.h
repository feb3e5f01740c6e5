// A console progress bar for long jobs (tokenizing, writing shards, ...):
//
//   Progress p("tokenizing", total_bytes, "B");
//   for (...) p.update(done);
//   p.finish();
//
// It writes to stderr: on a terminal one line redrawn in place (at most ~10 times a
// second); otherwise (a log file, CI) one line per 10% so logs stay short. Each line shows
// done/total, percent, rate and ETA. unit "B" prints sizes as kB/MB/GB (powers of 1000); any other unit is a
// plain count with k/M/G suffixes ("tok/s").
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace noln {

class Progress {
public:
    Progress(const std::string& label, uint64_t total, const std::string& unit = "B");
    ~Progress();  // finishes if finish() was not called
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void update(uint64_t done);  // absolute amount done so far
    void finish();               // final line with the elapsed time, then a newline

    // The text of one status line (exposed for tests).
    static std::string format_line(const std::string& label, const std::string& unit,
                                   uint64_t done, uint64_t total, double seconds);

private:
    void print(bool final);
    std::string label_, unit_;
    uint64_t total_, done_ = 0;
    bool tty_, finished_ = false;
    int last_decile_ = -1;
    std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace noln
