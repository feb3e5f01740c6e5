#include "train/logger.h"

#include <cmath>

#include "host/error.h"
#include "io/file_io.h"

namespace noln {

static FILE* open_log(const std::string& path, bool append) {
    FILE* f = fopen(path.c_str(), append ? "a" : "w");
    if (!f) fail("%s: cannot open for writing", path.c_str());
    return f;
}

TrainLogger::TrainLogger(const std::string& dir, bool enabled, bool append) : enabled_(enabled) {
    if (!enabled || dir.empty()) return;
    make_dirs(dir);
    log_ = open_log(dir + "/main.log", append);
    jsonl_ = open_log(dir + "/main.jsonl", append);
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
    if (log_) {
        fprintf(log_, "s:%d trl:%s\n", r.step, num(r.ce).c_str());
        fflush(log_);
    }
    if (jsonl_) {
        fprintf(jsonl_, "%s\n", step_json(r, ln).c_str());
        fflush(jsonl_);
    }
}

void TrainLogger::froze(int step, const FreezeEvent& e, bool specials) {
    if (!enabled_) return;
    const std::string where = path_label(e.path);
    if (specials)
        printf("step %5d: froze %s, sigma %.6g (sigma_bos %.6g)\n", step, where.c_str(), e.sigma, e.sigma_bos);
    else
        printf("step %5d: froze %s, sigma %.6g\n", step, where.c_str(), e.sigma);
    if (jsonl_)
        fprintf(jsonl_, "{\"step\":%d,\"event\":\"freeze\",\"path\":\"%s\",\"layer\":%d,\"sigma\":%s,\"sigma_bos\":%s}\n",
                step, PATH_KINDS[e.path.kind].name, e.path.layer, num(e.sigma).c_str(), num(e.sigma_bos).c_str());
}

void TrainLogger::val(int step, float loss) {
    if (!enabled_) return;
    printf("step %5d: val loss %.6f\n", step, loss);
    if (log_) { fprintf(log_, "s:%d tel:%s\n", step, num(loss).c_str()); fflush(log_); }
    if (jsonl_) { fprintf(jsonl_, "{\"step\":%d,\"val_loss\":%s}\n", step, num(loss).c_str()); fflush(jsonl_); }
}

void TrainLogger::hellaswag(int step, int correct, int n, float acc) {
    if (!enabled_) return;
    printf("step %5d: HellaSwag acc_norm %d/%d = %.4f\n", step, correct, n, acc);
    if (log_) { fprintf(log_, "s:%d hsa:%s\n", step, num(acc).c_str()); fflush(log_); }
    if (jsonl_) {
        fprintf(jsonl_, "{\"step\":%d,\"hellaswag_acc\":%s,\"hellaswag_n\":%d}\n", step, num(acc).c_str(), n);
        fflush(jsonl_);
    }
}

void TrainLogger::message(const std::string& line) {
    if (!enabled_) return;
    printf("%s\n", line.c_str());
    fflush(stdout);
}

}  // namespace noln
