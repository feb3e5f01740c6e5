#include "io/tokenizer_bin.h"

#include "host/error.h"
#include "io/file_io.h"

namespace noln {

const std::string& TokenizerBin::decode(int id) const {
    if (id < 0 || id >= size())
        fail("tokenizer: token id %d is outside the vocabulary [0, %d)", id, size());
    return tokens[id];
}

TokenizerBin read_tokenizer_bin(const std::string& path) {
    const char* p = path.c_str();
    FileReader r(path);
    std::vector<int32_t> h = read_header(r, "tokenizer header");
    if (h[0] != TOKENIZER_MAGIC)
        fail("%s: bad magic %d in tokenizer file (expected %d)", p, h[0], TOKENIZER_MAGIC);
    TokenizerBin t;
    t.version = h[1];
    if (h[1] == 1) t.eot_token = 50256;  // version 1 predates the EOT slot
    else if (h[1] == 2) t.eot_token = h[3];
    else fail("%s: unsupported tokenizer version %d (expected 1 or 2)", p, h[1]);
    check_reserved_zero(h, 4, HEADER_INTS, path, "tokenizer header");  // v1 ignores slot 3
    const int n = h[2];
    if (n <= 0) fail("%s: tokenizer declares %d tokens (must be positive)", p, n);
    // each token takes at least 2 bytes, so a huge count in a small file is caught early
    if ((uint64_t)n * 2 > r.remaining())
        fail("%s: truncated tokenizer: %d tokens need at least %llu bytes, file has %llu after "
             "the header", p, n, (unsigned long long)n * 2, (unsigned long long)r.remaining());
    if (t.eot_token < 0 || t.eot_token >= n)
        fail("%s: tokenizer EOT id %d is outside the vocabulary [0, %d)", p, t.eot_token, n);
    t.tokens.resize(n);
    std::string body(r.remaining(), '\0');
    r.read_exact(&body[0], body.size(), "tokens");
    size_t pos = 0;
    for (int i = 0; i < n; i++) {
        if (pos >= body.size())
            fail("%s: truncated tokenizer: token %d (of %d) starts past the end of the file", p, i, n);
        unsigned len = (unsigned char)body[pos];
        if (len == 0) fail("%s: token %d has length 0 at byte offset %zu", p, i, 1024 + pos);
        if (pos + 1 + len > body.size())
            fail("%s: truncated tokenizer: token %d needs %u bytes at byte offset %zu", p, i, len,
                 1024 + pos + 1);
        t.tokens[i].assign(body, pos + 1, len);
        pos += 1 + len;
    }
    if (pos != body.size())
        fail("%s: %zu bytes of trailing garbage after the last token", p, body.size() - pos);
    return t;
}

void write_tokenizer_bin(const std::string& path, const std::vector<std::string>& tokens, int eot) {
    const char* p = path.c_str();
    if (tokens.empty()) fail("%s: refusing to write a tokenizer with no tokens", p);
    if (eot < 0 || eot >= (int)tokens.size())
        fail("%s: EOT id %d is outside the vocabulary [0, %zu)", p, eot, tokens.size());
    std::vector<int32_t> h(HEADER_INTS, 0);
    h[0] = TOKENIZER_MAGIC;
    h[1] = 2;
    h[2] = (int32_t)tokens.size();
    h[3] = eot;
    std::string body;
    for (size_t i = 0; i < tokens.size(); i++) {
        size_t len = tokens[i].size();
        if (len < 1 || len > 255)
            fail("%s: token %zu is %zu bytes long (the format holds 1..255)", p, i, len);
        body += (char)len;
        body += tokens[i];
    }
    AtomicWriter w(path);
    w.write(h.data(), h.size() * 4);
    w.write(body.data(), body.size());
    w.commit();
}

}  // namespace noln
