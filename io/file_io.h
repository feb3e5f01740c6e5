// Shared helpers for every reader and writer: exact reads that turn a short file into an
// error naming the file, what was being read and the byte offset, and atomic writes (a
// temporary file in the same folder, renamed into place only once everything was written)
// so a crash or an error never leaves a half-written checkpoint under the real name.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace noln {

// FNV-1a, 64-bit (offset basis 14695981039346656037, prime 1099511628211), over bytes in
// file order: the checksum of checkpoint files (docs/formats.md). Feed it in any split.
struct Fnv1a64 {
    uint64_t value = 14695981039346656037ull;
    void add(const void* p, size_t n) {
        const unsigned char* b = (const unsigned char*)p;
        uint64_t h = value;
        for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
        value = h;
    }
};

// The whole file as bytes. Throws noln::Error if it cannot be opened or read.
std::string read_file(const std::string& path);
bool file_exists(const std::string& path);
bool is_directory(const std::string& path);
// Creates dir and its parents (like mkdir -p); throws on failure.
void make_dirs(const std::string& dir);
// Files matching a shell glob pattern, sorted by name; empty when none match.
std::vector<std::string> glob_files(const std::string& pattern);
// "a/b/c.bin" -> "a/b" ("." when there is no slash).
std::string dir_name(const std::string& path);

// Sequential reader over one file.
class FileReader {
public:
    explicit FileReader(const std::string& path);  // throws if missing/unreadable
    ~FileReader();
    FileReader(const FileReader&) = delete;
    FileReader& operator=(const FileReader&) = delete;

    const std::string& path() const { return path_; }
    uint64_t size() const { return size_; }
    uint64_t tell() const { return pos_; }
    uint64_t remaining() const { return size_ - pos_; }
    void seek(uint64_t offset);
    // Reads exactly n bytes or throws "<path>: truncated <what>: needs N bytes at offset O,
    // file has S".
    void read_exact(void* dst, size_t n, const char* what);
    // When set, every byte read_exact returns is fed to it (a format with a checksum).
    Fnv1a64* hash = nullptr;

private:
    std::string path_;
    FILE* f_ = nullptr;
    uint64_t size_ = 0, pos_ = 0;
};

// Writes to "<path>.tmp.<pid>" and renames it to path on commit(). If the writer is
// destroyed without commit() (an exception on the way), the temporary file is removed.
class AtomicWriter {
public:
    explicit AtomicWriter(const std::string& path);
    ~AtomicWriter();
    AtomicWriter(const AtomicWriter&) = delete;
    AtomicWriter& operator=(const AtomicWriter&) = delete;

    void write(const void* src, size_t n);
    void commit();
    const std::string& path() const { return path_; }
    Fnv1a64* hash = nullptr;  // when set, every byte written is fed to it

private:
    std::string path_, tmp_;
    FILE* f_ = nullptr;
};

// Convenience: the whole content at once, atomically.
void write_file_atomic(const std::string& path, const void* data, size_t n);

// Little-endian header helpers: our hosts are little-endian (checked at compile time in
// file_io.cpp), so these are plain copies, named so call sites say what they mean.
std::vector<int32_t> read_header(FileReader& r, const char* what);  // 256 int32
constexpr int HEADER_INTS = 256;

}  // namespace noln
