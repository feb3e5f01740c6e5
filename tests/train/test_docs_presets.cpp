// docs/training.md's preset table against train/presets.cpp, so the two cannot drift apart:
// every preset has a row, every row names a preset, and every number in a row is the code's.
// Run from the repo root (as tests/suites/ do).
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "train/args.h"
#include "train/presets.h"

using namespace noln;

namespace {

std::string trim(const std::string& s) {
    size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
    return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// Rows of the table under "## Presets" whose first cell is a `name`, split into cells.
std::map<std::string, std::vector<std::string>> doc_rows() {
    std::ifstream f("docs/training.md");
    REQUIRE(f.good());
    std::map<std::string, std::vector<std::string>> rows;
    std::string line;
    bool in_section = false;
    while (std::getline(f, line)) {
        if (line.rfind("## ", 0) == 0) in_section = line == "## Presets";
        if (!in_section || line.rfind("| `", 0) != 0) continue;
        std::vector<std::string> cells;
        std::stringstream ss(line.substr(1));
        std::string cell;
        while (std::getline(ss, cell, '|')) cells.push_back(trim(cell));
        if (!cells.empty() && cells.back().empty()) cells.pop_back();
        std::string name = cells[0].substr(1, cells[0].size() - 2);  // strip the backquotes
        rows[name] = cells;
    }
    return rows;
}

// The leading number of a cell: "491,520" -> 491520, "4,096 (T = 64)" -> 4096,
// "0.9^(28/32)" -> 0.9^(28/32), "1 (fixed sigmas)" -> 1.
double number(std::string s) {
    std::string digits;
    for (char c : s) {
        if (c == ',') continue;
        if (c == ' ') break;
        digits += c;
    }
    size_t caret = digits.find("^(");
    if (caret != std::string::npos) {
        double base = std::stod(digits.substr(0, caret));
        int a = 0, b = 1;
        REQUIRE(sscanf(digits.c_str() + caret + 2, "%d/%d", &a, &b) == 2);
        return std::pow(base, (double)a / b);
    }
    return std::stod(digits);
}

std::string group(const GroupSchedule& g) {
    return g.start ? std::to_string(g.start) + "/" + std::to_string(g.gap) : "off";
}

}  // namespace

TEST_CASE("docs/training.md lists every preset with the code's numbers", "[docs][presets]") {
    auto rows = doc_rows();
    REQUIRE(rows.size() == presets().size());
    for (const Preset& preset : presets()) {
        INFO("preset " << preset.name);
        REQUIRE(rows.count(preset.name) == 1);
        const std::vector<std::string>& r = rows[preset.name];
        TrainArgs p;  // what the preset sets, through the flag table
        apply_preset(preset, p);
        // preset | ln2 | ln1qk | ln1v | lnf | steps | horizon | tokens/step | -b | LR -> min |
        // warmup | wd | beta2 | lambda | momentum
        REQUIRE(r.size() == 15);
        CHECK(r[1] == group(p.remove.at(PATH_LN2)));
        CHECK(r[2] == group(p.remove.at(PATH_LN1QK)));
        CHECK(r[3] == group(p.remove.at(PATH_LN1V)));
        CHECK(r[4] == (p.remove.at(PATH_LNF).start ? std::to_string(p.remove.at(PATH_LNF).start) : std::string("off")));
        CHECK(number(r[5]) == p.steps);
        CHECK(number(r[6]) == p.lr_horizon);
        CHECK(number(r[7]) == p.total_batch);
        CHECK(number(r[8]) == p.B);
        size_t arrow = r[9].find("->");
        REQUIRE(arrow != std::string::npos);
        CHECK(number(r[9].substr(0, arrow)) == Approx(p.lr).epsilon(1e-6));
        CHECK(number(trim(r[9].substr(arrow + 2))) == Approx((double)p.lr * p.final_frac).epsilon(1e-6));
        CHECK(number(r[10]) == p.warmup);
        CHECK(number(r[11]) == Approx(p.weight_decay).epsilon(1e-6));
        CHECK(number(r[12]) == Approx(p.beta2).epsilon(1e-6));
        CHECK(number(r[13]) == Approx(p.aux_lambda).epsilon(1e-6));
        CHECK(number(r[14]) == Approx(p.sigma_momentum).epsilon(1e-6));
    }
}
