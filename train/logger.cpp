#include "train/logger.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "host/error.h"
#include "io/file_io.h"

namespace noln {

static FILE* open_log(const std::string& path, bool append) {
    FILE* f = fopen(path.c_str(), append ? "a" : "w");
    if (!f) fail("%s: cannot open for writing", path.c_str());
    return f;
}

void truncate_log(const std::string& path, int step) {
    if (!file_exists(path)) return;
    const std::string text = read_file(path);
    size_t keep = 0;
    for (size_t pos = 0; pos < text.size();) {
        const size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) break;  // a line cut short by a kill
        int s = 0;
        const char* line = text.c_str() + pos;
        if ((sscanf(line, "s:%d", &s) == 1 || sscanf(line, "{\"step\":%d", &s) == 1) && s > step) break;
        keep = pos = nl + 1;
    }
    if (keep < text.size() && truncate(path.c_str(), (off_t)keep) != 0)
        fail("%s: cannot cut the log back to step %d: %s", path.c_str(), step, strerror(errno));
}

TrainLogger::TrainLogger(const std::string& dir, bool enabled, int resume_step) : enabled_(enabled) {
    if (!enabled || dir.empty()) return;
    make_dirs(dir);
    log_path_ = dir + "/main.log";
    jsonl_path_ = dir + "/main.jsonl";
    if (resume_step > 0) {
        truncate_log(log_path_, resume_step);
        truncate_log(jsonl_path_, resume_step);
    }
    log_ = open_log(log_path_, resume_step > 0);
    jsonl_ = open_log(jsonl_path_, resume_step > 0);
}

// A log line that does not reach the disk (disk full, `ulimit -f`) stops the run.
void TrainLogger::write(FILE* f, const std::string& path, const std::string& text) {
    if (!f) return;
    errno = 0;
    if (fwrite(text.data(), 1, text.size(), f) != text.size() || fflush(f) != 0)
        fail("%s: cannot write the log: %s", path.c_str(), strerror(errno ? errno : EIO));
}

TrainLogger::~TrainLogger() {
    if (log_) fclose(log_);
    if (jsonl_) fclose(jsonl_);
}

// %.9g round-trips a float, so a log can be compared bit for bit; JSON has no NaN.
static std::string num(double x) {
    if (!std::isfinite(x)) return "null";
    char b[32];
    snprintf(b, sizeof b, "%.9g", x);
    return b;
}

std::string step_json(const StepRecord& r, const LNState& ln) {
    std::string s = "{\"step\":" + std::to_string(r.step) + ",\"ce\":" + num(r.ce) +
                    ",\"aux\":" + num(r.aux) + ",\"lr\":" + num(r.lr) +
                    ",\"grad_norm\":" + num(r.grad_norm) + ",\"ms\":" + num(r.ms) +
                    ",\"tokens_per_s\":" + num(r.tokens_per_s);
    // each path: [frozen 0|1, sigma] (sigma only meaningful when frozen)
    // (path order, one array per kind)
    for (int k = 0; k < NUM_PATH_KINDS; k++) {
        s += ",\"" + std::string(PATH_KINDS[k].name) + "\":[";
        for (int l = 0; l < ln.paths_in((PathKind)k); l++) {
            const LNPath& p = ln.path((PathKind)k, l);
            s += (l ? ",[" : "[") + std::to_string((int)p.frozen) + "," + num(p.sigma) + "]";
        }
        s += "]";
    }
    s += ",\"bos_special\":" + std::to_string((int)ln.bos_special) +
         ",\"eot_special\":" + std::to_string((int)ln.eot_special) + "}";
    return s;
}

std::string device_line(const std::string& device, double peak_flops, const char* precision) {
    char b[512];
    if (peak_flops > 0)
        snprintf(b, sizeof b, "GPU %s: %s dense peak %.1f TFLOP/s per GPU", device.c_str(), precision,
                 peak_flops / 1e12);
    else
        snprintf(b, sizeof b, "GPU %s: peak unknown (not in the table of docs/gpu.md): MFU not reported",
                 device.c_str());
    return b;
}

std::string throughput_line(int step, double flops, double seconds, const std::string& device,
                            double peak_flops, const char* precision) {
    const double tflops = flops / seconds / 1e12;
    char b[512];
    if (peak_flops > 0)
        snprintf(b, sizeof b, "step %d: %.2f TFLOP/s per GPU, MFU %.1f%% of %s %s peak", step, tflops,
                 100.0 * tflops / (peak_flops / 1e12), device.c_str(), precision);
    else
        snprintf(b, sizeof b, "step %d: %.3f TFLOP/s per GPU (MFU n/a)", step, tflops);
    return b;
}

void TrainLogger::step(const StepRecord& r, const LNState& ln) {
    if (!enabled_) return;
    printf("step %5d/%d | loss %.6f | aux %.4g | lr %.3e | norm %.4f | %.1f ms | %.0f tok/s | %s\n",
           r.step, r.steps, r.ce, r.aux, r.lr, r.grad_norm, r.ms, r.tokens_per_s,
           ln_summary(ln).c_str());
    fflush(stdout);
    write(log_, log_path_, "s:" + std::to_string(r.step) + " trl:" + num(r.ce) + "\n");
    write(jsonl_, jsonl_path_, step_json(r, ln) + "\n");
}

void TrainLogger::froze(int step, const FreezeEvent& e, bool specials) {
    if (!enabled_) return;
    const std::string where = path_label(e.path);
    if (specials)
        printf("step %5d: froze %s, sigma %.6g (sigma_bos %.6g)\n", step, where.c_str(), e.sigma, e.sigma_bos);
    else
        printf("step %5d: froze %s, sigma %.6g\n", step, where.c_str(), e.sigma);
    write(jsonl_, jsonl_path_,
          "{\"step\":" + std::to_string(step) + ",\"event\":\"freeze\",\"path\":\"" +
              PATH_KINDS[e.path.kind].name + "\",\"layer\":" + std::to_string(e.path.layer) +
              ",\"sigma\":" + num(e.sigma) + ",\"sigma_bos\":" + num(e.sigma_bos) + "}\n");
}

void TrainLogger::val(int step, float loss) {
    if (!enabled_) return;
    printf("step %5d: val loss %.6f\n", step, loss);
    write(log_, log_path_, "s:" + std::to_string(step) + " tel:" + num(loss) + "\n");
    write(jsonl_, jsonl_path_, "{\"step\":" + std::to_string(step) + ",\"val_loss\":" + num(loss) + "}\n");
}

void TrainLogger::hellaswag(int step, int correct, int n, float acc) {
    if (!enabled_) return;
    printf("step %5d: HellaSwag acc_norm %d/%d = %.4f\n", step, correct, n, acc);
    write(log_, log_path_, "s:" + std::to_string(step) + " hsa:" + num(acc) + "\n");
    write(jsonl_, jsonl_path_, "{\"step\":" + std::to_string(step) + ",\"hellaswag_acc\":" + num(acc) +
                                   ",\"hellaswag_n\":" + std::to_string(n) + "}\n");
}

void TrainLogger::message(const std::string& line) {
    if (!enabled_) return;
    printf("%s\n", line.c_str());
    fflush(stdout);
}

}  // namespace noln
