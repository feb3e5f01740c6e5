#include "io/progress.h"

#include <cstdio>
#include <unistd.h>

namespace noln {

namespace {
std::string amount(double v, const std::string& unit) {
    const char* big[] = {"", "k", "M", "G", "T"};
    const double step = 1000.0;  // MB = 10^6 bytes, like the summaries programs print
    int k = 0;
    while (v >= step && k < 4) { v /= step; k++; }
    char buf[64];
    if (unit == "B") {
        const char* bytes[] = {"B", "kB", "MB", "GB", "TB"};
        snprintf(buf, sizeof buf, k ? "%.1f %s" : "%.0f %s", v, bytes[k]);
    } else {
        snprintf(buf, sizeof buf, k ? "%.2f%s %s" : "%.0f%s %s", v, big[k], unit.c_str());
    }
    return buf;
}

std::string clock(double s) {
    long t = (long)(s + 0.5);
    char buf[32];
    if (t >= 3600) snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
    return buf;
}
}  // namespace

Progress::Progress(const std::string& label, uint64_t total, const std::string& unit)
    : label_(label), unit_(unit), total_(total), tty_(isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

Progress::~Progress() {
    if (!finished_) finish();
}

std::string Progress::format_line(const std::string& label, const std::string& unit,
                                  uint64_t done, uint64_t total, double seconds) {
    double frac = total ? (double)done / (double)total : 1.0;
    if (frac > 1.0) frac = 1.0;
    double rate = seconds > 0 ? (double)done / seconds : 0.0;
    std::string line = label + ": " + amount((double)done, unit) + " / " + amount((double)total, unit);
    char buf[64];
    snprintf(buf, sizeof buf, " (%3.0f%%)", frac * 100.0);
    line += buf;
    if (rate > 0) {
        line += ", " + amount(rate, unit) + "/s";
        if (done < total) line += ", ETA " + clock((double)(total - done) / rate);
    }
    return line;
}

void Progress::print(bool final) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::string line = format_line(label_, unit_, done_, total_, s);
    if (final) line += ", done in " + clock(s);
    if (tty_) fprintf(stderr, "\r%s\033[K%s", line.c_str(), final ? "\n" : "");
    else fprintf(stderr, "%s\n", line.c_str());
    fflush(stderr);
}

void Progress::update(uint64_t done) {
    if (finished_) return;
    done_ = done;
    if (tty_) {
        auto now = std::chrono::steady_clock::now();
        if (now - last_draw_ < std::chrono::milliseconds(100)) return;
        last_draw_ = now;
        print(false);
    } else {
        int decile = total_ ? (int)(10 * (double)done_ / (double)total_) : 10;
        if (decile > 9) return;  // 100% is the final line's job
        if (decile > last_decile_) {
            last_decile_ = decile;
            if (decile > 0) print(false);
        }
    }
}

void Progress::finish() {
    if (finished_) return;
    finished_ = true;
    print(true);
}

}  // namespace noln
