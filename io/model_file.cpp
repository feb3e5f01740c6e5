#include "io/model_file.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "host/error.h"
#include "io/file_io.h"

namespace noln {

uint16_t float_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7F800000u) == 0x7F800000u && (u & 0x007FFFFFu))
        return (uint16_t)((u >> 16) | 0x40);  // keep NaN a (quiet) NaN
    // round to nearest, ties to even: add 0x7FFF plus the lowest kept bit
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float bf16_to_float(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

namespace {

bool positive_finite(float x) { return std::isfinite(x) && x > 0.0f; }

// The same checks on write and on read, so we never write a file we would refuse.
void check_ln_state(const LNState& s, const GPT2Config& c, const std::string& where) {
    const int L = c.num_layers;
    if (s.num_layers() != L || (int)s.paths.size() != num_paths(L))
        fail("%s: LN state has %d layers but the model has %d", where.c_str(), s.num_layers(), L);
    if (s.eot_special && (s.eot_token < 0 || s.eot_token >= c.vocab_size))
        fail("%s: LN state eot_token %d is outside the vocabulary [0, %d)", where.c_str(),
             s.eot_token, c.vocab_size);
    for (int i = 0; i < (int)s.paths.size(); i++) {
        const LNPath& p = s.paths[i];
        if (!p.frozen) continue;
        const std::string name = path_label(path_at(i, L));
        if (!positive_finite(p.sigma))
            fail("%s: LN state path %s is frozen with sigma %g (must be positive and finite)",
                 where.c_str(), name.c_str(), p.sigma);
        if ((s.bos_special || s.eot_special) && !positive_finite(p.sigma_bos))
            fail("%s: LN state path %s is frozen with sigma_bos %g (must be positive and "
                 "finite)", where.c_str(), name.c_str(), p.sigma_bos);
    }
}

// Trailer header slots of version 2: [6] checkpoint step, [8..9] run id, [10..11] checksum.
constexpr int TR_STEP = 6, TR_RUN = 8, TR_SUM = 10;

// The checksum covers the whole file with the checksum slot read as 0: `so_far` has hashed
// the header and the parameter body; the trailer is added here, then its slot filled.
uint64_t write_trailer(AtomicWriter& w, const Fnv1a64& so_far, const GPT2Config& c,
                       const LNState& s, const CheckpointId& id) {
    const int L = c.num_layers;
    std::vector<int32_t> h(HEADER_INTS, 0);
    h[0] = LN_TRAILER_MAGIC;
    h[1] = LN_TRAILER_VERSION;
    h[2] = L;
    h[3] = (s.bos_special ? 1 : 0) | (s.eot_special ? 2 : 0);
    h[4] = s.eot_token;
    h[5] = num_paths(L);
    h[TR_STEP] = id.step;
    memcpy(&h[TR_RUN], &id.run_id, 8);
    std::vector<char> rec;
    for (const LNPath& p : s.paths) {  // path order (host/ln_paths.h)
        char r[LN_RECORD_BYTES];
        int32_t frozen = p.frozen ? 1 : 0;
        memcpy(r, &frozen, 4);
        memcpy(r + 4, &p.sigma, 4);
        memcpy(r + 8, &p.sigma_bos, 4);
        rec.insert(rec.end(), r, r + LN_RECORD_BYTES);
    }
    Fnv1a64 sum = so_far;
    sum.add(h.data(), h.size() * 4);
    sum.add(rec.data(), rec.size());
    memcpy(&h[TR_SUM], &sum.value, 8);
    w.hash = nullptr;
    w.write(h.data(), h.size() * 4);
    w.write(rec.data(), rec.size());
    return sum.value;
}

void read_trailer(FileReader& r, ModelFile& m) {
    const std::string& path = r.path();
    const char* p = path.c_str();
    const int L = m.config.num_layers;
    uint64_t body_end = r.tell();
    if (r.remaining() < (uint64_t)HEADER_INTS * 4)
        fail("%s: %llu trailing bytes after the parameters (offset %llu) are not an LN trailer "
             "(a trailer has a 1024-byte header)", p, (unsigned long long)r.remaining(),
             (unsigned long long)body_end);
    const Fnv1a64 body_sum = r.hash ? *r.hash : Fnv1a64{};
    std::vector<int32_t> h = read_header(r, "LN trailer header");
    if (h[0] != LN_TRAILER_MAGIC)
        fail("%s: trailing bytes after the parameters (offset %llu) are not an LN trailer: "
             "magic %d, expected %d", p, (unsigned long long)body_end, h[0], LN_TRAILER_MAGIC);
    if (h[1] != 1 && h[1] != LN_TRAILER_VERSION)
        fail("%s: LN trailer version %d is not supported (expected 1 or %d)", p, h[1],
             LN_TRAILER_VERSION);
    if (h[2] != L)
        fail("%s: LN trailer is for %d layers but the model has %d", p, h[2], L);
    if (h[3] & ~3)
        fail("%s: LN trailer flags 0x%x have unknown bits (only bit 0 bos_special and bit 1 "
             "eot_special exist)", p, (unsigned)h[3]);
    const int nrec = num_paths(L);
    if (h[5] != nrec)
        fail("%s: LN trailer record count %d, expected 3L+1 = %d", p, h[5], nrec);
    uint64_t stored_sum = 0;
    if (h[1] >= 2) {
        if (h[TR_STEP] < 0) fail("%s: LN trailer checkpoint step %d is negative", p, h[TR_STEP]);
        m.ckpt_step = h[TR_STEP];
        memcpy(&m.run_id, &h[TR_RUN], 8);
        memcpy(&stored_sum, &h[TR_SUM], 8);
    }
    for (int i = 6; i < HEADER_INTS; i++) {
        const bool used = h[1] >= 2 && (i == TR_STEP || (i >= TR_RUN && i < TR_SUM + 2));
        if (!used && h[i] != 0) fail("%s: LN trailer header slot %d is %d, expected 0", p, i, h[i]);
    }
    uint64_t want = (uint64_t)nrec * LN_RECORD_BYTES;
    if (r.remaining() < want)
        fail("%s: truncated LN trailer: %d records need %llu bytes, file has %llu left", p,
             nrec, (unsigned long long)want, (unsigned long long)r.remaining());
    if (r.remaining() > want)
        fail("%s: %llu bytes of trailing garbage after the LN trailer", p,
             (unsigned long long)(r.remaining() - want));
    std::vector<char> rec(want);
    r.read_exact(rec.data(), want, "LN trailer records");
    if (h[1] >= 2) {
        Fnv1a64 sum = body_sum;
        memset(&h[TR_SUM], 0, 8);
        sum.add(h.data(), h.size() * 4);
        sum.add(rec.data(), rec.size());
        if (sum.value != stored_sum)
            fail("%s: checksum mismatch: the LN trailer records FNV-1a %016llx, the file's bytes "
                 "give %016llx (the file is damaged)", p, (unsigned long long)stored_sum,
                 (unsigned long long)sum.value);
        m.checksum = stored_sum;
    }

    LNState s(L);
    s.bos_special = h[3] & 1;
    s.eot_special = (h[3] >> 1) & 1;
    s.eot_token = h[4];
    for (int i = 0; i < nrec; i++) {
        LNPath& q = s.paths[i];
        int32_t frozen;
        memcpy(&frozen, &rec[i * LN_RECORD_BYTES], 4);
        memcpy(&q.sigma, &rec[i * LN_RECORD_BYTES + 4], 4);
        memcpy(&q.sigma_bos, &rec[i * LN_RECORD_BYTES + 8], 4);
        if (frozen != 0 && frozen != 1)
            fail("%s: LN trailer record %d (%s) has frozen=%d, expected 0 or 1", p, i,
                 path_label(path_at(i, L)).c_str(), frozen);
        q.frozen = frozen == 1;
    }
    check_ln_state(s, m.config, path);
    m.ln = s;
    m.has_ln_state = true;
}

}  // namespace

ModelFile read_model_file(const std::string& path) {
    const char* p = path.c_str();
    FileReader r(path);
    Fnv1a64 sum;  // of the whole file, checked against a v2 trailer's
    r.hash = &sum;
    std::vector<int32_t> h = read_header(r, "model header");
    if (h[0] != MODEL_MAGIC)
        fail("%s: bad magic %d in model file (expected %d)", p, h[0], MODEL_MAGIC);
    if (h[1] == 1 || h[1] == 2)
        fail("%s: model file version %d has an unpadded vocab and is no longer supported; "
             "re-run train_gpt2.py to write version 3 (fp32) or 5 (bf16)", p, h[1]);
    if (h[1] != MODEL_VERSION_FP32 && h[1] != MODEL_VERSION_BF16)
        fail("%s: unsupported model file version %d (expected 3 = fp32 or 5 = bf16)", p, h[1]);
    ModelFile m;
    m.version = h[1];
    m.config.max_seq_len = h[2];
    m.config.vocab_size = h[3];
    m.config.num_layers = h[4];
    m.config.num_heads = h[5];
    m.config.channels = h[6];
    m.config.padded_vocab_size = h[7];
    validate_config(m.config, path);

    const size_t n = num_parameters(m.config);
    const size_t elem = m.version == MODEL_VERSION_FP32 ? 4 : 2;
    if ((uint64_t)n * elem > r.remaining())
        fail("%s: truncated parameter body: %zu parameters need %llu bytes, file has %llu after "
             "the header", p, n, (unsigned long long)n * elem,
             (unsigned long long)r.remaining());
    m.params.resize(n);
    if (elem == 4) {
        r.read_exact(m.params.data(), n * 4, "parameter body");
    } else {
        // widen in chunks so a bf16 file never needs a second full-size buffer
        std::vector<uint16_t> buf(1 << 20);
        for (size_t i = 0; i < n; i += buf.size()) {
            size_t k = std::min(buf.size(), n - i);
            r.read_exact(buf.data(), k * 2, "parameter body");
            for (size_t j = 0; j < k; j++) m.params[i + j] = bf16_to_float(buf[j]);
        }
    }
    m.ln = LNState(m.config.num_layers);
    if (r.remaining() > 0) read_trailer(r, m);
    return m;
}

uint64_t write_model_file(const std::string& path, const GPT2Config& c, const float* params,
                          int version, const LNState* ln, const CheckpointId* id) {
    validate_config(c, path);
    if (version != MODEL_VERSION_FP32 && version != MODEL_VERSION_BF16)
        fail("%s: cannot write model file version %d (3 = fp32 or 5 = bf16)", path.c_str(),
             version);
    if (ln) check_ln_state(*ln, c, path);
    std::vector<int32_t> h(HEADER_INTS, 0);
    h[0] = MODEL_MAGIC;
    h[1] = version;
    h[2] = c.max_seq_len;
    h[3] = c.vocab_size;
    h[4] = c.num_layers;
    h[5] = c.num_heads;
    h[6] = c.channels;
    h[7] = c.padded_vocab_size;
    AtomicWriter w(path);
    Fnv1a64 sum;
    w.hash = &sum;
    w.write(h.data(), h.size() * 4);
    const size_t n = num_parameters(c);
    if (version == MODEL_VERSION_FP32) {
        w.write(params, n * 4);
    } else {
        std::vector<uint16_t> buf(1 << 20);
        for (size_t i = 0; i < n; i += buf.size()) {
            size_t k = std::min(buf.size(), n - i);
            for (size_t j = 0; j < k; j++) buf[j] = float_to_bf16(params[i + j]);
            w.write(buf.data(), k * 2);
        }
    }
    const uint64_t checksum = ln ? write_trailer(w, sum, c, *ln, id ? *id : CheckpointId{}) : 0;
    w.commit();
    return checksum;
}

}  // namespace noln
