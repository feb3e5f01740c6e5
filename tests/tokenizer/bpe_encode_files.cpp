// Test helper: prints the GPT-2 ids of each FILE on one line, space-separated (the same
// output as tests/tokenizer/ref_bpe.py, so the two can be diffed), and the throughput on
// stderr.   bpe_encode_files ENCODER_JSON VOCAB_BPE FILE...
#include <chrono>
#include <cstdio>

#include "io/bpe.h"
#include "host/error.h"
#include "io/file_io.h"

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s ENCODER_JSON VOCAB_BPE FILE...\n", argv[0]);
        return 1;
    }
    try {
        noln::Bpe bpe(argv[1], argv[2]);
        size_t bytes = 0, tokens = 0;
        double sec = 0;
        for (int i = 3; i < argc; i++) {
            std::string text = noln::read_file(argv[i]);
            auto t0 = std::chrono::steady_clock::now();
            std::vector<int> ids = bpe.encode(text);
            sec += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            bytes += text.size();
            tokens += ids.size();
            std::string line;
            for (size_t k = 0; k < ids.size(); k++) {
                if (k) line += ' ';
                line += std::to_string(ids[k]);
            }
            printf("%s\n", line.c_str());
        }
        fprintf(stderr, "bpe_encode_files: %zu bytes -> %zu tokens in %.2f s (%.2f MB/s)\n", bytes,
                tokens, sec, bytes / 1e6 / (sec > 0 ? sec : 1e-9));
    } catch (const noln::Error& e) {
        fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    return 0;
}
