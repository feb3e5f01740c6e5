#include "train/train_state.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <sstream>

#include "host/error.h"
#include "io/file_io.h"

namespace noln {

std::string model_ckpt_path(const std::string& dir, int step) {
    char b[64];
    snprintf(b, sizeof b, "/model_%08d.bin", step);
    return dir + b;
}
std::string state_ckpt_path(const std::string& dir, int step, int rank) {
    char b[64];
    snprintf(b, sizeof b, "/state_%08d_%05d.bin", step, rank);
    return dir + b;
}
std::string done_ckpt_path(const std::string& dir, int step) {
    char b[64];
    snprintf(b, sizeof b, "/DONE_%08d", step);
    return dir + b;
}

// Byte layout (little-endian), after a 256-int32 header:
//   [0] magic [1] version [2] world [3] rank [4] step [5] num_layers
//   [6] settings bytes [7] loader-state bytes [8..9] uint64 num moments
//   [10..11] uint64 num master weights (0: none) [12..13] uint64 run id
//   [14..15] uint64 the model file's checksum [16..17] uint64 this file's checksum (FNV-1a 64
//   of the whole file with these two slots read as 0)
// body: settings text; LN state (path order of host/ln_paths.h: int32 frozen, float32 sigma,
// float32 sigma_bos each, then int32 bos_special, eot_special, eot_token); EMA (float32
// momentum, then site order: float32 sigma, float32 sigma_bos, int32 seen each); m; v;
// masters; loader state (see docs/training.md).
struct Out {
    std::string buf;
    void put(const void* p, size_t n) { buf.append((const char*)p, n); }
    template <class T> void val(T x) { put(&x, sizeof x); }
};

void write_train_state(const std::string& path, const TrainState& s) {
    const int L = s.ln.num_layers();
    int32_t h[HEADER_INTS] = {0};
    h[0] = TRAIN_STATE_MAGIC;
    h[1] = TRAIN_STATE_VERSION;
    h[2] = s.world;
    h[3] = s.rank;
    h[4] = s.step;
    h[5] = L;
    h[6] = (int32_t)s.settings.size();
    h[7] = (int32_t)s.loader.size();
    uint64_t n = s.m.size(), nm = s.master.size();
    if (s.v.size() != n || (nm != 0 && nm != n))
        fail("%s: internal error: %zu m, %zu v and %zu master values", path.c_str(), s.m.size(),
             s.v.size(), s.master.size());
    memcpy(&h[8], &n, 8);
    memcpy(&h[10], &nm, 8);
    memcpy(&h[12], &s.run_id, 8);
    memcpy(&h[14], &s.model_checksum, 8);
    Out o;
    o.put(h, sizeof h);
    o.put(s.settings.data(), s.settings.size());
    for (const LNPath& p : s.ln.paths) {
        o.val<int32_t>(p.frozen);
        o.val<float>(p.sigma);
        o.val<float>(p.sigma_bos);
    }
    o.val<int32_t>(s.ln.bos_special);
    o.val<int32_t>(s.ln.eot_special);
    o.val<int32_t>(s.ln.eot_token);
    o.val<float>(s.ema.momentum);
    if ((int)s.ln.paths.size() != num_paths(L) || s.ema.num_layers() != L)
        fail("%s: internal error: LN state and sigma EMA are not for %d layers", path.c_str(), L);
    for (const SiteEMA& e : s.ema.sites) {
        o.val<float>(e.sigma);
        o.val<float>(e.sigma_bos);
        o.val<int32_t>(e.seen);
    }
    o.put(s.m.data(), n * 4);
    o.put(s.v.data(), n * 4);
    if (nm) o.put(s.master.data(), nm * 4);
    o.put(s.loader.data(), s.loader.size());
    Fnv1a64 sum;
    sum.add(o.buf.data(), o.buf.size());
    memcpy(&o.buf[16 * 4], &sum.value, 8);
    write_file_atomic(path, o.buf.data(), o.buf.size());
}

TrainState read_train_state(const std::string& path) {
    FileReader r(path);
    std::vector<int32_t> h = read_header(r, "train state header");
    uint64_t stored_sum;
    memcpy(&stored_sum, &h[16], 8);
    Fnv1a64 sum;  // the header with its checksum slot as 0, then every byte after it
    {
        std::vector<int32_t> z = h;
        z[16] = z[17] = 0;
        sum.add(z.data(), z.size() * 4);
    }
    r.hash = &sum;
    if (h[0] != TRAIN_STATE_MAGIC)
        fail("%s: not a noln training state file (magic %d, expected %d)", path.c_str(), h[0],
             TRAIN_STATE_MAGIC);
    // version 2 (before run ids and checksums) is still read, as a checkpoint of run id 0
    if (h[1] != TRAIN_STATE_VERSION && h[1] != 2)
        fail("%s: unsupported training state version %d (this build reads 2 and %d)", path.c_str(), h[1],
             TRAIN_STATE_VERSION);
    const bool legacy = h[1] == 2;
    if (legacy) r.hash = nullptr;
    const int L = h[5];
    uint64_t n, nm;
    memcpy(&n, &h[8], 8);
    memcpy(&nm, &h[10], 8);
    if (L <= 0 || L > 100000 || h[6] < 0 || h[7] < 0 || n > ((uint64_t)1 << 40) || (nm != 0 && nm != n))
        fail("%s: corrupt training state header (layers %d, settings %d bytes, loader %d bytes, "
             "%llu moments, %llu master weights)", path.c_str(), L, h[6], h[7], (unsigned long long)n,
             (unsigned long long)nm);
    TrainState s;
    s.world = h[2];
    s.rank = h[3];
    s.step = h[4];
    if (!legacy) {
        memcpy(&s.run_id, &h[12], 8);
        memcpy(&s.model_checksum, &h[14], 8);
    }
    s.settings.resize(h[6]);
    r.read_exact(s.settings.data(), s.settings.size(), "settings");
    auto get_i = [&](const char* what) { int32_t x; r.read_exact(&x, 4, what); return x; };
    auto get_f = [&](const char* what) { float x; r.read_exact(&x, 4, what); return x; };
    s.ln = LNState(L);
    for (LNPath& p : s.ln.paths) {
        p.frozen = get_i("LN state") != 0;
        p.sigma = get_f("LN state");
        p.sigma_bos = get_f("LN state");
    }
    s.ln.bos_special = get_i("LN state") != 0;
    s.ln.eot_special = get_i("LN state") != 0;
    s.ln.eot_token = get_i("LN state");
    s.ema = SigmaEMA(L, get_f("sigma EMA"));
    for (SiteEMA& e : s.ema.sites) {
        e.sigma = get_f("sigma EMA");
        e.sigma_bos = get_f("sigma EMA");
        e.seen = get_i("sigma EMA") != 0;
    }
    s.m.resize(n);
    s.v.resize(n);
    r.read_exact(s.m.data(), n * 4, "optimizer m");
    r.read_exact(s.v.data(), n * 4, "optimizer v");
    s.master.resize(nm);
    r.read_exact(s.master.data(), nm * 4, "master weights");
    s.loader.resize(h[7]);
    r.read_exact(&s.loader[0], s.loader.size(), "data loader state");
    if (r.remaining() != 0)
        fail("%s: %llu unexpected trailing bytes", path.c_str(), (unsigned long long)r.remaining());
    if (!legacy && sum.value != stored_sum)
        fail("%s: checksum mismatch: the header records FNV-1a %016llx, the file's bytes give "
             "%016llx (the file is damaged)", path.c_str(), (unsigned long long)stored_sum,
             (unsigned long long)sum.value);
    auto finite = [&](const std::vector<float>& x, const char* what) {
        for (size_t i = 0; i < x.size(); i++)
            if (!std::isfinite(x[i]))
                fail("%s: %s[%zu] is %g: the optimizer state is not finite", path.c_str(), what, i, x[i]);
    };
    finite(s.m, "AdamW m");
    finite(s.v, "AdamW v");
    finite(s.master, "master weight");
    return s;
}

std::vector<int> checkpoint_steps(const std::string& dir) {
    std::vector<int> steps;
    for (const std::string& f : glob_files(dir + "/DONE_*")) {
        const char* base = f.c_str() + f.rfind('/') + 1;
        int step = 0;
        char extra;
        if (sscanf(base, "DONE_%d%c", &step, &extra) == 1 && step > 0) steps.push_back(step);
    }
    std::sort(steps.rbegin(), steps.rend());
    return steps;
}

int newest_checkpoint(const std::string& dir) {
    std::vector<int> s = checkpoint_steps(dir);
    return s.empty() ? 0 : s.front();
}

static std::map<std::string, std::string> parse_settings(const std::string& text) {
    std::map<std::string, std::string> kv;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        size_t eq = line.find('=');
        if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return kv;
}

std::string settings_value(const std::string& settings, const std::string& key) {
    auto kv = parse_settings(settings);
    auto it = kv.find(key);
    return it == kv.end() ? "" : it->second;
}

void check_settings_match(const std::string& saved, const std::string& now, const std::string& path) {
    auto a = parse_settings(saved), b = parse_settings(now);
    std::string diff;
    for (auto& [k, v] : b) {
        auto it = a.find(k);
        std::string old = it == a.end() ? "(absent)" : it->second;
        if (old != v) diff += "\n  " + k + ": checkpoint has " + old + ", this run has " + v;
    }
    for (auto& [k, v] : a)
        if (!b.count(k)) diff += "\n  " + k + ": checkpoint has " + v + ", this run has (absent)";
    if (!diff.empty())
        fail("%s: cannot resume, the run's settings differ from the checkpoint's:%s", path.c_str(),
             diff.c_str());
}

}  // namespace noln
