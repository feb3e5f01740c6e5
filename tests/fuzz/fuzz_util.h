// Shared by the libFuzzer harnesses (one per reader, tests/fuzz/fuzz_*.cpp): each writes the
// fuzzer's bytes to a file of this process and calls the reader on it. A noln::Error is the
// reader's expected answer to bad input, so it is a normal return; anything else (a crash, a
// sanitizer report, another exception, std::bad_alloc, a leak) is a finding.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "host/error.h"
#include "host/gpt2_config.h"

namespace fuzz {

// A per-process folder under $TMPDIR (default /tmp), removed at exit. Held by a pointer that
// is never freed, so the exit handler still sees it after static destructors ran.
inline const std::string& dir() {
    static const std::string* d = [] {
        const char* t = getenv("TMPDIR");
        auto* p = new std::string(std::string(t && *t ? t : "/tmp") + "/noln_fuzz_" + std::to_string((long)getpid()));
        std::string cmd = "mkdir -p '" + *p + "'";
        if (system(cmd.c_str()) != 0) abort();
        atexit([] {
            std::string rm = "rm -rf '" + dir() + "'";
            (void)!system(rm.c_str());
        });
        return p;
    }();
    return *d;
}

// Writes bytes to dir()/name and returns the path.
inline std::string file(const std::string& name, const uint8_t* data, size_t n) {
    const std::string path = dir() + "/" + name;
    FILE* f = fopen(path.c_str(), "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n)) abort();
    fclose(f);
    return path;
}

template <class F>
int expect_errors_only(F f) {
    try {
        f();
    } catch (const noln::Error&) {
    }
    return 0;
}

// The model shape the debug-state harness and its seeds share (the file does not hold it).
// One layer, C 4, 2 heads, V 10 (Vp 128), maxT 8.
inline noln::GPT2Config small_config() {
    noln::GPT2Config c = noln::gpt2_config_for_depth(1, 8, 10, 128);
    c.channels = 4;
    c.num_heads = 2;
    return c;
}

}  // namespace fuzz
