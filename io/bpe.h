// GPT-2's byte-level BPE tokenizer: loads OpenAI's encoder.json + vocab.bpe and encodes
// bytes to token ids exactly as GPT-2's encoder.py does (pre-tokenising regex, then merges by
// rank), and decodes ids back to bytes.
//
// Encoding works on bytes, not on code points, so any input round-trips:
// decode(encode(x)) == x for every byte string. Valid UTF-8 is pre-tokenised as the regex
// would; a byte that is not part of valid UTF-8 counts as one "other" character (neither
// letter, number nor space), the choice that keeps byte-level BPE lossless.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace noln {

enum class CharClass : uint8_t { Letter, Number, Space, Other };

// Unicode class as GPT-2's regex sees it: \p{L}, \p{N}, \s, or anything else.
CharClass unicode_class(uint32_t cp);

// Splits text into GPT-2's pre-tokens, the matches of
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// Each piece is (offset, length) in bytes; together they tile the text.
struct Piece { size_t offset, length; };
std::vector<Piece> gpt2_pretokenize(const char* text, size_t len);
std::vector<std::string> gpt2_pretokenize(const std::string& text);  // the pieces as strings

class Bpe {
public:
    // Reads and checks encoder.json (token -> id, 50257 entries for GPT-2) and vocab.bpe
    // (the merges in rank order). Throws noln::Error naming the file and the problem.
    Bpe(const std::string& encoder_json_path, const std::string& vocab_bpe_path);

    // Appends the ids of `text` to `out`. With allow_special, each "<|endoftext|>" becomes
    // the single EOT id; without, it is ordinary text (as in GPT-2's own encoder).
    // Not thread-safe: it fills a cache of pre-token encodings.
    void encode(const std::string& text, bool allow_special, std::vector<int>& out);
    std::vector<int> encode(const std::string& text, bool allow_special = false);

    // The bytes of a sequence of ids; an id outside [0, vocab_size) is an Error.
    std::string decode(const std::vector<int>& ids) const;
    const std::string& token_bytes(int id) const;  // checked like decode

    int vocab_size() const { return (int)tokens_.size(); }
    int eot() const { return eot_; }  // id of "<|endoftext|>" (50256 for GPT-2)

private:
    struct Merge { int rank, merged; };
    void encode_segment(const char* text, size_t len, std::vector<int>& out);
    void encode_piece(const char* p, size_t len, std::vector<int>& out);

    std::vector<std::string> tokens_;                // id -> bytes
    std::unordered_map<std::string, int> ids_;       // bytes -> id
    std::unordered_map<uint64_t, Merge> merges_;     // (left id << 32 | right id) -> merge
    int byte_id_[256];                               // single byte -> id
    int eot_ = -1;
    std::unordered_map<std::string, std::vector<int>> cache_;  // pre-token -> ids
};

}  // namespace noln
