// The one check before an allocation whose size comes from a file or a flag
// (docs/training.md "Limits"): the size is compared with what can hold it (the bytes left
// in the file, or this machine's memory) before anything is allocated, so bad input gets a
// noln::Error naming the figure and the limit instead of std::bad_alloc.
#pragma once
#include <cstdint>
#include <string>

namespace noln {

// Throws "WHERE: WHAT needs NEED bytes, more than LIMIT_NAME (LIMIT bytes)" when need > limit.
void check_size(const std::string& where, const std::string& what, uint64_t need, uint64_t limit,
                const char* limit_name);

// need = count * each, saturating at UINT64_MAX instead of wrapping.
uint64_t mul_sat(uint64_t count, uint64_t each);

// This machine's physical memory in bytes (sysconf); the limit for flag-sized allocations.
uint64_t physical_memory();

}  // namespace noln
