// Documents from a JSON Lines file (docs/data.md): one JSON object per line, each either
// {"text": "..."} (a document to tokenize) or {"input_ids": [ids...]} (a document already
// tokenized, as the Pile evaluation sets paper (b) used are published). Other members are
// ignored; blank lines are skipped. This is what scripts/prepare_data.sh downloads to and
// what prepare_shards reads besides plain text files.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace noln {

struct JsonlDoc {
    bool has_text = false;   // true: `text` holds the document; false: `ids` does
    std::string text;
    std::vector<int> ids;
};

// Calls `fn` for each document of `path`, in order; returns how many there were. Throws
// naming the file and line on a line that is not an object with a string "text" or an
// integer array "input_ids" (ids in [0, vocab_size)).
long for_each_jsonl_doc(const std::string& path, int vocab_size, const std::function<void(const JsonlDoc&)>& fn);

inline bool is_jsonl_path(const std::string& p) {
    return p.size() > 6 && p.compare(p.size() - 6, 6, ".jsonl") == 0;
}

}  // namespace noln
