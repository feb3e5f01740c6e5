#include "host/limits.h"

#include <unistd.h>

#include <cstdio>

#include "host/error.h"

namespace noln {

void check_size(const std::string& where, const std::string& what, uint64_t need, uint64_t limit,
                const char* limit_name) {
    if (need <= limit) return;
    char gb[32] = "";
    if (need >= 100000000) snprintf(gb, sizeof gb, " (%.3g GB)", (double)need / 1e9);
    fail("%s: %s needs %llu bytes%s, more than %s (%llu bytes)", where.c_str(), what.c_str(),
         (unsigned long long)need, gb, limit_name, (unsigned long long)limit);
}

uint64_t mul_sat(uint64_t count, uint64_t each) {
    if (each != 0 && count > UINT64_MAX / each) return UINT64_MAX;
    return count * each;
}

uint64_t physical_memory() {
    const long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || size <= 0) return UINT64_MAX;  // unknown: the allocator decides
    return (uint64_t)pages * (uint64_t)size;
}

}  // namespace noln
