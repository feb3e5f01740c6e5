#include "io/eval_file.h"

#include <algorithm>
#include <cstdint>

#include "host/error.h"
#include "io/file_io.h"

namespace noln {

EvalFile read_eval_file(const std::string& path, int vocab_size) {
    const char* p = path.c_str();
    FileReader r(path);
    std::vector<int32_t> h = read_header(r, "eval header");
    if (h[0] != EVAL_MAGIC) fail("%s: bad magic %d in eval file (expected %d)", p, h[0], EVAL_MAGIC);
    if (h[1] != 1) fail("%s: unsupported eval file version %d (expected 1)", p, h[1]);
    if (h[2] <= 0) fail("%s: eval file declares %d examples (must be positive)", p, h[2]);
    if (h[3] <= 0) fail("%s: eval file declares longest example %d bytes (must be positive)", p, h[3]);
    check_reserved_zero(h, 4, HEADER_INTS, path, "eval header");
    EvalFile f;
    f.longest_example_bytes = h[3];
    const int n = h[2];
    for (int e = 0; e < n; e++) {
        const uint64_t at = r.tell();
        std::string what = "example " + std::to_string(e);
        uint16_t head[2];
        r.read_exact(head, 4, what.c_str());
        if (head[0] != 65535)
            fail("%s: example %d at byte offset %llu does not start with the 65535 delimiter "
                 "(found %u)", p, e, (unsigned long long)at, (unsigned)head[0]);
        const int bytes = head[1];
        if (bytes % 2 || bytes < 4 * 2 + 2 * (1 + EVAL_COMPLETIONS))
            fail("%s: example %d declares an impossible size of %d bytes", p, e, bytes);
        if (bytes > h[3])
            fail("%s: example %d is %d bytes, longer than the header's longest example (%d)", p,
                 e, bytes, h[3]);
        std::vector<uint16_t> rec(bytes / 2 - 2);
        r.read_exact(rec.data(), rec.size() * 2, what.c_str());
        size_t k = 0;
        // every read below is bounds-checked against the record's own declared size
        auto next = [&](const char* field) -> int {
            if (k >= rec.size())
                fail("%s: example %d: its %d bytes end inside the %s", p, e, bytes, field);
            return rec[k++];
        };
        EvalExample ex;
        ex.index = next("index");
        if (ex.index != e) fail("%s: example %d has index %d (expected %d)", p, e, ex.index, e);
        ex.label = next("label");
        int nc = next("completion count");
        if (nc != EVAL_COMPLETIONS)
            fail("%s: example %d has %d completions (expected %d)", p, e, nc, EVAL_COMPLETIONS);
        if (ex.label >= nc) fail("%s: example %d has label %d (must be 0..%d)", p, e, ex.label, nc - 1);
        auto tokens = [&](std::vector<int>& out, const char* field) {
            int len = next(field);
            if (len == 0) fail("%s: example %d has an empty %s", p, e, field);
            for (int i = 0; i < len; i++) {
                int t = next(field);
                if (vocab_size > 0 && t >= vocab_size)
                    fail("%s: example %d: token %d in the %s is not below vocab_size %d", p, e, t,
                         field, vocab_size);
                out.push_back(t);
            }
        };
        tokens(ex.context, "context");
        ex.completions.resize(nc);
        for (int c = 0; c < nc; c++) tokens(ex.completions[c], "completion");
        if (k != rec.size())
            fail("%s: example %d declares %d bytes but its fields use %zu", p, e, bytes, (k + 2) * 2);
        f.examples.push_back(std::move(ex));
    }
    if (r.remaining())
        fail("%s: %llu bytes of trailing garbage after the last example", p,
             (unsigned long long)r.remaining());
    return f;
}

void write_eval_file(const std::string& path, const std::vector<EvalExample>& examples) {
    const char* p = path.c_str();
    if (examples.empty()) fail("%s: refusing to write an eval file with no examples", p);
    std::vector<uint16_t> body;
    int longest = 0;
    auto put = [&](long v, size_t e, const char* what) {
        if (v < 0 || v > 65535) fail("%s: example %zu: %s %ld does not fit uint16", p, e, what, v);
        body.push_back((uint16_t)v);
    };
    for (size_t e = 0; e < examples.size(); e++) {
        const EvalExample& ex = examples[e];
        if ((int)ex.completions.size() != EVAL_COMPLETIONS)
            fail("%s: example %zu has %zu completions (expected %d)", p, e, ex.completions.size(), EVAL_COMPLETIONS);
        if (ex.label < 0 || ex.label >= EVAL_COMPLETIONS)
            fail("%s: example %zu has label %d (must be 0..3)", p, e, ex.label);
        if (ex.context.empty()) fail("%s: example %zu has an empty context", p, e);
        size_t start = body.size();
        body.push_back(65535);
        body.push_back(0);  // record bytes, filled below
        put((long)e, e, "index");
        put(ex.label, e, "label");
        put(EVAL_COMPLETIONS, e, "completion count");
        put((long)ex.context.size(), e, "context length");
        for (int t : ex.context) put(t, e, "token");
        for (auto& c : ex.completions) {
            if (c.empty()) fail("%s: example %zu has an empty completion", p, e);
            put((long)c.size(), e, "completion length");
            for (int t : c) put(t, e, "token");
        }
        long bytes = (long)(body.size() - start) * 2;
        if (bytes > 65535) fail("%s: example %zu is %ld bytes (at most 65535 fit)", p, e, bytes);
        body[start + 1] = (uint16_t)bytes;
        longest = std::max(longest, (int)bytes);
    }
    std::vector<int32_t> h(HEADER_INTS, 0);
    h[0] = EVAL_MAGIC;
    h[1] = 1;
    h[2] = (int32_t)examples.size();
    h[3] = longest;
    AtomicWriter w(path);
    w.write(h.data(), h.size() * 4);
    w.write(body.data(), body.size() * 2);
    w.commit();
}

}  // namespace noln
