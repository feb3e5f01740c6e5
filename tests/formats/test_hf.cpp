#include <cmath>
#include <cstring>

#include "io/hf_gpt2.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "tests/formats/test_util.h"

using namespace noln;
using namespace testutil;

namespace {

std::string st_bytes(const std::string& header, const std::string& data) {
    std::string s;
    append<uint64_t>(s, header.size());
    return s + header + data;
}

std::string f32s(const std::vector<float>& v) { return std::string((const char*)v.data(), v.size() * 4); }

const int C = 4, L = 2, V = 10, MAXT = 8, VP = 128;  // config.json below; Vp = 128 after padding

// Hand-computed offsets for V=10 (Vp=128), maxT=8, L=2, C=4 in llm.c's order.
const size_t O_WTE = 0, O_WPE = 128 * 4, O_LN1W = O_WPE + 32, O_LN1B = O_LN1W + 8,
             O_QKVW = O_LN1B + 8, O_QKVB = O_QKVW + 2 * 48, O_ATTPROJW = O_QKVB + 24,
             O_ATTPROJB = O_ATTPROJW + 32, O_LN2W = O_ATTPROJB + 8, O_LN2B = O_LN2W + 8,
             O_FCW = O_LN2B + 8, O_FCB = O_FCW + 2 * 64, O_FCPROJW = O_FCB + 32,
             O_FCPROJB = O_FCPROJW + 2 * 64, O_LNFW = O_FCPROJB + 8, O_LNFB = O_LNFW + 4,
             N_TOTAL = O_LNFB + 4;

// A distinct value for element i of tensor number k.
float val(int k, int i) { return (float)k + (float)i / 1000.0f; }

struct HFT { std::string name; std::vector<int64_t> shape; };

std::vector<HFT> hf_tensors() {
    std::vector<HFT> t = {{"wte.weight", {V, C}}, {"wpe.weight", {MAXT, C}}};
    for (int l = 0; l < L; l++) {
        std::string h = "h." + std::to_string(l) + ".";
        t.push_back({h + "ln_1.weight", {C}});
        t.push_back({h + "ln_1.bias", {C}});
        t.push_back({h + "attn.c_attn.weight", {C, 3 * C}});
        t.push_back({h + "attn.c_attn.bias", {3 * C}});
        t.push_back({h + "attn.c_proj.weight", {C, C}});
        t.push_back({h + "attn.c_proj.bias", {C}});
        t.push_back({h + "ln_2.weight", {C}});
        t.push_back({h + "ln_2.bias", {C}});
        t.push_back({h + "mlp.c_fc.weight", {C, 4 * C}});
        t.push_back({h + "mlp.c_fc.bias", {4 * C}});
        t.push_back({h + "mlp.c_proj.weight", {4 * C, C}});
        t.push_back({h + "mlp.c_proj.bias", {C}});
    }
    t.push_back({"ln_f.weight", {C}});
    t.push_back({"ln_f.bias", {C}});
    return t;
}

// Writes an HF folder by hand: tensors stored in REVERSE order in the buffer (so header
// order and offset order differ), names with `prefix`, F32 throughout, plus extras.
void write_hf_by_hand(const std::string& dir, const std::string& prefix, const std::string& skip = "",
                      const std::string& bad_shape = "") {
    auto ts = hf_tensors();
    std::string header = "{\"__metadata__\": {\"format\": \"pt\"}", data;
    std::vector<std::string> blobs(ts.size());
    for (size_t k = 0; k < ts.size(); k++) {
        size_t n = 1;
        for (auto d : ts[k].shape) n *= d;
        if (ts[k].name == bad_shape) n += n / ts[k].shape[0];  // one more row
        std::vector<float> v(n);
        for (size_t i = 0; i < n; i++) v[i] = val((int)k, (int)i);
        blobs[k] = f32s(v);
    }
    size_t off = 0;
    std::vector<size_t> begin(ts.size());
    for (size_t k = ts.size(); k-- > 0;) { begin[k] = off; off += blobs[k].size(); data += blobs[k]; }
    for (size_t k = 0; k < ts.size(); k++) {
        std::string shape;
        auto sh = ts[k].shape;
        if (ts[k].name == bad_shape) sh[0] += 1;
        for (auto d : sh) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
        std::string name = ts[k].name == skip ? "unused." + ts[k].name : prefix + ts[k].name;
        header += ", \"" + name + "\": {\"dtype\": \"F32\", \"shape\": [" + shape +
                  "], \"data_offsets\": [" + std::to_string(begin[k]) + ", " +
                  std::to_string(begin[k] + blobs[k].size()) + "]}";
    }
    header += "}";
    write_bytes(dir + "/model.safetensors", st_bytes(header, data));
    write_bytes(dir + "/config.json",
                "{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 4, \"n_ctx\": 8, \"vocab_size\": 10,"
                " \"layer_norm_epsilon\": 1e-05, \"model_type\": \"gpt2\"}");
}

// Tensor index k in hf_tensors() for layer l, member j (0 = ln_1.weight ... 11 = mlp.c_proj.bias)
int k_of(int l, int j) { return 2 + 12 * l + j; }

}  // namespace

TEST_CASE("safetensors: f16 widening", "[safetensors]") {
    CHECK(f16_to_float(0x3C00) == 1.0f);
    CHECK(f16_to_float(0xC000) == -2.0f);
    CHECK(f16_to_float(0x7BFF) == 65504.0f);
    CHECK(f16_to_float(0x0400) == std::ldexp(1.0f, -14));
    CHECK(f16_to_float(0x0001) == std::ldexp(1.0f, -24));
    CHECK(f16_to_float(0x03FF) == std::ldexp(1023.0f, -24));
    CHECK(f16_to_float(0x3555) == 0.333251953125f);
    CHECK(std::isinf(f16_to_float(0x7C00)));
    CHECK(std::isnan(f16_to_float(0x7E00)));
    CHECK(std::signbit(f16_to_float(0x8000)));
}

TEST_CASE("safetensors: reads F32/F16/BF16 and metadata", "[safetensors]") {
    TempDir td;
    std::string data = f32s({1.5f, -2.0f});
    append<uint16_t>(data, 0x3C00); append<uint16_t>(data, 0xC000); append<uint16_t>(data, 0x3555);
    append<uint16_t>(data, 0x3F80); append<uint16_t>(data, 0x4049);
    std::string h = R"({"b": {"dtype": "F16", "shape": [3], "data_offsets": [8, 14]},
        "__metadata__": {"format": "pt"},
        "a": {"dtype": "F32", "shape": [1, 2], "data_offsets": [0, 8]},
        "c": {"dtype": "BF16", "shape": [2, 1], "data_offsets": [14, 18]},
        "e": {"dtype": "F32", "shape": [0], "data_offsets": [18, 18]}}   )";
    write_bytes(td.file("x.safetensors"), st_bytes(h, data));
    SafetensorsFile f = read_safetensors(td.file("x.safetensors"));
    REQUIRE(f.tensors.size() == 4);
    CHECK(f.metadata.at("format") == "pt");
    CHECK(f.find("a")->shape == std::vector<int64_t>{1, 2});
    CHECK(f.read_f32(*f.find("a")) == std::vector<float>{1.5f, -2.0f});
    CHECK(f.read_f32(*f.find("b")) == std::vector<float>{1.0f, -2.0f, 0.333251953125f});
    CHECK(f.read_f32(*f.find("c")) == std::vector<float>{1.0f, 3.140625f});
    CHECK(f.read_f32(*f.find("e")).empty());
    CHECK(f.find("zz") == nullptr);
}

TEST_CASE("safetensors: writer output is byte-exact", "[safetensors]") {
    TempDir td;
    std::vector<float> a = {1, 2, 3, 4, 5, 6}, b = {7};
    write_safetensors(td.file("w.safetensors"), {{"a", {2, 3}, a.data()}, {"b.x", {1}, b.data()}},
                      {{"format", "pt"}});
    std::string h = "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],"
                    "\"data_offsets\":[0,24]},\"b.x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[24,28]}}";
    while (h.size() % 8) h += ' ';
    REQUIRE(read_bytes(td.file("w.safetensors")) == st_bytes(h, f32s({1, 2, 3, 4, 5, 6, 7})));
}

TEST_CASE("safetensors: bad headers name the file, the tensor and the problem", "[safetensors][bad]") {
    TempDir td;
    const std::string d8 = f32s({1, 2}), d16 = f32s({1, 2, 3, 4});
    auto one = [](const std::string& body) { return "{" + body + "}"; };
    struct Bad { const char* name; std::string bytes; const char* problem; };
    std::string huge;
    append<uint64_t>(huge, 1000);
    huge += "{}";
    Bad bad[] = {
        {"short.st", "abc", "truncated safetensors header length"},
        {"hlen.st", huge, "header length 1000 is larger than the rest"},
        {"json.st", st_bytes("{\"a\": ", d8), "JSON error at byte"},
        {"notobj.st", st_bytes("[1]", d8), "not a JSON object"},
        {"dtype.st", st_bytes(one(R"("w": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]})"), d8), "tensor w: unsupported dtype \"I64\""},
        {"nodtype.st", st_bytes(one(R"("w": {"shape": [2], "data_offsets": [0, 8]})"), d8), "tensor w: missing key \"dtype\""},
        {"span.st", st_bytes(one(R"("w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]})"), d8), "tensor w: data_offsets span 8 bytes but shape and dtype F32 need 12"},
        {"hugeshape.st", st_bytes(one(R"("w": {"dtype": "F32", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 8]})"), d8), "tensor w: data_offsets span 8 bytes"},
        {"negdim.st", st_bytes(one(R"("w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]})"), d8), "tensor w: negative dimension"},
        {"outside.st", st_bytes(one(R"("w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]})"), d8), "tensor w: data_offsets [0, 16] lie outside the data buffer (8 bytes)"},
        {"range.st", st_bytes(one(R"("w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]})"), d8), "tensor w: data_offsets [8, 0] are not a valid range"},
        {"offs.st", st_bytes(one(R"("w": {"dtype": "F32", "shape": [2], "data_offsets": [0]})"), d8), "tensor w: data_offsets must be an array"},
        {"overlap.st", st_bytes(one(R"("w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "v": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]})"), d16), "tensor v data_offsets [4, 12] overlap tensor w"},
        {"hole.st", st_bytes(one(R"("w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]})"), d16), "tensor w data_offsets start at 8, leaving a hole"},
        {"tail.st", st_bytes(one(R"("w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})"), d16), "8 bytes of the data buffer after byte 8 belong to no tensor"},
        {"dup.st", st_bytes(one(R"("w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]})"), d16), "duplicate key \"w\""},
        {"meta.st", st_bytes(one(R"("__metadata__": {"format": 1})"), ""), "__metadata__ value of \"format\" must be a string"},
    };
    for (auto& b : bad) {
        INFO(b.name);
        write_bytes(td.file(b.name), b.bytes);
        REQUIRE_THROWS_WITH(read_safetensors(td.file(b.name)), NAMES(td.file(b.name), b.problem));
    }
}

TEST_CASE("hf_gpt2: import maps names, transposes Conv1D and pads the vocab", "[hf]") {
    for (std::string prefix : {"", "transformer."}) {
        INFO("prefix '" << prefix << "'");
        TempDir td;
        write_hf_by_hand(td.path, prefix);
        double eps = 0;
        ModelFile m = read_hf_gpt2(td.path, &eps);
        CHECK(eps == 1e-5);
        CHECK(m.config.vocab_size == V);
        CHECK(m.config.padded_vocab_size == VP);
        CHECK(m.config.max_seq_len == MAXT);
        CHECK(m.config.num_layers == L);
        CHECK(m.config.channels == C);
        CHECK_FALSE(m.has_ln_state);
        CHECK(m.ln.all_real());
        REQUIRE(m.params.size() == N_TOTAL);
        const float* p = m.params.data();
        for (int i = 0; i < V * C; i++) REQUIRE(p[O_WTE + i] == val(0, i));
        for (int i = V * C; i < VP * C; i++) REQUIRE(p[O_WTE + i] == 0.0f);  // padding rows
        for (int i = 0; i < MAXT * C; i++) REQUIRE(p[O_WPE + i] == val(1, i));
        for (int l = 0; l < L; l++) {
            for (int i = 0; i < C; i++) {
                REQUIRE(p[O_LN1W + l * C + i] == val(k_of(l, 0), i));
                REQUIRE(p[O_LN1B + l * C + i] == val(k_of(l, 1), i));
                REQUIRE(p[O_ATTPROJB + l * C + i] == val(k_of(l, 5), i));
                REQUIRE(p[O_LN2W + l * C + i] == val(k_of(l, 6), i));
                REQUIRE(p[O_LN2B + l * C + i] == val(k_of(l, 7), i));
                REQUIRE(p[O_FCPROJB + l * C + i] == val(k_of(l, 11), i));
            }
            for (int o = 0; o < 3 * C; o++) {
                REQUIRE(p[O_QKVB + l * 3 * C + o] == val(k_of(l, 3), o));
                for (int i = 0; i < C; i++)  // ours (3C, C) row o col i = HF (C, 3C) row i col o
                    REQUIRE(p[O_QKVW + l * 3 * C * C + o * C + i] == val(k_of(l, 2), i * 3 * C + o));
            }
            for (int o = 0; o < C; o++)
                for (int i = 0; i < C; i++)
                    REQUIRE(p[O_ATTPROJW + l * C * C + o * C + i] == val(k_of(l, 4), i * C + o));
            for (int o = 0; o < 4 * C; o++) {
                REQUIRE(p[O_FCB + l * 4 * C + o] == val(k_of(l, 9), o));
                for (int i = 0; i < C; i++)
                    REQUIRE(p[O_FCW + l * 4 * C * C + o * C + i] == val(k_of(l, 8), i * 4 * C + o));
            }
            for (int o = 0; o < C; o++)  // ours (C, 4C); HF (4C, C)
                for (int i = 0; i < 4 * C; i++)
                    REQUIRE(p[O_FCPROJW + l * 4 * C * C + o * 4 * C + i] == val(k_of(l, 10), i * C + o));
        }
        for (int i = 0; i < C; i++) {
            REQUIRE(p[O_LNFW + i] == val(2 + 12 * L, i));
            REQUIRE(p[O_LNFB + i] == val(3 + 12 * L, i));
        }
        // the same through a .safetensors path with config.json beside it
        ModelFile m2 = read_hf_gpt2(td.file("model.safetensors"));
        CHECK(m2.params == m.params);
    }
}

TEST_CASE("hf_gpt2: export writes HF layout and imports back", "[hf]") {
    TempDir td;
    write_hf_by_hand(td.path, "");
    ModelFile m = read_hf_gpt2(td.path);
    std::string out = td.file("export/sub");
    write_hf_gpt2(out, m.config, m.params.data(), 1e12);
    // the file, read as plain safetensors: HF names, HF shapes, Conv1D layout, wte unpadded
    SafetensorsFile sf = read_safetensors(out + "/model.safetensors");
    CHECK(sf.metadata.at("format") == "pt");
    CHECK(sf.tensors.size() == 2 + 12 * L + 2);
    CHECK(sf.find("wte.weight")->shape == std::vector<int64_t>{V, C});
    CHECK(sf.find("h.1.mlp.c_proj.weight")->shape == std::vector<int64_t>{4 * C, C});
    auto hfs = hf_tensors();
    for (size_t k = 0; k < hfs.size(); k++) {
        INFO(hfs[k].name);
        REQUIRE(sf.find(hfs[k].name) != nullptr);
        std::vector<float> v = sf.read_f32(*sf.find(hfs[k].name));
        for (size_t i = 0; i < v.size(); i++) REQUIRE(v[i] == val((int)k, (int)i));
    }
    Json cfg = read_json_file(out + "/config.json");
    CHECK(cfg.find("layer_norm_epsilon")->number == 1e12);
    CHECK(cfg.find("n_layer")->integer == L);
    CHECK(cfg.find("n_embd")->integer == C);
    CHECK(cfg.find("n_positions")->integer == MAXT);
    CHECK(cfg.find("vocab_size")->integer == V);
    CHECK(cfg.find("model_type")->str == "gpt2");
    CHECK(cfg.find("tie_word_embeddings")->boolean);
    // eps 1e12 is the LN-free form: it reads back FROZEN, sigma 1 without a sigma record, each
    // gamma divided by 1e6 and everything else as written
    double eps = 0;
    ModelFile back = read_hf_gpt2(out, &eps);
    CHECK(eps == 1e12);
    CHECK(back.has_ln_state);
    CHECK(back.ln.all_frozen());
    for (const LNPath& p : back.ln.paths) CHECK(p.sigma == 1.0f);
    REQUIRE(back.params.size() == m.params.size());
    for (size_t i = 0; i < m.params.size(); i++) {
        const bool gamma = (i >= O_LN1W && i < O_LN1B) || (i >= O_LN2W && i < O_LN2B) || (i >= O_LNFW && i < O_LNFB);
        INFO(i);
        REQUIRE(back.params[i] == (gamma ? (float)(m.params[i] / 1e6) : m.params[i]));
    }
    write_hf_gpt2(td.file("e2"), m.config, m.params.data());
    CHECK(read_json_file(td.file("e2/config.json")).find("layer_norm_epsilon")->number == 1e-5);
    CHECK_FALSE(read_hf_gpt2(td.file("e2")).has_ln_state);
    // any other epsilon cannot be computed exactly: refused, not silently run at 1e-5
    write_hf_gpt2(td.file("e3"), m.config, m.params.data(), 1e-6);
    REQUIRE_THROWS_WITH(read_hf_gpt2(td.file("e3")), NAMES("e3/config.json", "layer_norm_epsilon 1e-06 is neither"));
}

TEST_CASE("hf_gpt2: bad folders name the file, the tensor and the problem", "[hf][bad]") {
    {
        TempDir td;
        write_hf_by_hand(td.path, "", "h.1.attn.c_proj.bias");
        REQUIRE_THROWS_WITH(read_hf_gpt2(td.path), NAMES("model.safetensors", "missing tensor h.1.attn.c_proj.bias"));
    }
    {
        TempDir td;
        write_hf_by_hand(td.path, "", "", "h.0.mlp.c_fc.weight");
        REQUIRE_THROWS_WITH(read_hf_gpt2(td.path),
                            NAMES("model.safetensors", "tensor h.0.mlp.c_fc.weight has shape (5, 16), expected (4, 16)"));
    }
    TempDir td;
    write_hf_by_hand(td.path, "");
    const std::string cfg = td.file("config.json");
    write_bytes(cfg, "{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 4, \"vocab_size\": 10}");
    REQUIRE_THROWS_WITH(read_hf_gpt2(td.path), NAMES(cfg, "missing key \"n_ctx\""));
    write_bytes(cfg, "{\"n_layer\": 2, \"n_head\": 3, \"n_embd\": 4, \"n_positions\": 8, \"vocab_size\": 10}");
    REQUIRE_THROWS_WITH(read_hf_gpt2(td.path), NAMES(cfg, "not divisible by num_heads"));
    write_bytes(cfg, "{\"n_layer\": 2.5}");
    REQUIRE_THROWS_WITH(read_hf_gpt2(td.path), NAMES(cfg, "n_layer must be an integer"));
    write_bytes(cfg, "{\"n_layer\": 2,, }");
    REQUIRE_THROWS_WITH(read_hf_gpt2(td.path), NAMES(cfg, "JSON error at byte 14"));
    write_bytes(cfg, "{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 4, \"n_positions\": 8, \"vocab_size\": 10, \"layer_norm_epsilon\": -1}");
    REQUIRE_THROWS_WITH(read_hf_gpt2(td.path), NAMES(cfg, "layer_norm_epsilon -1"));
    // config.json with 3 layers: h.2.* is missing from the safetensors
    write_bytes(cfg, "{\"n_layer\": 3, \"n_head\": 2, \"n_embd\": 4, \"n_positions\": 8, \"vocab_size\": 10}");
    REQUIRE_THROWS_WITH(read_hf_gpt2(td.path), NAMES("model.safetensors", "missing tensor h.2.ln_1.weight"));
    remove(cfg.c_str());
    REQUIRE_THROWS_WITH(read_hf_gpt2(td.path), NAMES(cfg, "config.json must sit beside"));
    REQUIRE_THROWS_WITH(read_hf_gpt2(td.file("nowhere")), NAMES("nowhere", "no model.safetensors"));
}

TEST_CASE("hf_gpt2: padded_vocab rounds up to 128", "[hf]") {
    CHECK(padded_vocab(50257) == 50304);
    CHECK(padded_vocab(128) == 128);
    CHECK(padded_vocab(129) == 256);
    CHECK(padded_vocab(10) == 128);
}
