#include "io/hf_gpt2.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "host/error.h"
#include "io/file_io.h"
#include "io/json.h"
#include "io/safetensors.h"

namespace noln {

int padded_vocab(int v) { return (int)(((long)v + 127) / 128 * 128); }

namespace {

// One HF tensor and where it lands in our buffer. For a Conv1D weight (transpose=true) the
// HF shape is (IN, OUT) and ours is (OUT, IN).
struct Mapping {
    std::string hf;       // name without prefix
    int tensor;           // ParamTensor
    int layer;            // -1 for unstacked tensors
    int64_t rows, cols;   // HF shape (cols = 0: 1-D)
    bool transpose;
};

std::vector<Mapping> mappings(const GPT2Config& c) {
    const int64_t C = c.channels;
    std::vector<Mapping> m = {{"wte.weight", P_WTE, -1, c.vocab_size, C, false},
                              {"wpe.weight", P_WPE, -1, c.max_seq_len, C, false}};
    for (int l = 0; l < c.num_layers; l++) {
        const std::string h = "h." + std::to_string(l) + ".";
        m.push_back({h + "ln_1.weight", P_LN1W, l, C, 0, false});
        m.push_back({h + "ln_1.bias", P_LN1B, l, C, 0, false});
        m.push_back({h + "attn.c_attn.weight", P_QKVW, l, C, 3 * C, true});
        m.push_back({h + "attn.c_attn.bias", P_QKVB, l, 3 * C, 0, false});
        m.push_back({h + "attn.c_proj.weight", P_ATTPROJW, l, C, C, true});
        m.push_back({h + "attn.c_proj.bias", P_ATTPROJB, l, C, 0, false});
        m.push_back({h + "ln_2.weight", P_LN2W, l, C, 0, false});
        m.push_back({h + "ln_2.bias", P_LN2B, l, C, 0, false});
        m.push_back({h + "mlp.c_fc.weight", P_FCW, l, C, 4 * C, true});
        m.push_back({h + "mlp.c_fc.bias", P_FCB, l, 4 * C, 0, false});
        m.push_back({h + "mlp.c_proj.weight", P_FCPROJW, l, 4 * C, C, true});
        m.push_back({h + "mlp.c_proj.bias", P_FCPROJB, l, C, 0, false});
    }
    m.push_back({"ln_f.weight", P_LNFW, -1, C, 0, false});
    m.push_back({"ln_f.bias", P_LNFB, -1, C, 0, false});
    return m;
}

// Start of this mapping's block inside our flat buffer.
size_t dst_offset(const GPT2Config& c, const Mapping& m) {
    size_t off = param_offset(c, m.tensor);
    if (m.layer >= 0) off += (size_t)m.layer * (size_t)(m.rows * (m.cols ? m.cols : 1));
    return off;
}

std::string shape_str(const std::vector<int64_t>& s) {
    std::string r = "(";
    for (size_t i = 0; i < s.size(); i++) r += (i ? ", " : "") + std::to_string(s[i]);
    return r + ")";
}

int config_int(const Json& j, const char* key, const std::string& where) {
    int64_t v = json_int(json_member(j, key, where), key, where);
    if (v <= 0 || v > (1 << 30)) fail("%s: %s = %lld is out of range", where.c_str(), key, (long long)v);
    return (int)v;
}

std::string fmt_double(double x) {
    // shortest form that reads back exactly, so 1e-5 stays "1e-05"
    char buf[32];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (strtod(buf, nullptr) == x) break;
    }
    return buf;
}

}  // namespace

ModelFile read_hf_gpt2(const std::string& path, double* layer_norm_epsilon) {
    std::string st_path, cfg_path;
    if (is_directory(path)) {
        st_path = path + "/model.safetensors";
        cfg_path = path + "/config.json";
    } else {
        st_path = path;
        cfg_path = dir_name(path) + "/config.json";
    }
    if (!file_exists(st_path)) fail("%s: no model.safetensors here", st_path.c_str());
    if (!file_exists(cfg_path)) fail("%s: missing (config.json must sit beside the safetensors file)", cfg_path.c_str());

    Json cfg = read_json_file(cfg_path);
    if (!cfg.is_object()) fail("%s: config.json is not a JSON object", cfg_path.c_str());
    ModelFile mf;
    GPT2Config& c = mf.config;
    c.num_layers = config_int(cfg, "n_layer", cfg_path);
    c.num_heads = config_int(cfg, "n_head", cfg_path);
    c.channels = config_int(cfg, "n_embd", cfg_path);
    c.vocab_size = config_int(cfg, "vocab_size", cfg_path);
    c.max_seq_len = cfg.find("n_positions") ? config_int(cfg, "n_positions", cfg_path)
                                            : config_int(cfg, "n_ctx", cfg_path);
    c.padded_vocab_size = padded_vocab(c.vocab_size);
    validate_config(c, cfg_path);
    double eps = LN_EPS;
    if (const Json* e = cfg.find("layer_norm_epsilon")) {
        eps = json_number(*e, "layer_norm_epsilon", cfg_path);
        if (!(eps >= 0) || !std::isfinite(eps))
            fail("%s: layer_norm_epsilon %g must be a finite number >= 0", cfg_path.c_str(), eps);
    }
    if (layer_norm_epsilon) *layer_norm_epsilon = eps;

    SafetensorsFile sf = read_safetensors(st_path);
    std::string prefix;
    if (!sf.find("wte.weight") && sf.find("transformer.wte.weight")) prefix = "transformer.";

    mf.version = MODEL_VERSION_FP32;
    mf.params.assign(num_parameters(c), 0.0f);  // wte's padding rows stay zero
    for (const Mapping& m : mappings(c)) {
        const std::string name = prefix + m.hf;
        const SafeTensor* t = sf.find(name);
        if (!t) fail("%s: missing tensor %s", st_path.c_str(), name.c_str());
        std::vector<int64_t> want = {m.rows};
        if (m.cols) want.push_back(m.cols);
        if (t->shape != want)
            fail("%s: tensor %s has shape %s, expected %s for this config.json", st_path.c_str(),
                 name.c_str(), shape_str(t->shape).c_str(), shape_str(want).c_str());
        std::vector<float> v = sf.read_f32(*t);
        float* dst = mf.params.data() + dst_offset(c, m);
        if (!m.transpose) {
            memcpy(dst, v.data(), v.size() * 4);
        } else {  // HF (IN=rows, OUT=cols) -> ours (OUT, IN)
            for (int64_t i = 0; i < m.rows; i++)
                for (int64_t o = 0; o < m.cols; o++) dst[o * m.rows + i] = v[i * m.cols + o];
        }
    }
    mf.has_ln_state = false;
    mf.ln = LNState(c.num_layers);
    return mf;
}

void write_hf_gpt2(const std::string& dir, const GPT2Config& c, const float* params,
                   double layer_norm_epsilon, const HFWriteExtras& extras) {
    validate_config(c, dir);
    if (!(layer_norm_epsilon >= 0) || !std::isfinite(layer_norm_epsilon))
        fail("%s: layer_norm_epsilon %g must be a finite number >= 0", dir.c_str(), layer_norm_epsilon);
    make_dirs(dir);
    std::vector<Mapping> ms = mappings(c);
    std::vector<std::vector<float>> transposed;  // keeps the Conv1D copies alive
    transposed.reserve(ms.size());
    std::vector<SafeTensorOut> outs;
    for (const Mapping& m : ms) {
        const float* src = params + dst_offset(c, m);
        std::vector<int64_t> shape = {m.rows};
        if (m.cols) shape.push_back(m.cols);
        if (m.transpose) {  // ours (OUT=cols, IN=rows) -> HF (IN, OUT)
            transposed.emplace_back((size_t)(m.rows * m.cols));
            float* d = transposed.back().data();
            for (int64_t i = 0; i < m.rows; i++)
                for (int64_t o = 0; o < m.cols; o++) d[i * m.cols + o] = src[o * m.rows + i];
            src = d;
        }
        outs.push_back({m.hf, shape, src});  // wte: the first vocab_size rows only
    }
    if (extras.lm_head) outs.push_back({"lm_head.weight", {c.vocab_size, c.channels}, extras.lm_head});
    write_safetensors(dir + "/model.safetensors", outs, {{"format", "pt"}});

    std::string j = "{\n";
    j += "  \"architectures\": [\"GPT2LMHeadModel\"],\n";
    j += "  \"model_type\": \"gpt2\",\n";
    j += "  \"activation_function\": \"gelu_new\",\n";
    j += "  \"n_layer\": " + std::to_string(c.num_layers) + ",\n";
    j += "  \"n_head\": " + std::to_string(c.num_heads) + ",\n";
    j += "  \"n_embd\": " + std::to_string(c.channels) + ",\n";
    j += "  \"n_positions\": " + std::to_string(c.max_seq_len) + ",\n";
    j += "  \"n_ctx\": " + std::to_string(c.max_seq_len) + ",\n";
    j += "  \"vocab_size\": " + std::to_string(c.vocab_size) + ",\n";
    j += "  \"layer_norm_epsilon\": " + fmt_double(layer_norm_epsilon) + ",\n";
    const std::string eot = std::to_string(std::min(50256, c.vocab_size - 1));
    j += "  \"bos_token_id\": " + eot + ",\n";
    j += "  \"eos_token_id\": " + eot + ",\n";
    j += "  \"initializer_range\": 0.02,\n";
    j += "  \"resid_pdrop\": 0.0,\n";
    j += "  \"embd_pdrop\": 0.0,\n";
    j += "  \"attn_pdrop\": 0.0,\n";
    j += "  \"scale_attn_weights\": true,\n";
    j += std::string("  \"tie_word_embeddings\": ") + (extras.lm_head ? "false" : "true") + ",\n";
    for (const std::string& m : extras.config_members) j += "  " + m + ",\n";
    j += "  \"use_cache\": true\n";
    j += "}\n";
    write_file_atomic(dir + "/config.json", j.data(), j.size());
}

}  // namespace noln
