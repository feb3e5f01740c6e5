// llm.c's tokenizer file (docs/formats.md, Tokenizer): a 256-uint32 header (magic
// 20240328, version 2, token count, EOT id; version 1 has no EOT slot and means 50256),
// then per token a uint8 length (1..255) and that many raw bytes. Decode only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace noln {

constexpr int TOKENIZER_MAGIC = 20240328;

struct TokenizerBin {
    std::vector<std::string> tokens;  // raw bytes of each token id
    int eot_token = 50256;
    int version = 2;
    int size() const { return (int)tokens.size(); }
    // The bytes of `id`; throws noln::Error for an id outside [0, size()).
    const std::string& decode(int id) const;
};

TokenizerBin read_tokenizer_bin(const std::string& path);
// Writes version 2. Every token must be 1..255 bytes; eot must be a valid id. Atomic.
void write_tokenizer_bin(const std::string& path, const std::vector<std::string>& tokens, int eot);

}  // namespace noln
