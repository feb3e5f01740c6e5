#include "io/debug_state.h"

#include <cstdint>
#include <cstring>

#include "host/error.h"
#include "host/limits.h"
#include "io/file_io.h"

namespace noln {

static uint64_t body_bytes(const GPT2Config& c, long B, long T) {
    return (uint64_t)HEADER_INTS * 4 + 2ull * B * T * 4 + (uint64_t)B * T * c.vocab_size * 4 + 4 +
           (uint64_t)num_parameters(c) * 4;
}

DebugState read_debug_state(const std::string& path, const GPT2Config& c) {
    validate_config(c, path);
    const char* p = path.c_str();
    FileReader r(path);
    std::vector<int32_t> h = read_header(r, "debug state header");
    if (h[0] != DEBUG_STATE_MAGIC)
        fail("%s: bad magic %d in debug state header (expected %d)", p, h[0], DEBUG_STATE_MAGIC);
    if (h[1] != DEBUG_STATE_VERSION)
        fail("%s: debug state version %d not supported (expected %d, padded vocab)", p, h[1],
             DEBUG_STATE_VERSION);
    check_reserved_zero(h, 4, HEADER_INTS, path, "debug state header");
    DebugState s;
    s.B = h[2];
    s.T = h[3];
    if (s.B <= 0 || s.T <= 0 || s.T > c.max_seq_len || (long)s.B * s.T > (1L << 30))
        fail("%s: debug state B=%d T=%d invalid for a model with max_seq_len %d", p, s.B, s.T,
             c.max_seq_len);
    const uint64_t need = body_bytes(c, s.B, s.T);
    if (r.size() < need)
        fail("%s: truncated debug state: B=%d T=%d V=%d and %zu parameters need %llu bytes, file "
             "has %llu",
             p, s.B, s.T, c.vocab_size, num_parameters(c), (unsigned long long)need,
             (unsigned long long)r.size());
    const size_t N = (size_t)s.B * s.T;
    s.x.resize(N);
    s.y.resize(N);
    s.logits.resize(N * c.vocab_size);
    s.grads.resize(num_parameters(c));
    r.read_exact(s.x.data(), N * 4, "inputs");
    r.read_exact(s.y.data(), N * 4, "targets");
    r.read_exact(s.logits.data(), s.logits.size() * 4, "logits");
    r.read_exact(&s.loss, 4, "loss");
    r.read_exact(s.grads.data(), s.grads.size() * 4, "gradients");
    for (size_t i = 0; i < N; i++) {
        if (s.x[i] < 0 || s.x[i] >= c.vocab_size)
            fail("%s: input token %d at position %zu is outside [0, %d)", p, s.x[i], i, c.vocab_size);
        if (s.y[i] >= c.vocab_size)
            fail("%s: target token %d at position %zu is >= vocab size %d", p, s.y[i], i,
                 c.vocab_size);
    }
    if (r.remaining() == 0) return s;

    int32_t ti[16];
    float tf[16];
    r.read_exact(ti, sizeof ti, "noln trailer");
    if (ti[0] != DEBUG_TRAILER_MAGIC)
        fail("%s: %llu unexpected bytes after the gradients (no noln trailer: magic %d, expected "
             "%d); is the model config right?",
             p, (unsigned long long)(r.remaining() + sizeof ti), ti[0], DEBUG_TRAILER_MAGIC);
    if (ti[1] != DEBUG_TRAILER_VERSION)
        fail("%s: noln trailer version %d not supported (expected %d)", p, ti[1],
             DEBUG_TRAILER_VERSION);
    r.read_exact(tf, sizeof tf, "noln trailer");
    std::vector<int32_t> words(32);  // the trailer's 32 words, for the reserved ones
    memcpy(words.data(), ti, sizeof ti);
    memcpy(words.data() + 16, tf, sizeof tf);
    check_reserved_zero(words, 3, 16, path, "noln trailer");
    check_reserved_zero(words, 24, 32, path, "noln trailer");
    const int nsteps = ti[2];
    if (nsteps < 0 || nsteps > 1000000) fail("%s: noln trailer step count %d invalid", p, nsteps);
    check_size(path, "truncated noln trailer: its " + std::to_string(nsteps) + " step losses", (uint64_t)nsteps * 4,
               r.remaining(), "the bytes left in the file");
    s.step_losses.resize(nsteps);
    r.read_exact(s.step_losses.data(), (size_t)nsteps * 4, "noln trailer step losses");
    if (r.remaining() != 0)
        fail("%s: %llu trailing bytes after the noln trailer", p, (unsigned long long)r.remaining());
    s.has_trailer = true;
    s.aux_lambda = tf[0];
    s.ce = tf[1];
    s.aux = tf[2];
    s.adamw.lr = tf[3];
    s.adamw.beta1 = tf[4];
    s.adamw.beta2 = tf[5];
    s.adamw.eps = tf[6];
    s.adamw.weight_decay = tf[7];
    return s;
}

void write_debug_state(const std::string& path, const GPT2Config& c, const DebugState& s) {
    const size_t N = (size_t)s.B * s.T;
    if (s.B <= 0 || s.T <= 0 || s.x.size() != N || s.y.size() != N ||
        s.logits.size() != N * c.vocab_size || s.grads.size() != num_parameters(c))
        fail("%s: debug state to write has inconsistent sizes", path.c_str());
    std::vector<int32_t> h(HEADER_INTS, 0);
    h[0] = DEBUG_STATE_MAGIC;
    h[1] = DEBUG_STATE_VERSION;
    h[2] = s.B;
    h[3] = s.T;
    AtomicWriter w(path);
    w.write(h.data(), h.size() * 4);
    w.write(s.x.data(), N * 4);
    w.write(s.y.data(), N * 4);
    w.write(s.logits.data(), s.logits.size() * 4);
    w.write(&s.loss, 4);
    w.write(s.grads.data(), s.grads.size() * 4);
    if (s.has_trailer) {
        int32_t ti[16] = {DEBUG_TRAILER_MAGIC, DEBUG_TRAILER_VERSION, (int32_t)s.step_losses.size()};
        float tf[16] = {s.aux_lambda, s.ce, s.aux, s.adamw.lr, s.adamw.beta1, s.adamw.beta2,
                        s.adamw.eps, s.adamw.weight_decay};
        w.write(ti, sizeof ti);
        w.write(tf, sizeof tf);
        w.write(s.step_losses.data(), s.step_losses.size() * 4);
    }
    w.commit();
}

}  // namespace noln
