// A small, strict JSON reader (RFC 8259) for the few JSON files we meet: Hugging Face
// config.json, safetensors headers and GPT-2's encoder.json (50257 keys), plus a string
// escaper for the JSON we write. Strict means: no comments, no trailing commas, no NaN,
// no duplicate keys, no lone surrogates, valid UTF-8 only; the error names the file and the
// byte offset.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace noln {

struct Json {
    enum Kind { NUL, BOOL, NUMBER, STRING, ARRAY, OBJECT };
    Kind kind = NUL;
    bool boolean = false;
    double number = 0.0;
    bool is_integer = false;  // the literal had no fraction or exponent and fits int64
    int64_t integer = 0;      // exact value when is_integer
    std::string str;          // UTF-8, escapes decoded
    std::vector<Json> items;  // ARRAY
    std::vector<std::pair<std::string, Json>> members;  // OBJECT, in document order

    bool is_null() const { return kind == NUL; }
    bool is_object() const { return kind == OBJECT; }
    bool is_array() const { return kind == ARRAY; }
    bool is_string() const { return kind == STRING; }
    bool is_number() const { return kind == NUMBER; }
    // nullptr when absent (or when this is not an object); linear in the member count,
    // so iterate `members` for big objects.
    const Json* find(const std::string& key) const;
};

// Parses a whole document (trailing whitespace only). `where` (usually a file name) leads
// every error message: "<where>: JSON error at byte N: <problem>".
Json parse_json(const std::string& text, const std::string& where);
Json parse_json(const char* data, size_t len, const std::string& where);
// Reads and parses a file.
Json read_json_file(const std::string& path);

// Typed access with errors that name `where` and the key.
const Json& json_member(const Json& obj, const std::string& key, const std::string& where);
int64_t json_int(const Json& v, const std::string& what, const std::string& where);
double json_number(const Json& v, const std::string& what, const std::string& where);
const std::string& json_string(const Json& v, const std::string& what, const std::string& where);

// `s` as a quoted JSON string literal (control characters and non-UTF-8-safe bytes are
// escaped; valid UTF-8 passes through).
std::string json_quote(const std::string& s);

}  // namespace noln
