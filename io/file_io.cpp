#include "io/file_io.h"

#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "host/error.h"

namespace noln {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "file formats are little-endian and read by plain copies");

std::string read_file(const std::string& path) {
    FileReader r(path);
    std::string s(r.size(), '\0');
    if (!s.empty()) r.read_exact(&s[0], s.size(), "contents");
    return s;
}

bool file_exists(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void make_dirs(const std::string& dir) {
    if (dir.empty() || is_directory(dir)) return;
    std::string parent = dir_name(dir);
    if (parent != dir && parent != "." && parent != "/") make_dirs(parent);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        fail("%s: cannot create directory: %s", dir.c_str(), strerror(errno));
}

std::vector<std::string> glob_files(const std::string& pattern) {
    std::vector<std::string> out;
    glob_t g;
    memset(&g, 0, sizeof g);
    int rc = glob(pattern.c_str(), 0, nullptr, &g);
    if (rc == 0)
        for (size_t i = 0; i < g.gl_pathc; i++) out.push_back(g.gl_pathv[i]);
    globfree(&g);
    std::sort(out.begin(), out.end());
    return out;
}

std::string dir_name(const std::string& path) {
    size_t k = path.find_last_of('/');
    if (k == std::string::npos) return ".";
    if (k == 0) return "/";
    return path.substr(0, k);
}

FileReader::FileReader(const std::string& path) : path_(path) {
    if (is_directory(path)) fail("%s: is a directory, expected a file", path.c_str());
    f_ = fopen(path.c_str(), "rb");
    if (!f_) fail("%s: cannot open: %s", path.c_str(), strerror(errno));
    struct stat st;
    if (fstat(fileno(f_), &st) != 0) {
        fclose(f_);
        fail("%s: cannot stat: %s", path.c_str(), strerror(errno));
    }
    size_ = (uint64_t)st.st_size;
}

FileReader::~FileReader() {
    if (f_) fclose(f_);
}

void FileReader::seek(uint64_t offset) {
    if (offset > size_)
        fail("%s: seek to offset %llu past the end (size %llu)", path_.c_str(),
             (unsigned long long)offset, (unsigned long long)size_);
    if (fseeko(f_, (off_t)offset, SEEK_SET) != 0)
        fail("%s: cannot seek: %s", path_.c_str(), strerror(errno));
    pos_ = offset;
}

void FileReader::read_exact(void* dst, size_t n, const char* what) {
    if (n > remaining())
        fail("%s: truncated %s: needs %zu bytes at offset %llu, file has %llu", path_.c_str(),
             what, n, (unsigned long long)pos_, (unsigned long long)size_);
    if (n && fread(dst, 1, n, f_) != n)
        fail("%s: read error in %s at offset %llu", path_.c_str(), what,
             (unsigned long long)pos_);
    if (hash) hash->add(dst, n);
    pos_ += n;
}

AtomicWriter::AtomicWriter(const std::string& path) : path_(path) {
    tmp_ = path + ".tmp." + std::to_string((long)getpid());
    f_ = fopen(tmp_.c_str(), "wb");
    if (!f_) fail("%s: cannot create %s: %s", path.c_str(), tmp_.c_str(), strerror(errno));
}

AtomicWriter::~AtomicWriter() {
    if (f_) {  // never committed: drop the partial file
        fclose(f_);
        remove(tmp_.c_str());
    }
}

void AtomicWriter::write(const void* src, size_t n) {
    if (!f_) fail("%s: write after commit", path_.c_str());
    if (n && fwrite(src, 1, n, f_) != n) fail("%s: write failed: %s", path_.c_str(), strerror(errno));
    if (hash) hash->add(src, n);
}

void AtomicWriter::commit() {
    if (!f_) fail("%s: committed twice", path_.c_str());
    bool ok = fflush(f_) == 0;
    ok = (fsync(fileno(f_)) == 0 || errno == EINVAL) && ok;
    ok = fclose(f_) == 0 && ok;
    f_ = nullptr;
    if (!ok) {
        remove(tmp_.c_str());
        fail("%s: write failed: %s", path_.c_str(), strerror(errno));
    }
    if (rename(tmp_.c_str(), path_.c_str()) != 0) {
        int e = errno;
        remove(tmp_.c_str());
        fail("%s: cannot rename %s into place: %s", path_.c_str(), tmp_.c_str(), strerror(e));
    }
}

void write_file_atomic(const std::string& path, const void* data, size_t n) {
    AtomicWriter w(path);
    w.write(data, n);
    w.commit();
}

std::vector<int32_t> read_header(FileReader& r, const char* what) {
    std::vector<int32_t> h(HEADER_INTS);
    r.read_exact(h.data(), HEADER_INTS * sizeof(int32_t), what);
    return h;
}

}  // namespace noln
