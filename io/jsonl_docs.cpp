#include "io/jsonl_docs.h"

#include <fstream>

#include "host/error.h"
#include "io/json.h"

namespace noln {

long for_each_jsonl_doc(const std::string& path, int vocab_size, const std::function<void(const JsonlDoc&)>& fn) {
    std::ifstream f(path, std::ios::binary);
    if (!f) fail("%s: cannot open", path.c_str());
    std::string line;
    long n = 0, lineno = 0;
    JsonlDoc doc;
    while (std::getline(f, line)) {
        lineno++;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const std::string where = path + ":" + std::to_string(lineno);
        Json j = parse_json(line, where);
        if (!j.is_object()) fail("%s: not a JSON object", where.c_str());
        const Json* text = j.find("text");
        const Json* ids = j.find("input_ids");
        doc.ids.clear();
        if (text) {
            doc.has_text = true;
            doc.text = json_string(*text, "text", where);
        } else if (ids) {
            if (!ids->is_array()) fail("%s: \"input_ids\" is not an array", where.c_str());
            doc.has_text = false;
            doc.text.clear();
            for (const Json& v : ids->items) {
                const int64_t id = json_int(v, "input_ids", where);
                if (id < 0 || id >= vocab_size)
                    fail("%s: token id %lld is outside the vocabulary [0, %d)", where.c_str(), (long long)id, vocab_size);
                doc.ids.push_back((int)id);
            }
        } else {
            fail("%s: no \"text\" or \"input_ids\" member", where.c_str());
        }
        fn(doc);
        n++;
    }
    if (f.bad()) fail("%s: read error", path.c_str());
    return n;
}

}  // namespace noln
