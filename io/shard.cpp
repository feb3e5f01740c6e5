#include "io/shard.h"

#include <algorithm>
#include <climits>

#include "host/error.h"
#include "io/file_io.h"

namespace noln {

namespace {

uint64_t check_header(FileReader& r) {
    const char* p = r.path().c_str();
    std::vector<int32_t> h = read_header(r, "shard header");
    if (h[0] == 20240801)
        fail("%s: this is a Llama-3 shard (magic 20240801, uint32 tokens); only GPT-2 shards "
             "(magic %d, uint16 tokens) are supported", p, SHARD_MAGIC);
    if (h[0] != SHARD_MAGIC) fail("%s: bad magic %d in token shard (expected %d)", p, h[0], SHARD_MAGIC);
    if (h[1] != SHARD_VERSION)
        fail("%s: unsupported token shard version %d (expected %d)", p, h[1], SHARD_VERSION);
    if (h[2] <= 0) fail("%s: token shard declares %d tokens (must be positive)", p, h[2]);
    check_reserved_zero(h, 3, HEADER_INTS, r.path(), "shard header");
    uint64_t n = (uint64_t)h[2];
    uint64_t want = 1024 + 2 * n;
    if (r.size() != want)
        fail("%s: token shard size is %llu bytes but the header's %llu tokens need exactly %llu "
             "(%s)", p, (unsigned long long)r.size(), (unsigned long long)n,
             (unsigned long long)want, r.size() < want ? "truncated" : "trailing bytes");
    return n;
}

// Reads the tokens in chunks, checking each; appends to out when out != nullptr.
void scan_tokens(FileReader& r, uint64_t n, int vocab_size, std::vector<uint16_t>* out) {
    std::vector<uint16_t> buf(1 << 20);
    for (uint64_t i = 0; i < n; i += buf.size()) {
        size_t k = (size_t)std::min<uint64_t>(buf.size(), n - i);
        r.read_exact(buf.data(), k * 2, "tokens");
        if (vocab_size > 0)
            for (size_t j = 0; j < k; j++)
                if (buf[j] >= vocab_size)
                    fail("%s: token %u at index %llu (byte offset %llu) is not below vocab_size %d",
                         r.path().c_str(), (unsigned)buf[j], (unsigned long long)(i + j),
                         (unsigned long long)(1024 + 2 * (i + j)), vocab_size);
        if (out) out->insert(out->end(), buf.begin(), buf.begin() + k);
    }
}

}  // namespace

uint64_t shard_num_tokens(const std::string& path) {
    FileReader r(path);
    return check_header(r);
}

std::vector<uint16_t> read_shard(const std::string& path, int vocab_size) {
    FileReader r(path);
    uint64_t n = check_header(r);
    std::vector<uint16_t> out;
    out.reserve(n);
    scan_tokens(r, n, vocab_size, &out);
    return out;
}

uint64_t validate_shard(const std::string& path, int vocab_size) {
    FileReader r(path);
    uint64_t n = check_header(r);
    scan_tokens(r, n, vocab_size, nullptr);
    return n;
}

void write_shard(const std::string& path, const uint16_t* tokens, size_t n) {
    if (n == 0) fail("%s: refusing to write an empty token shard", path.c_str());
    if (n > (size_t)INT_MAX)
        fail("%s: %zu tokens do not fit one shard (at most %d)", path.c_str(), n, INT_MAX);
    std::vector<int32_t> h(HEADER_INTS, 0);
    h[0] = SHARD_MAGIC;
    h[1] = SHARD_VERSION;
    h[2] = (int32_t)n;
    AtomicWriter w(path);
    w.write(h.data(), h.size() * 4);
    w.write(tokens, n * 2);
    w.commit();
}

void write_shard(const std::string& path, const std::vector<int>& tokens) {
    std::vector<uint16_t> t(tokens.size());
    for (size_t i = 0; i < tokens.size(); i++) {
        if (tokens[i] < 0 || tokens[i] > 65535)
            fail("%s: token %d at index %zu does not fit uint16", path.c_str(), tokens[i], i);
        t[i] = (uint16_t)tokens[i];
    }
    write_shard(path, t.data(), t.size());
}

}  // namespace noln
