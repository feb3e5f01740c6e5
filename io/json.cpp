#include "io/json.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "host/error.h"
#include "io/file_io.h"

namespace noln {

namespace {

// Deep enough for any real config, shallow enough that hostile input cannot blow the stack.
constexpr int MAX_DEPTH = 256;

struct Parser {
    const char* p;
    const char* begin;
    const char* end;
    const std::string& where;

    [[noreturn]] void error(const char* at, const char* what) const {
        fail("%s: JSON error at byte %zu: %s", where.c_str(), (size_t)(at - begin), what);
    }

    void skip_ws() {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    }

    void expect_literal(const char* lit) {
        size_t n = strlen(lit);
        if ((size_t)(end - p) < n || memcmp(p, lit, n) != 0) error(p, "invalid literal");
        p += n;
    }

    void value(Json& out, int depth) {
        if (depth > MAX_DEPTH) error(p, "nesting too deep");
        skip_ws();
        if (p >= end) error(p, "unexpected end of input, expected a value");
        switch (*p) {
            case '{': object(out, depth); break;
            case '[': array(out, depth); break;
            case '"': out.kind = Json::STRING; string(out.str); break;
            case 't': expect_literal("true"); out.kind = Json::BOOL; out.boolean = true; break;
            case 'f': expect_literal("false"); out.kind = Json::BOOL; out.boolean = false; break;
            case 'n': expect_literal("null"); out.kind = Json::NUL; break;
            default:
                if (*p == '-' || (*p >= '0' && *p <= '9')) number(out);
                else error(p, "unexpected character, expected a value");
        }
    }

    void object(Json& out, int depth) {
        const char* start = p;
        out.kind = Json::OBJECT;
        p++;  // '{'
        skip_ws();
        if (p < end && *p == '}') { p++; return; }
        for (;;) {
            skip_ws();
            if (p >= end || *p != '"') error(p, "expected a string key");
            out.members.emplace_back();
            string(out.members.back().first);
            skip_ws();
            if (p >= end || *p != ':') error(p, "expected ':' after key");
            p++;
            value(out.members.back().second, depth + 1);
            skip_ws();
            if (p >= end) error(p, "unexpected end of input inside an object");
            if (*p == ',') { p++; continue; }
            if (*p == '}') { p++; break; }
            error(p, "expected ',' or '}' in object");
        }
        // Duplicate keys make "which tensor is this" ambiguous; refuse them.
        if (out.members.size() > 1) {
            std::vector<const std::string*> keys;
            keys.reserve(out.members.size());
            for (auto& m : out.members) keys.push_back(&m.first);
            std::sort(keys.begin(), keys.end(),
                      [](const std::string* a, const std::string* b) { return *a < *b; });
            for (size_t i = 1; i < keys.size(); i++)
                if (*keys[i] == *keys[i - 1]) {
                    std::string msg = "duplicate key \"" + *keys[i] + "\" in the object starting here";
                    error(start, msg.c_str());
                }
        }
    }

    void array(Json& out, int depth) {
        out.kind = Json::ARRAY;
        p++;  // '['
        skip_ws();
        if (p < end && *p == ']') { p++; return; }
        for (;;) {
            out.items.emplace_back();
            value(out.items.back(), depth + 1);
            skip_ws();
            if (p >= end) error(p, "unexpected end of input inside an array");
            if (*p == ',') { p++; continue; }
            if (*p == ']') { p++; break; }
            error(p, "expected ',' or ']' in array");
        }
    }

    unsigned hex4(const char* at) {
        if (end - at < 4) error(at, "truncated \\u escape");
        unsigned v = 0;
        for (int i = 0; i < 4; i++) {
            char c = at[i];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= c - '0';
            else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
            else error(at + i, "bad hex digit in \\u escape");
        }
        return v;
    }

    static void put_utf8(std::string& s, unsigned cp) {
        if (cp < 0x80) {
            s += (char)cp;
        } else if (cp < 0x800) {
            s += (char)(0xC0 | (cp >> 6));
            s += (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            s += (char)(0xE0 | (cp >> 12));
            s += (char)(0x80 | ((cp >> 6) & 0x3F));
            s += (char)(0x80 | (cp & 0x3F));
        } else {
            s += (char)(0xF0 | (cp >> 18));
            s += (char)(0x80 | ((cp >> 12) & 0x3F));
            s += (char)(0x80 | ((cp >> 6) & 0x3F));
            s += (char)(0x80 | (cp & 0x3F));
        }
    }

    // Length of the valid UTF-8 sequence at q (2..4), or 0 if it is not one.
    size_t utf8_seq(const unsigned char* q) const {
        const unsigned char* e = (const unsigned char*)end;
        unsigned c = q[0];
        size_t n;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
        else return 0;
        if ((size_t)(e - q) < n) return 0;
        for (size_t i = 1; i < n; i++) {
            if ((q[i] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (q[i] & 0x3F);
        }
        // overlong forms, surrogates and code points past U+10FFFF are not UTF-8
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        return n;
    }

    void string(std::string& s) {
        p++;  // opening quote
        for (;;) {
            // copy the plain run in one go: encoder.json is mostly plain runs
            const char* run = p;
            while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20 &&
                   (unsigned char)*p < 0x80)
                p++;
            s.append(run, p - run);
            if (p >= end) error(p, "unterminated string");
            unsigned char c = (unsigned char)*p;
            if (c == '"') { p++; return; }
            if (c < 0x20) error(p, "raw control character in string (must be escaped)");
            if (c >= 0x80) {
                size_t n = utf8_seq((const unsigned char*)p);
                if (n == 0) error(p, "invalid UTF-8 in string");
                s.append(p, n);
                p += n;
                continue;
            }
            // backslash
            if (p + 1 >= end) error(p, "unterminated escape");
            char e = p[1];
            switch (e) {
                case '"': s += '"'; break;
                case '\\': s += '\\'; break;
                case '/': s += '/'; break;
                case 'b': s += '\b'; break;
                case 'f': s += '\f'; break;
                case 'n': s += '\n'; break;
                case 'r': s += '\r'; break;
                case 't': s += '\t'; break;
                case 'u': {
                    unsigned cp = hex4(p + 2);
                    const char* esc = p;
                    p += 6;
                    if (cp >= 0xDC00 && cp <= 0xDFFF) error(esc, "lone low surrogate in \\u escape");
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                            error(esc, "high surrogate not followed by a low surrogate");
                        unsigned lo = hex4(p + 2);
                        if (lo < 0xDC00 || lo > 0xDFFF)
                            error(esc, "high surrogate not followed by a low surrogate");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        p += 6;
                    }
                    put_utf8(s, cp);
                    continue;
                }
                default: error(p, "invalid escape");
            }
            p += 2;
        }
    }

    void number(Json& out) {
        const char* start = p;
        bool integral = true;
        if (*p == '-') p++;
        if (p >= end || !(*p >= '0' && *p <= '9')) error(start, "invalid number");
        if (*p == '0') {
            p++;
            if (p < end && *p >= '0' && *p <= '9') error(start, "leading zero in number");
        } else {
            while (p < end && *p >= '0' && *p <= '9') p++;
        }
        if (p < end && *p == '.') {
            integral = false;
            p++;
            if (p >= end || !(*p >= '0' && *p <= '9')) error(start, "digit expected after '.'");
            while (p < end && *p >= '0' && *p <= '9') p++;
        }
        if (p < end && (*p == 'e' || *p == 'E')) {
            integral = false;
            p++;
            if (p < end && (*p == '+' || *p == '-')) p++;
            if (p >= end || !(*p >= '0' && *p <= '9')) error(start, "digit expected in exponent");
            while (p < end && *p >= '0' && *p <= '9') p++;
        }
        std::string lit(start, p - start);  // strtod needs a terminator
        out.kind = Json::NUMBER;
        out.number = strtod(lit.c_str(), nullptr);
        if (!std::isfinite(out.number)) error(start, "number out of range");
        if (integral) {
            errno = 0;
            long long v = strtoll(lit.c_str(), nullptr, 10);
            if (errno == 0) { out.is_integer = true; out.integer = v; }
        }
    }
};

}  // namespace

const Json* Json::find(const std::string& key) const {
    if (kind != OBJECT) return nullptr;
    for (auto& m : members)
        if (m.first == key) return &m.second;
    return nullptr;
}

Json parse_json(const char* data, size_t len, const std::string& where) {
    Parser ps{data, data, data + len, where};
    Json out;
    ps.value(out, 0);
    ps.skip_ws();
    if (ps.p != ps.end) ps.error(ps.p, "trailing characters after the JSON value");
    return out;
}

Json parse_json(const std::string& text, const std::string& where) {
    return parse_json(text.data(), text.size(), where);
}

Json read_json_file(const std::string& path) {
    std::string text = read_file(path);
    return parse_json(text, path);
}

const Json& json_member(const Json& obj, const std::string& key, const std::string& where) {
    if (!obj.is_object()) fail("%s: expected a JSON object holding \"%s\"", where.c_str(), key.c_str());
    const Json* v = obj.find(key);
    if (!v) fail("%s: missing key \"%s\"", where.c_str(), key.c_str());
    return *v;
}

int64_t json_int(const Json& v, const std::string& what, const std::string& where) {
    if (!v.is_number() || !v.is_integer)
        fail("%s: %s must be an integer", where.c_str(), what.c_str());
    return v.integer;
}

double json_number(const Json& v, const std::string& what, const std::string& where) {
    if (!v.is_number()) fail("%s: %s must be a number", where.c_str(), what.c_str());
    return v.number;
}

const std::string& json_string(const Json& v, const std::string& what, const std::string& where) {
    if (!v.is_string()) fail("%s: %s must be a string", where.c_str(), what.c_str());
    return v.str;
}

std::string json_quote(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += (char)c;
                }
        }
    }
    out += '"';
    return out;
}

}  // namespace noln
