#include "io/dataloader.h"

#include <cstring>
#include <sstream>

#include "host/error.h"
#include "io/file_io.h"
#include "io/shard.h"

namespace noln {

namespace {
constexpr int64_t STATE_MAGIC = 20241121;
constexpr int64_t STATE_VERSION = 1;
}  // namespace

DataLoader::DataLoader(const std::string& pattern, int B, int T, int rank, int world,
                       bool shuffle, int vocab_size, uint64_t seed)
    : B_(B), T_(T), rank_(rank), world_(world), shuffle_(shuffle), seed_(seed) {
    const char* pat = pattern.c_str();
    if (B <= 0 || T <= 0) fail("%s: data loader needs B > 0 and T > 0 (got B=%d T=%d)", pat, B, T);
    if (world <= 0 || rank < 0 || rank >= world)
        fail("%s: data loader rank %d is outside world size %d", pat, rank, world);
    if (vocab_size <= 0) fail("%s: data loader needs vocab_size > 0 (got %d)", pat, vocab_size);
    paths_ = glob_files(pattern);
    if (paths_.empty()) fail("%s: no token shard files match this pattern", pat);
    const uint64_t need = (uint64_t)world * B * T + 1;
    for (auto& p : paths_) {
        uint64_t n = validate_shard(p, vocab_size);
        if (n < need)
            fail("%s: token shard has %llu tokens but one step needs world*B*T+1 = %d*%d*%d+1 = "
                 "%llu", p.c_str(), (unsigned long long)n, world, B, T, (unsigned long long)need);
        ntok_.push_back(n);
    }
    inputs_.resize((size_t)B * T);
    targets_.resize((size_t)B * T);
    buf_.resize((size_t)B * T + 1);
    reset();
}

size_t DataLoader::samples_in(size_t f) const {
    return (size_t)((ntok_[f] - 1) / ((uint64_t)world_ * B_ * T_));
}

size_t DataLoader::num_batches() const {
    size_t n = 0;
    for (size_t f = 0; f < paths_.size(); f++) n += samples_in(f);
    return n;
}

// Fisher-Yates with plain modulo: portable across standard libraries (unlike
// std::shuffle / uniform_int_distribution), so a state file moves between machines.
void DataLoader::permute(std::vector<int>& v, size_t n) {
    v.resize(n);
    for (size_t i = 0; i < n; i++) v[i] = (int)i;
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_() % i;
        std::swap(v[i - 1], v[j]);
    }
}

void DataLoader::enter_shard() {
    sample_idx_ = 0;
    if (shuffle_) permute(sample_perm_, samples_in(shard_perm_[shard_idx_]));
    else sample_perm_.clear();
}

void DataLoader::reset() {
    rng_.seed((uint32_t)(seed_ + rank_));
    epoch_ = 0;
    shard_idx_ = 0;
    if (shuffle_) {
        permute(shard_perm_, paths_.size());
    } else {
        shard_perm_.resize(paths_.size());
        for (size_t i = 0; i < paths_.size(); i++) shard_perm_[i] = (int)i;
    }
    enter_shard();
}

void DataLoader::next_batch() {
    if (sample_idx_ >= samples_in(shard_perm_[shard_idx_])) {
        shard_idx_++;
        if (shard_idx_ == paths_.size()) {
            shard_idx_ = 0;
            epoch_++;
            if (shuffle_) permute(shard_perm_, paths_.size());
        }
        enter_shard();
    }
    const size_t f = shard_perm_[shard_idx_];
    const uint64_t sample = shuffle_ ? (uint64_t)sample_perm_[sample_idx_] : sample_idx_;
    const uint64_t tok = sample * world_ * B_ * T_ + (uint64_t)rank_ * B_ * T_;
    FileReader r(paths_[f]);
    r.seek(1024 + 2 * tok);
    r.read_exact(buf_.data(), buf_.size() * 2, "tokens");
    for (size_t i = 0; i + 1 < buf_.size(); i++) {
        inputs_[i] = buf_[i];
        targets_[i] = buf_[i + 1];
    }
    sample_idx_++;
}

std::string DataLoader::save_state() const {
    std::vector<int64_t> v = {STATE_MAGIC, STATE_VERSION, B_, T_, rank_, world_, shuffle_,
                              (int64_t)seed_, (int64_t)paths_.size(), (int64_t)shard_idx_,
                              (int64_t)sample_idx_, epoch_};
    v.push_back((int64_t)shard_perm_.size());
    for (int x : shard_perm_) v.push_back(x);
    v.push_back((int64_t)sample_perm_.size());
    for (int x : sample_perm_) v.push_back(x);
    std::ostringstream os;
    os << rng_;  // the standard's text form of the full engine state
    std::string rng = os.str();
    v.push_back((int64_t)rng.size());
    std::string blob((const char*)v.data(), v.size() * 8);
    return blob + rng;
}

void DataLoader::restore_state(const std::string& blob, const std::string& where) {
    const char* w = where.c_str();
    size_t pos = 0;
    auto next = [&](const char* what) {
        if (blob.size() - pos < 8) fail("%s: data loader state truncated at %s", w, what);
        int64_t x;
        memcpy(&x, blob.data() + pos, 8);
        pos += 8;
        return x;
    };
    if (next("magic") != STATE_MAGIC) fail("%s: not a data loader state (bad magic)", w);
    int64_t ver = next("version");
    if (ver != STATE_VERSION) fail("%s: data loader state version %lld is not supported", w, (long long)ver);
    const int64_t want[] = {B_, T_, rank_, world_, shuffle_, (int64_t)seed_, (int64_t)paths_.size()};
    const char* names[] = {"B", "T", "rank", "world", "shuffle", "seed", "number of shards"};
    for (int i = 0; i < 7; i++) {
        int64_t got = next(names[i]);
        if (got != want[i])
            fail("%s: data loader state was saved with %s = %lld, this run has %lld", w, names[i],
                 (long long)got, (long long)want[i]);
    }
    int64_t shard_idx = next("shard index"), sample_idx = next("sample index"), epoch = next("epoch");
    std::vector<int> shard_perm, sample_perm;
    auto read_perm = [&](std::vector<int>& perm, size_t n, const char* what) {
        int64_t k = next(what);
        if (k != (int64_t)n)
            fail("%s: data loader state has %lld entries in the %s, expected %zu", w, (long long)k, what, n);
        std::vector<char> seen(n, 0);
        for (size_t i = 0; i < n; i++) {
            int64_t x = next(what);
            if (x < 0 || x >= (int64_t)n || seen[x])
                fail("%s: data loader state %s is not a permutation", w, what);
            seen[x] = 1;
            perm.push_back((int)x);
        }
    };
    read_perm(shard_perm, paths_.size(), "shard order");
    if (shard_idx < 0 || shard_idx >= (int64_t)paths_.size())
        fail("%s: data loader state shard index %lld is out of range", w, (long long)shard_idx);
    const size_t ns = samples_in(shard_perm[shard_idx]);
    read_perm(sample_perm, shuffle_ ? ns : 0, "sample order");
    if (sample_idx < 0 || sample_idx > (int64_t)ns || epoch < 0)
        fail("%s: data loader state sample index %lld is out of range (shard has %zu)", w,
             (long long)sample_idx, ns);
    int64_t rng_len = next("rng");
    if (rng_len < 0 || (uint64_t)rng_len != blob.size() - pos)
        fail("%s: data loader state has a bad RNG length", w);
    std::istringstream is(blob.substr(pos));
    std::mt19937 rng;
    is >> rng;
    if (is.fail()) fail("%s: data loader state has an unreadable RNG state", w);
    if (!shuffle_)
        for (size_t i = 0; i < shard_perm.size(); i++)
            if (shard_perm[i] != (int)i) fail("%s: data loader state shard order is not sequential", w);
    rng_ = rng;
    shard_perm_ = shard_perm;
    sample_perm_ = sample_perm;
    shard_idx_ = (size_t)shard_idx;
    sample_idx_ = (size_t)sample_idx;
    epoch_ = (int)epoch;
}

}  // namespace noln
