// Errors for bad input. Library code throws noln::Error with a message that names the
// file (or flag) and the problem; programs catch it in main, print it and exit 1.
// Throwing (rather than exit()) keeps readers testable and lets a caller clean up a
// temporary file before a half-written checkpoint could ever be renamed into place.
#pragma once
#include <cstdarg>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace noln {

struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// printf-style: fail("%s: wrong magic %d (expected %d)", path, got, want)
[[noreturn]] inline void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] inline void fail(const char* fmt, ...) {
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    throw Error(buf);
}

}  // namespace noln
