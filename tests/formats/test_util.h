// Helpers for the format tests: a fresh temporary folder per test, raw byte writers for
// hand-made (often broken) files, and a matcher for "the error names the file and the
// problem".
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "host/error.h"

namespace testutil {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/noln_formats_XXXXXX";
        char* p = mkdtemp(tmpl);
        REQUIRE(p != nullptr);
        path = p;
    }
    ~TempDir() { std::string cmd = "rm -rf '" + path + "'"; (void)!system(cmd.c_str()); }
    std::string file(const std::string& name) const { return path + "/" + name; }
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
    FILE* f = fopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    REQUIRE(fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
    fclose(f);
}

inline std::string read_bytes(const std::string& path) {
    FILE* f = fopen(path.c_str(), "rb");
    REQUIRE(f != nullptr);
    std::string s;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    fclose(f);
    return s;
}

template <class T>
void append(std::string& s, T v) { s.append((const char*)&v, sizeof v); }

inline std::string header_bytes(const std::vector<int32_t>& first) {
    std::vector<int32_t> h(256, 0);
    for (size_t i = 0; i < first.size(); i++) h[i] = first[i];
    return std::string((const char*)h.data(), 1024);
}

}  // namespace testutil

// REQUIRE_THROWS_WITH(expr, names(path, "truncated")): the message holds both pieces.
#define NAMES(a, b) (Catch::Matchers::Contains(a) && Catch::Matchers::Contains(b))

#include "io/file_io.h"
namespace testutil {
// Number of entries in a folder (to check that no temporary file was left behind).
inline size_t glob_count(const std::string& dir) { return noln::glob_files(dir + "/*").size() + noln::glob_files(dir + "/.*.tmp*").size(); }
}  // namespace testutil
