// prepare_shards: text files -> GPT-2 token shards in llm.c's format (docs/formats.md, Token shards),
// plus llm.c's gpt2_tokenizer.bin. Each input file is one document; every document is
// prefixed by <|endoftext|> (as GPT-2 data preparation does), so EOT marks where a new
// document starts. Documents are concatenated and cut into shards of --shard-size tokens.
//
//   prepare_shards -o data/sotu/sotu --val data/assets/moby-dick data/assets/sotu
//
// Flags and file names: docs/data.md.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <algorithm>
#include <string>
#include <vector>

#include "io/bpe.h"
#include "host/error.h"
#include "io/file_io.h"
#include "io/eval_file.h"
#include "io/hellaswag_jsonl.h"
#include "io/jsonl_docs.h"
#include "io/progress.h"
#include "io/shard.h"
#include "io/tokenizer_bin.h"

using namespace noln;

namespace {

struct Options {
    std::vector<std::string> train_inputs, val_inputs;
    std::string out = "data/sotu/sotu";
    std::string tokenizer_dir = "data/assets/gpt2";
    std::string tokenizer_bin;  // "" = <dir of --out>/gpt2_tokenizer.bin; "none" = skip
    double val_fraction = 0.0;
    long long shard_size = 100000000;
    std::string split = "train";  // --split: the name of the INPUT documents' split
    std::string hellaswag;        // --hellaswag OUT.bin: HellaSwag jsonl in, eval file out
};

const char* kUsage =
    "usage: prepare_shards [options] INPUT...\n"
    "  INPUT: a text file (one document), a .jsonl file (one document per line: {\"text\": ...}\n"
    "         or pre-tokenized {\"input_ids\": [...]}), or a folder (its *.txt and *.jsonl, sorted)\n"
    "  -o, --out PREFIX        shards are PREFIX_train_NNNNNN.bin, PREFIX_val_NNNNNN.bin\n"
    "                          (default data/sotu/sotu)\n"
    "  --val INPUT             validation documents (repeatable); else --val-fraction\n"
    "  --val-fraction F        hold out the last F (0 <= F < 1) of the training tokens as\n"
    "                          validation data (default 0: none unless --val)\n"
    "  --shard-size N          tokens per shard (default 100000000); the last may be smaller\n"
    "  --split NAME            name of the INPUT documents' split in the shard names (default\n"
    "                          train; e.g. val for an evaluation-only token set)\n"
    "  --hellaswag OUT.bin     instead of shards: INPUTs are HellaSwag .jsonl files (ctx,\n"
    "                          endings, label); write llm.c's eval file OUT.bin\n"
    "  --tokenizer DIR         folder with encoder.json and vocab.bpe (default data/assets/gpt2)\n"
    "  --tokenizer-bin PATH    where to write llm.c's tokenizer file (default: beside the\n"
    "                          shards, gpt2_tokenizer.bin; 'none' to skip)\n"
    "  -h, --help              this text\n";

Options parse(int argc, char** argv, bool* help) {
    Options o;
    *help = false;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) fail("prepare_shards: flag %s needs a value", a.c_str());
            return argv[++i];
        };
        auto number = [&](const std::string& v) {
            char* end = nullptr;
            double x = strtod(v.c_str(), &end);
            if (v.empty() || *end) fail("prepare_shards: %s: '%s' is not a number", a.c_str(), v.c_str());
            return x;
        };
        if (a == "-h" || a == "--help") { *help = true; return o; }
        else if (a == "-o" || a == "--out") o.out = value();
        else if (a == "--val") o.val_inputs.push_back(value());
        else if (a == "--val-fraction") {
            o.val_fraction = number(value());
            if (!(o.val_fraction >= 0.0 && o.val_fraction < 1.0))
                fail("prepare_shards: --val-fraction must be in [0, 1), got %g", o.val_fraction);
        } else if (a == "--shard-size") {
            double n = number(value());
            if (n < 1 || n > 2147483647.0 || n != (long long)n)
                fail("prepare_shards: --shard-size must be an integer in 1..2^31-1, got %g", n);
            o.shard_size = (long long)n;
        } else if (a == "--split") {
            o.split = value();
            if (o.split.empty() || o.split.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
                fail("prepare_shards: --split must be a lower-case name such as train or val, got '%s'", o.split.c_str());
        } else if (a == "--hellaswag") o.hellaswag = value();
        else if (a == "--tokenizer") o.tokenizer_dir = value();
        else if (a == "--tokenizer-bin") o.tokenizer_bin = value();
        else if (a.size() > 1 && a[0] == '-') fail("prepare_shards: unknown flag %s (see --help)", a.c_str());
        else o.train_inputs.push_back(a);
    }
    if (o.train_inputs.empty()) fail("prepare_shards: no input files (see --help)");
    if (!o.val_inputs.empty() && o.val_fraction > 0)
        fail("prepare_shards: give either --val or --val-fraction, not both");
    if (!o.hellaswag.empty() && (!o.val_inputs.empty() || o.val_fraction > 0))
        fail("prepare_shards: --hellaswag writes an eval file; --val and --val-fraction do not apply");
    if ((!o.val_inputs.empty() || o.val_fraction > 0) && o.split == "val")
        fail("prepare_shards: --split val and a validation split (--val, --val-fraction) would share names");
    if (o.out.empty() || o.out.back() == '/')
        fail("prepare_shards: --out must be a file name prefix such as data/sotu/sotu, got '%s'",
             o.out.c_str());
    return o;
}

// Files named on the command line, with folders replaced by their *.txt files.
std::vector<std::string> expand(const std::vector<std::string>& inputs) {
    std::vector<std::string> files;
    for (const std::string& in : inputs) {
        if (is_directory(in)) {
            std::vector<std::string> txt = glob_files(in + "/*.txt"), jl = glob_files(in + "/*.jsonl");
            txt.insert(txt.end(), jl.begin(), jl.end());
            std::sort(txt.begin(), txt.end());
            if (txt.empty()) fail("%s: folder holds no *.txt or *.jsonl files", in.c_str());
            files.insert(files.end(), txt.begin(), txt.end());
        } else if (file_exists(in)) {
            files.push_back(in);
        } else {
            fail("%s: no such file or folder", in.c_str());
        }
    }
    return files;
}

// Tokenizes the files in order, each document as "<|endoftext|>" + its tokens (a .jsonl file
// holds one document per line; pre-tokenized ones are copied as they are). Counts documents.
std::vector<uint16_t> tokenize(Bpe& bpe, const std::vector<std::string>& files, Progress& progress,
                               uint64_t* done_bytes, size_t* docs) {
    std::vector<uint16_t> out;
    std::vector<int> ids;
    for (const std::string& f : files) {
        if (is_jsonl_path(f)) {
            *docs += (size_t)for_each_jsonl_doc(f, bpe.vocab_size(), [&](const JsonlDoc& d) {
                if (!d.has_text) {
                    for (int id : d.ids) out.push_back((uint16_t)id);
                    return;
                }
                ids.clear();
                ids.push_back(bpe.eot());
                bpe.encode(d.text, /*allow_special=*/false, ids);
                for (int id : ids) out.push_back((uint16_t)id);
            });
            FileReader r(f);
            *done_bytes += r.size();
            progress.update(*done_bytes);
            continue;
        }
        ++*docs;
        std::string text = read_file(f);
        ids.clear();
        ids.push_back(bpe.eot());
        bpe.encode(text, /*allow_special=*/false, ids);  // a literal "<|endoftext|>" in text is text
        for (int id : ids) out.push_back((uint16_t)id);    // ids < 50257 fit uint16
        *done_bytes += text.size();
        progress.update(*done_bytes);
    }
    return out;
}

std::string shard_name(const std::string& prefix, const char* split, int index) {
    char buf[32];
    snprintf(buf, sizeof buf, "_%s_%06d.bin", split, index);
    return prefix + buf;
}

// Writes tokens as shards PREFIX_<split>_000000.bin, ...; removes higher-numbered shards
// left by an earlier run, which a loader's glob would otherwise pick up.
void write_split(const std::string& prefix, const char* split, const std::vector<uint16_t>& tokens,
                 long long shard_size) {
    int count = 0;
    for (size_t at = 0; at < tokens.size(); at += (size_t)shard_size, count++) {
        size_t n = std::min((size_t)shard_size, tokens.size() - at);
        std::string path = shard_name(prefix, split, count);
        write_shard(path, tokens.data() + at, n);
        printf("wrote %s: %zu tokens\n", path.c_str(), n);
    }
    for (const std::string& old : glob_files(prefix + "_" + split + "_*.bin")) {
        bool ours = false;
        for (int k = 0; k < count; k++) ours |= old == shard_name(prefix, split, k);
        if (!ours && remove(old.c_str()) == 0) printf("removed stale %s\n", old.c_str());
    }
}

size_t total_size(const std::vector<std::string>& files) {
    size_t n = 0;
    for (const std::string& f : files) {
        FileReader r(f);
        n += r.size();
    }
    return n;
}

int run(const Options& o) {
    auto t0 = std::chrono::steady_clock::now();
    Bpe bpe(o.tokenizer_dir + "/encoder.json", o.tokenizer_dir + "/vocab.bpe");
    if (bpe.vocab_size() > 65536) fail("%s: %d tokens do not fit uint16 shards", o.tokenizer_dir.c_str(), bpe.vocab_size());
    std::vector<std::string> train_files = expand(o.train_inputs), val_files = expand(o.val_inputs);
    if (!o.hellaswag.empty()) {
        std::vector<EvalExample> ex;
        for (const std::string& f : train_files) {
            if (!is_jsonl_path(f)) fail("%s: --hellaswag reads .jsonl files only", f.c_str());
            std::vector<EvalExample> more = read_hellaswag_jsonl(f, bpe);
            ex.insert(ex.end(), more.begin(), more.end());
        }
        if (!dir_name(o.hellaswag).empty()) make_dirs(dir_name(o.hellaswag));
        write_eval_file(o.hellaswag, ex);
        printf("wrote %s: %zu examples\n", o.hellaswag.c_str(), ex.size());
        return 0;
    }
    double load_sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    uint64_t done = 0;
    size_t train_docs = 0, val_docs = 0;
    std::vector<uint16_t> train, val;
    {
        Progress progress("tokenizing", total_size(train_files) + total_size(val_files), "B");
        train = tokenize(bpe, train_files, progress, &done, &train_docs);
        val = tokenize(bpe, val_files, progress, &done, &val_docs);
        progress.finish();
    }
    double tok_sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() - load_sec;
    if (o.val_fraction > 0) {
        size_t n_val = (size_t)(o.val_fraction * (double)train.size() + 0.5);
        if (n_val == 0 || n_val >= train.size())
            fail("prepare_shards: --val-fraction %g of %zu tokens leaves an empty split", o.val_fraction, train.size());
        val.assign(train.end() - n_val, train.end());
        train.resize(train.size() - n_val);
    }

    std::string dir = dir_name(o.out);
    make_dirs(dir);
    // the tokenizer file first: a bad --tokenizer-bin then fails before any shard is written
    std::string tok_bin = o.tokenizer_bin.empty() ? dir + "/gpt2_tokenizer.bin" : o.tokenizer_bin;
    if (tok_bin != "none") {
        std::vector<std::string> tokens(bpe.vocab_size());
        for (int id = 0; id < bpe.vocab_size(); id++) tokens[id] = bpe.token_bytes(id);
        write_tokenizer_bin(tok_bin, tokens, bpe.eot());
        printf("wrote %s: %d tokens, EOT %d\n", tok_bin.c_str(), bpe.vocab_size(), bpe.eot());
    }
    write_split(o.out, o.split.c_str(), train, o.shard_size);
    if (!val.empty()) write_split(o.out, "val", val, o.shard_size);
    printf("train: %zu documents, %zu tokens; val: %s, %zu tokens\n", train_docs, train.size(),
           o.val_fraction > 0 ? "the last part of train" : (std::to_string(val_docs) + " documents").c_str(),
           val.size());
    printf("tokenized %.2f MB in %.2f s (%.1f MB/s; loading the tokenizer took %.2f s)\n", done / 1e6,
           tok_sec, done / 1e6 / (tok_sec > 0 ? tok_sec : 1e-9), load_sec);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        bool help;
        Options o = parse(argc, argv, &help);
        if (help) { fputs(kUsage, stdout); return 0; }
        return run(o);
    } catch (const Error& e) {
        fprintf(stderr, "%s\n", e.what());
        return 1;
    } catch (const std::bad_alloc&) {
        fprintf(stderr, "out of memory: an allocation failed\n");
        return 1;
    }
}
