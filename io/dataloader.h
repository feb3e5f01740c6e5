// The training/validation data loader over token shards (io/shard.h; semantics in
// docs/formats.md "Data loader").
//
// A "sample" is one window of world*B*T tokens of a shard (plus one token for the last
// target); rank r reads the B*T+1 tokens starting at r*B*T inside it. Samples advance by
// world*B*T tokens. A shard supplies floor((ntok-1) / (world*B*T)) samples; the loader
// moves to the next shard when the current one is used up and wraps to the first shard
// after the last one (a new epoch).
// shuffle: the shard order is permuted every epoch and the sample order inside each shard
// is permuted when the shard is entered, from a std::mt19937 seeded with seed + rank.
// The whole position (shard, sample, epoch, permutations, RNG) saves to a blob and
// restores, so a resumed run reads exactly the batches it would have read.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace noln {

class DataLoader {
public:
    // pattern: a shell glob (quoted by the caller), files sorted by name. Every shard is
    // validated up front (header, size, tokens < vocab_size, at least world*B*T+1 tokens).
    DataLoader(const std::string& pattern, int B, int T, int rank, int world, bool shuffle,
               int vocab_size, uint64_t seed = 42);

    // Back to the first batch of epoch 0; with shuffle the RNG is reseeded, so the batches
    // after reset() are the same as after construction.
    void reset();
    // Loads the next micro-batch into inputs()/targets() (B*T int32 each).
    void next_batch();
    const int* inputs() const { return inputs_.data(); }
    const int* targets() const { return targets_.data(); }

    int B() const { return B_; }
    int T() const { return T_; }
    size_t num_shards() const { return paths_.size(); }
    const std::vector<std::string>& shard_paths() const { return paths_; }
    // Samples (micro-batches per rank) in one epoch, summed over all shards.
    size_t num_batches() const;
    int epoch() const { return epoch_; }
    // Position of the NEXT batch: index into the shard order, sample index in the shard.
    size_t shard_index() const { return shard_idx_; }
    size_t sample_index() const { return sample_idx_; }

    // Opaque binary blob of the full position; restore_state checks that it was saved by
    // a loader with the same B, T, rank, world, shuffle, seed and shard count, and names
    // `where` (the state file) in every error.
    std::string save_state() const;
    void restore_state(const std::string& blob, const std::string& where);

private:
    void enter_shard();
    size_t samples_in(size_t file_idx) const;
    void permute(std::vector<int>& v, size_t n);

    std::vector<std::string> paths_;
    std::vector<uint64_t> ntok_;
    int B_, T_, rank_, world_;
    bool shuffle_;
    uint64_t seed_;
    std::mt19937 rng_;
    std::vector<int> shard_perm_;   // file index for each position in this epoch's order
    std::vector<int> sample_perm_;  // sample order inside the current shard (shuffle only)
    size_t shard_idx_ = 0, sample_idx_ = 0;
    int epoch_ = 0;
    std::vector<int> inputs_, targets_;
    std::vector<uint16_t> buf_;
};

}  // namespace noln
