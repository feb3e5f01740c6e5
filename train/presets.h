// Every published schedule of docs/method.md §5 as one table row each, plus `tiny` (the CPU
// demo's scaled-down schedule) and `vanilla` (paper (b) Small's numbers with LN kept).
// A preset is the list of flags it sets, applied through the flag table of train/args.cpp
// (same parsing, same range checks) before the explicit flags, which override it whatever
// their order. docs/training.md's preset table is checked against these rows
// (tests/train/test_docs_presets.cpp).
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace noln {

struct Preset {
    const char* name;
    const char* what;  // one line for --help and the docs
    std::vector<std::pair<std::string, std::string>> flags;  // {flag, value}, as on a command line
};

const std::vector<Preset>& presets();
// nullptr when unknown
const Preset* find_preset(const std::string& name);
// "paper-a-small|paper-b-small|..."
std::string preset_names();

}  // namespace noln
