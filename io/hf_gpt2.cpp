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


// The LN-free form's sigmas as our export records them in config.json (absent from other
// LN-free folders, such as paper (b)'s released models): for each path kind of
// host/ln_paths.h, the divisor its HF module's gamma was multiplied by 1e6/sigma with.
// ln1qk and ln1v share HF's one ln_1, so they must agree.
const char* const LNFREE_SIGMAS_KEY = "noln_ln_sigmas";

std::string sigmas_json(const LNState& ln) {
    std::string j = "{";
    for (int k = 0; k < NUM_PATH_KINDS; k++) {
        j += std::string(k ? ", " : "") + "\"" + PATH_KINDS[k].name + "\": [";
        for (int l = 0; l < ln.paths_in((PathKind)k); l++)
            j += (l ? ", " : "") + fmt_double(ln.path((PathKind)k, l).sigma);
        j += "]";
    }
    return j + "}";
}

// Every path FROZEN with the recorded sigmas (1 where the folder has no record: the split of
// gamma/sigma into two factors is then unknowable, and 1 keeps the product exact).
LNState lnfree_state(const Json* rec, const GPT2Config& c, const std::string& where) {
    const char* w = where.c_str();
    LNState ln(c.num_layers);
    for (LNPath& p : ln.paths) p = LNPath{true, 1.0f, 1.0f};
    if (!rec) return ln;
    if (!rec->is_object()) fail("%s: %s must be an object", w, LNFREE_SIGMAS_KEY);
    for (const auto& [name, v] : rec->members) {
        int k = 0;
        while (k < NUM_PATH_KINDS && name != PATH_KINDS[k].name) k++;
        if (k == NUM_PATH_KINDS) fail("%s: %s has an unknown path kind \"%s\"", w, LNFREE_SIGMAS_KEY, name.c_str());
        const int n = ln.paths_in((PathKind)k);
        if (!v.is_array() || (int)v.items.size() != n)
            fail("%s: %s.%s must be an array of %d sigmas", w, LNFREE_SIGMAS_KEY, name.c_str(), n);
        for (int l = 0; l < n; l++) {
            const double s = json_number(v.items[l], LNFREE_SIGMAS_KEY, where);
            if (!(s > 0) || !std::isfinite((float)s))
                fail("%s: %s.%s[%d] = %g is not a positive finite float", w, LNFREE_SIGMAS_KEY,
                     name.c_str(), l, s);
            ln.path((PathKind)k, l).sigma = (float)s;
        }
    }
    if (rec->members.size() != NUM_PATH_KINDS)
        fail("%s: %s must give every path kind (ln2, ln1qk, ln1v, lnf)", w, LNFREE_SIGMAS_KEY);
    for (int l = 0; l < c.num_layers; l++)
        if (ln.path(PATH_LN1QK, l).sigma != ln.path(PATH_LN1V, l).sigma)
            fail("%s: %s gives layer %d ln1qk sigma %.9g but ln1v %.9g; a Hugging Face block has one "
                 "ln_1, so they must be equal", w, LNFREE_SIGMAS_KEY, l, ln.path(PATH_LN1QK, l).sigma,
                 ln.path(PATH_LN1V, l).sigma);
    return ln;
}

// gamma_hf = gamma * 1e6 / sigma (the eps trick) -> gamma, in double so it rounds once.
void unscale_gammas(const GPT2Config& c, float* params, const LNState& ln) {
    const size_t C = c.channels;
    auto unscale = [&](int t, int l, float sigma) {
        float* g = params + param_offset(c, t) + (size_t)l * C;
        for (size_t i = 0; i < C; i++) g[i] = (float)((double)g[i] * (double)sigma / LNFREE_SCALE);
    };
    for (int l = 0; l < c.num_layers; l++) {
        unscale(P_LN1W, l, ln.path(PATH_LN1QK, l).sigma);
        unscale(P_LN2W, l, ln.path(PATH_LN2, l).sigma);
    }
    unscale(P_LNFW, 0, ln.path(PATH_LNF).sigma);
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
    // The two LayerNorm forms the engine computes exactly: GPT-2's (eps 1e-5, REAL) and the
    // LN-free export (eps 1e12, FROZEN). Any other epsilon would be silently changed.
    double eps = LN_EPS;
    if (const Json* e = cfg.find("layer_norm_epsilon")) {
        eps = json_number(*e, "layer_norm_epsilon", cfg_path);
        if (!(eps >= 0) || !std::isfinite(eps))
            fail("%s: layer_norm_epsilon %g must be a finite number >= 0", cfg_path.c_str(), eps);
    }
    const bool lnfree = eps == LNFREE_EPS;
    if (!lnfree && eps != LN_EPS)
        fail("%s: layer_norm_epsilon %g is neither GPT-2's %g (LayerNorms kept) nor the LN-free "
             "export's %g (LayerNorms frozen); the engine computes only those two exactly",
             cfg_path.c_str(), eps, LN_EPS, LNFREE_EPS);
    const Json* rec = cfg.find(LNFREE_SIGMAS_KEY);
    if (rec && !lnfree)
        fail("%s: %s is given but layer_norm_epsilon is %g, not the LN-free %g", cfg_path.c_str(),
             LNFREE_SIGMAS_KEY, eps, LNFREE_EPS);
    if (layer_norm_epsilon) *layer_norm_epsilon = eps;
    // An untied unembedding (lm_head.weight, e.g. noln_eval export-folded) is not a GPT-2 the
    // engine can hold: reading it as tied would silently give other logits.
    if (const Json* t = cfg.find("tie_word_embeddings"); t && t->kind == Json::BOOL && !t->boolean)
        fail("%s: tie_word_embeddings is false (an untied lm_head, as in a folded export): the "
             "engine's GPT-2 ties the unembedding to wte, so this folder cannot be loaded exactly; "
             "load the checkpoint or the eps-trick export instead", cfg_path.c_str());

    // The safetensors header (bounded by its file) first: n_layer sizes the tensor list and
    // the LN state, so it must be backed by that many tensors before either is built.
    SafetensorsFile sf = read_safetensors(st_path);
    std::string prefix;
    if (!sf.find("wte.weight") && sf.find("transformer.wte.weight")) prefix = "transformer.";
    const uint64_t want_tensors = 12 * (uint64_t)c.num_layers + 4;
    if (sf.tensors.size() < want_tensors) {
        // name the first missing tensor: it lies within the first size/12 + 1 layers
        GPT2Config few = c;
        few.num_layers = (int)std::min<uint64_t>(c.num_layers, sf.tensors.size() / 12 + 1);
        for (const Mapping& m : mappings(few))
            if (!sf.find(prefix + m.hf)) fail("%s: missing tensor %s", st_path.c_str(), (prefix + m.hf).c_str());
    }
    mf.ln = lnfree ? lnfree_state(rec, c, cfg_path) : LNState(c.num_layers);
    mf.has_ln_state = lnfree;

    // Every tensor is checked against config.json before anything is allocated, so a
    // config with huge sizes fails on the (much smaller) file rather than in the allocator.
    const std::vector<Mapping> ms = mappings(c);
    std::vector<const SafeTensor*> found;
    for (const Mapping& m : ms) {
        const std::string name = prefix + m.hf;
        const SafeTensor* t = sf.find(name);
        if (!t) fail("%s: missing tensor %s", st_path.c_str(), name.c_str());
        std::vector<int64_t> want = {m.rows};
        if (m.cols) want.push_back(m.cols);
        if (t->shape != want)
            fail("%s: tensor %s has shape %s, expected %s for this config.json", st_path.c_str(),
                 name.c_str(), shape_str(t->shape).c_str(), shape_str(want).c_str());
        found.push_back(t);
    }
    mf.version = MODEL_VERSION_FP32;
    mf.params.assign(num_parameters(c), 0.0f);  // wte's padding rows stay zero
    for (size_t k = 0; k < ms.size(); k++) {
        const Mapping& m = ms[k];
        std::vector<float> v = sf.read_f32(*found[k]);
        float* dst = mf.params.data() + dst_offset(c, m);
        if (!m.transpose) {
            memcpy(dst, v.data(), v.size() * 4);
        } else {  // HF (IN=rows, OUT=cols) -> ours (OUT, IN)
            for (int64_t i = 0; i < m.rows; i++)
                for (int64_t o = 0; o < m.cols; o++) dst[o * m.rows + i] = v[i * m.cols + o];
        }
    }
    if (lnfree) unscale_gammas(c, mf.params.data(), mf.ln);
    return mf;
}

void write_hf_gpt2(const std::string& dir, const GPT2Config& c, const float* params,
                   double layer_norm_epsilon, const LNState* lnfree_sigmas, const HFWriteExtras& extras) {
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
    if (lnfree_sigmas) j += "  \"" + std::string(LNFREE_SIGMAS_KEY) + "\": " + sigmas_json(*lnfree_sigmas) + ",\n";
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

ModelFile read_any_model(const std::string& path) {
    const bool hf = is_directory(path) ||
                    (path.size() > 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0);
    ModelFile m = hf ? read_hf_gpt2(path) : read_model_file(path);
    // a NaN/Inf weight would surface only as a non-finite loss at step 1: name it here
    size_t off = 0, sizes[NUM_PARAM_TENSORS];
    param_sizes(m.config, sizes);
    for (int t = 0; t < NUM_PARAM_TENSORS; off += sizes[t], t++)
        for (size_t i = 0; i < sizes[t]; i++)
            if (!std::isfinite(m.params[off + i]))
                fail("%s: non-finite weight %s[%zu] = %g (a damaged file or a diverged run)",
                     path.c_str(), PARAM_NAMES[t], i, m.params[off + i]);
    return m;
}

}  // namespace noln
