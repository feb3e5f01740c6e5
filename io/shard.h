// Token data shards (docs/formats.md, Token shards): a 256-int32 header (magic 20240520,
// version 1, token count n) followed by n uint16 tokens; the file is exactly 1024 + 2n bytes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace noln {

constexpr int SHARD_MAGIC = 20240520;
constexpr int SHARD_VERSION = 1;

// Checks the header and the exact size; returns the token count. Does not read the tokens.
uint64_t shard_num_tokens(const std::string& path);
// Reads every token. vocab_size > 0: every token must be < vocab_size, else an error names
// the file, the token index and its byte offset.
std::vector<uint16_t> read_shard(const std::string& path, int vocab_size);
// Streams through the tokens checking them against vocab_size without keeping them.
// Returns the token count.
uint64_t validate_shard(const std::string& path, int vocab_size);
// Atomic write. Every token must be in [0, 65535]; at most 2^31-1 tokens.
void write_shard(const std::string& path, const uint16_t* tokens, size_t n);
void write_shard(const std::string& path, const std::vector<int>& tokens);

}  // namespace noln
