#include "io/hellaswag_jsonl.h"

#include <fstream>

#include "host/error.h"
#include "io/json.h"

namespace noln {

std::vector<EvalExample> read_hellaswag_jsonl(const std::string& path, Bpe& bpe) {
    std::ifstream f(path, std::ios::binary);
    if (!f) fail("%s: cannot open", path.c_str());
    std::vector<EvalExample> out;
    std::string line;
    long lineno = 0;
    while (std::getline(f, line)) {
        lineno++;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const std::string where = path + ":" + std::to_string(lineno);
        const Json j = parse_json(line, where);
        if (!j.is_object()) fail("%s: not a JSON object", where.c_str());
        EvalExample e;
        e.index = (int)out.size();
        const Json& lab = json_member(j, "label", where);
        if (lab.is_string() && lab.str.size() == 1 && lab.str[0] >= '0' && lab.str[0] <= '3') e.label = lab.str[0] - '0';
        else e.label = (int)json_int(lab, "label", where);
        if (e.label < 0 || e.label >= EVAL_COMPLETIONS) fail("%s: label %d is not 0..3", where.c_str(), e.label);
        bpe.encode(json_string(json_member(j, "ctx", where), "ctx", where), false, e.context);
        if (e.context.empty()) fail("%s: empty \"ctx\"", where.c_str());
        const Json& ends = json_member(j, "endings", where);
        if (!ends.is_array() || ends.items.size() != (size_t)EVAL_COMPLETIONS)
            fail("%s: \"endings\" must be an array of %d strings", where.c_str(), EVAL_COMPLETIONS);
        for (const Json& s : ends.items) {
            std::vector<int> ids;
            bpe.encode(" " + json_string(s, "endings", where), false, ids);
            e.completions.push_back(ids);
        }
        out.push_back(std::move(e));
    }
    if (out.empty()) fail("%s: no examples", path.c_str());
    return out;
}

}  // namespace noln
