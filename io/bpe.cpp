// GPT-2 byte-level BPE. See bpe.h for what it promises; the notes here say how.
#include "io/bpe.h"

#include <algorithm>
#include <queue>

#include "host/error.h"
#include "io/file_io.h"
#include "io/json.h"

namespace noln {

namespace {
#include "io/bpe_unicode.inc"

template <size_t N>
bool in_ranges(const uint32_t (&r)[N][2], uint32_t cp) {
    // upper_bound on the range starts, then check the range before it
    size_t lo = 0, hi = N;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r[mid][0] <= cp) lo = mid + 1; else hi = mid;
    }
    return lo > 0 && cp <= r[lo - 1][1];
}

// Stands for a byte that is not part of valid UTF-8; classified as Other.
constexpr uint32_t kInvalid = 0xFFFFFFFFu;

// Decodes one code point at p (strict UTF-8: no overlongs, no surrogates, <= U+10FFFF).
// On invalid input returns kInvalid with length 1, so the bad byte stands alone.
inline uint32_t next_cp(const unsigned char* p, const unsigned char* end, int* n) {
    unsigned c = p[0];
    if (c < 0x80) { *n = 1; return c; }
    int len; uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
    else { *n = 1; return kInvalid; }
    if (end - p < len) { *n = 1; return kInvalid; }
    for (int k = 1; k < len; k++) {
        if ((p[k] & 0xC0) != 0x80) { *n = 1; return kInvalid; }
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { *n = 1; return kInvalid; }
    *n = len;
    return cp;
}

// ASCII classes as a compile-time table: no static-initialisation order to worry about.
struct AsciiClasses {
    CharClass c[128];
    constexpr AsciiClasses() : c() {
        for (int i = 0; i < 128; i++) {
            CharClass k = CharClass::Other;
            if ((i >= 'a' && i <= 'z') || (i >= 'A' && i <= 'Z')) k = CharClass::Letter;
            else if (i >= '0' && i <= '9') k = CharClass::Number;
            else if (i == ' ' || (i >= 0x09 && i <= 0x0D)) k = CharClass::Space;
            c[i] = k;
        }
    }
};
constexpr AsciiClasses kAscii;

inline CharClass class_at(const unsigned char* p, const unsigned char* end, int* n) {
    if (p[0] < 0x80) { *n = 1; return kAscii.c[p[0]]; }
    uint32_t cp = next_cp(p, end, n);
    return cp == kInvalid ? CharClass::Other : unicode_class(cp);
}

// GPT-2's byte <-> printable character table: bytes that are printable Latin-1 map to
// themselves, the other 68 to U+0100.. in byte order, so every token is a visible string.
void byte_table(uint32_t byte_to_cp[256]) {
    int extra = 0;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        byte_to_cp[b] = printable ? (uint32_t)b : 256u + extra++;
    }
}

// encoder.json keys and vocab.bpe words are written in that printable alphabet; turn one
// back into the raw bytes it stands for.
std::string unmap(const std::string& s, const std::unordered_map<uint32_t, int>& cp_to_byte,
                  const std::string& where) {
    std::string out;
    const unsigned char* p = (const unsigned char*)s.data();
    const unsigned char* end = p + s.size();
    while (p < end) {
        int n;
        uint32_t cp = next_cp(p, end, &n);
        auto it = cp == kInvalid ? cp_to_byte.end() : cp_to_byte.find(cp);
        if (it == cp_to_byte.end())
            fail("%s: token \"%s\" holds a character outside GPT-2's byte alphabet", where.c_str(),
                 s.c_str());
        out.push_back((char)it->second);
        p += n;
    }
    return out;
}

const char kEot[] = "<|endoftext|>";
}  // namespace

CharClass unicode_class(uint32_t cp) {
    if (cp < 128) return kAscii.c[cp];
    if (in_ranges(kLetterRanges, cp)) return CharClass::Letter;
    if (in_ranges(kNumberRanges, cp)) return CharClass::Number;
    if (in_ranges(kSpaceRanges, cp)) return CharClass::Space;
    return CharClass::Other;
}

std::vector<Piece> gpt2_pretokenize(const char* text, size_t len) {
    std::vector<Piece> out;
    const unsigned char* s = (const unsigned char*)text;
    const unsigned char* end = s + len;
    const unsigned char* p = s;
    while (p < end) {
        const unsigned char* start = p;
        // 's 't 're 've 'm 'll 'd
        if (*p == '\'' && end - p >= 2) {
            unsigned c = p[1];
            size_t n = 0;
            if (c == 's' || c == 't' || c == 'm' || c == 'd') n = 2;
            else if (end - p >= 3 && ((c == 'r' && p[2] == 'e') || (c == 'v' && p[2] == 'e') ||
                                      (c == 'l' && p[2] == 'l'))) n = 3;
            if (n) { out.push_back({(size_t)(p - s), n}); p += n; continue; }
        }
        // ' ?X+' for X in letters, numbers, others: the space is optional, so a space
        // not followed by such a character falls through to the white-space rules.
        const unsigned char* q = (*p == ' ' && end - p >= 2) ? p + 1 : p;
        int n;
        CharClass k = class_at(q, end, &n);
        if (k != CharClass::Space) {
            q += n;
            while (q < end) {
                CharClass k2 = class_at(q, end, &n);
                if (k2 != k) break;
                q += n;
            }
            out.push_back({(size_t)(start - s), (size_t)(q - start)});
            p = q;
            continue;
        }
        // \s+(?!\S) then \s+: a white-space run leaves its last character to prefix the
        // next word, unless the run ends the text or is a single character.
        q = p;
        const unsigned char* last = p;
        while (q < end && class_at(q, end, &n) == CharClass::Space) { last = q; q += n; }
        if (q < end && last > p) q = last;
        out.push_back({(size_t)(start - s), (size_t)(q - start)});
        p = q;
    }
    return out;
}

std::vector<std::string> gpt2_pretokenize(const std::string& text) {
    std::vector<std::string> out;
    for (const Piece& pc : gpt2_pretokenize(text.data(), text.size()))
        out.emplace_back(text, pc.offset, pc.length);
    return out;
}

Bpe::Bpe(const std::string& encoder_json_path, const std::string& vocab_bpe_path) {
    uint32_t byte_to_cp[256];
    byte_table(byte_to_cp);
    std::unordered_map<uint32_t, int> cp_to_byte;
    for (int b = 0; b < 256; b++) cp_to_byte[byte_to_cp[b]] = b;

    Json enc = read_json_file(encoder_json_path);
    const std::string& ep = encoder_json_path;
    if (!enc.is_object() || enc.members.empty())
        fail("%s: expected a non-empty JSON object mapping tokens to ids", ep.c_str());
    size_t n = enc.members.size();
    tokens_.assign(n, std::string());
    std::vector<bool> seen(n, false);
    ids_.reserve(n * 2);
    for (const auto& [key, val] : enc.members) {
        int64_t id = json_int(val, "the id of token \"" + key + "\"", ep);
        if (id < 0 || (size_t)id >= n)
            fail("%s: token \"%s\" has id %lld, outside 0..%zu", ep.c_str(), key.c_str(),
                 (long long)id, n - 1);
        if (seen[id]) fail("%s: id %lld is given to two tokens", ep.c_str(), (long long)id);
        seen[id] = true;
        std::string bytes = key == kEot ? key : unmap(key, cp_to_byte, ep);
        if (bytes.empty() || bytes.size() > 255)
            fail("%s: token %lld has %zu bytes (must be 1..255)", ep.c_str(), (long long)id,
                 bytes.size());
        if (!ids_.emplace(bytes, (int)id).second)
            fail("%s: token \"%s\" appears twice", ep.c_str(), key.c_str());
        tokens_[id] = std::move(bytes);
        if (key == kEot) eot_ = (int)id;
    }
    if (eot_ < 0) fail("%s: no \"%s\" token", ep.c_str(), kEot);
    for (int b = 0; b < 256; b++) {
        auto it = ids_.find(std::string(1, (char)b));
        if (it == ids_.end()) fail("%s: byte 0x%02X has no token of its own", ep.c_str(), b);
        byte_id_[b] = it->second;
    }

    // vocab.bpe: a "#version" line, then one merge "left right" per line, best first.
    const std::string& vp = vocab_bpe_path;
    std::string text = read_file(vp);
    size_t pos = 0, line_no = 0;
    int rank = 0;
    // rank at which each token was formed: each is formed once and a merge may only use
    // tokens formed before it,
    // which is what lets encode_piece process merges with a heap (see there).
    std::vector<int> formed(n, -1);
    while (pos < text.size()) {
        size_t eol = text.find('\n', pos);
        if (eol == std::string::npos) eol = text.size();
        std::string line = text.substr(pos, eol - pos);
        pos = eol + 1;
        line_no++;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
        size_t sp = line.find(' ');
        if (sp == std::string::npos || sp == 0 || sp + 1 == line.size() ||
            line.find(' ', sp + 1) != std::string::npos)
            fail("%s: line %zu: expected two tokens separated by one space", vp.c_str(), line_no);
        std::string a = unmap(line.substr(0, sp), cp_to_byte, vp);
        std::string b = unmap(line.substr(sp + 1), cp_to_byte, vp);
        auto ia = ids_.find(a), ib = ids_.find(b), im = ids_.find(a + b);
        if (ia == ids_.end() || ib == ids_.end() || im == ids_.end())
            fail("%s: line %zu: merge \"%s\" uses or makes a token missing from %s", vp.c_str(),
                 line_no, line.c_str(), ep.c_str());
        auto made_before = [&](int id) { return tokens_[id].size() == 1 || formed[id] >= 0; };
        if (!made_before(ia->second) || !made_before(ib->second))
            fail("%s: line %zu: merge \"%s\" uses a token that no earlier merge made", vp.c_str(),
                 line_no, line.c_str());
        uint64_t key = (uint64_t)(uint32_t)ia->second << 32 | (uint32_t)ib->second;
        if (!merges_.emplace(key, Merge{rank, im->second}).second)
            fail("%s: line %zu: merge \"%s\" listed twice", vp.c_str(), line_no, line.c_str());
        if (formed[im->second] >= 0)
            fail("%s: line %zu: merge \"%s\" makes a token an earlier merge already made",
                 vp.c_str(), line_no, line.c_str());
        formed[im->second] = rank;
        rank++;
    }
    if (merges_.empty()) fail("%s: no merges", vp.c_str());
}

// BPE on one pre-token: repeatedly merge the adjacent pair of lowest rank, all its
// occurrences left to right (GPT-2's loop). Done with a heap of (rank, position) over a
// linked list, O(n log n) instead of O(n^2), so a megabyte of spaces cannot stall us.
// Equivalent because a merge's result only takes part in later-ranked merges (checked on
// load): every new pair ranks after the one just merged, so all occurrences of a rank are
// popped, in position order, before any higher rank.
void Bpe::encode_piece(const char* p, size_t len, std::vector<int>& out) {
    if (len == 1) { out.push_back(byte_id_[(unsigned char)p[0]]); return; }
    std::string key(p, len);
    auto hit = cache_.find(key);
    if (hit != cache_.end()) { out.insert(out.end(), hit->second.begin(), hit->second.end()); return; }

    int n = (int)len;
    std::vector<int> id(n), next(n), prev(n);
    for (int i = 0; i < n; i++) {
        id[i] = byte_id_[(unsigned char)p[i]];
        next[i] = i + 1 < n ? i + 1 : -1;
        prev[i] = i - 1;
    }
    struct Cand { int rank, pos, left, right; };
    auto later = [](const Cand& x, const Cand& y) { return x.rank != y.rank ? x.rank > y.rank : x.pos > y.pos; };
    std::priority_queue<Cand, std::vector<Cand>, decltype(later)> heap(later);
    auto push = [&](int i) {
        if (i < 0 || next[i] < 0) return;
        auto m = merges_.find((uint64_t)(uint32_t)id[i] << 32 | (uint32_t)id[next[i]]);
        if (m != merges_.end()) heap.push({m->second.rank, i, id[i], id[next[i]]});
    };
    for (int i = 0; i + 1 < n; i++) push(i);
    std::vector<bool> dead(n, false);
    while (!heap.empty()) {
        Cand c = heap.top();
        heap.pop();
        int i = c.pos, j = next[i];
        // stale: the node was absorbed, or a neighbour changed since this was pushed
        if (dead[i] || j < 0 || id[i] != c.left || id[j] != c.right) continue;
        id[i] = merges_.find((uint64_t)(uint32_t)c.left << 32 | (uint32_t)c.right)->second.merged;
        dead[j] = true;
        next[i] = next[j];
        if (next[j] >= 0) prev[next[j]] = i;
        push(prev[i]);
        push(i);
    }
    std::vector<int> ids;
    for (int i = 0; i >= 0; i = next[i]) ids.push_back(id[i]);
    out.insert(out.end(), ids.begin(), ids.end());
    if (cache_.size() > (1u << 20)) cache_.clear();  // bound memory on huge, varied inputs
    cache_.emplace(std::move(key), std::move(ids));
}

void Bpe::encode_segment(const char* text, size_t len, std::vector<int>& out) {
    for (const Piece& pc : gpt2_pretokenize(text, len)) encode_piece(text + pc.offset, pc.length, out);
}

void Bpe::encode(const std::string& text, bool allow_special, std::vector<int>& out) {
    if (!allow_special) { encode_segment(text.data(), text.size(), out); return; }
    // Text between special tokens is pre-tokenised on its own, so "a<|endoftext|>b" never
    // lets a word run across the marker.
    const size_t m = sizeof kEot - 1;
    size_t pos = 0;
    for (;;) {
        size_t at = text.find(kEot, pos);
        size_t stop = at == std::string::npos ? text.size() : at;
        encode_segment(text.data() + pos, stop - pos, out);
        if (at == std::string::npos) break;
        out.push_back(eot_);
        pos = at + m;
    }
}

std::vector<int> Bpe::encode(const std::string& text, bool allow_special) {
    std::vector<int> out;
    encode(text, allow_special, out);
    return out;
}

const std::string& Bpe::token_bytes(int id) const {
    if (id < 0 || id >= vocab_size())
        fail("token id %d is outside the GPT-2 vocabulary 0..%d", id, vocab_size() - 1);
    return tokens_[id];
}

std::string Bpe::decode(const std::vector<int>& ids) const {
    std::string out;
    for (int id : ids) out += token_bytes(id);
    return out;
}

}  // namespace noln
