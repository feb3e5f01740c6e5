#include "train/out_dir.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "host/error.h"
#include "io/file_io.h"

namespace noln {

std::string lock_path(const std::string& dir) { return dir + "/LOCK"; }

static std::string host_name() {
    char b[256] = {0};
    if (gethostname(b, sizeof b - 1) != 0) return "unknown";
    return b;
}

static bool pid_running(long pid) { return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM); }

// "pid PID host HOST": the holder, or false when the text is not a lock's.
static bool parse_lock(const std::string& text, long& pid, std::string& host) {
    char h[256];
    if (sscanf(text.c_str(), "pid %ld host %255s", &pid, h) != 2) return false;
    host = h;
    return true;
}

OutputLock::OutputLock(const std::string& dir, std::string* note) : path_(lock_path(dir)) {
    make_dirs(dir);
    mine_ = "pid " + std::to_string((long)getpid()) + " host " + host_name() + "\n";
    // The content goes into a file of our own first, then link() makes it the lock: creating
    // it is atomic and a reader never sees a half-written lock.
    const std::string tmp = path_ + ".tmp." + std::to_string((long)getpid());
    write_file_atomic(tmp, mine_.data(), mine_.size());
    for (int attempt = 0;; attempt++) {
        if (link(tmp.c_str(), path_.c_str()) == 0) break;
        const int e = errno;
        if (e != EEXIST || attempt == 2) {
            remove(tmp.c_str());
            fail("%s: cannot create the output folder's lock: %s", path_.c_str(), strerror(e));
        }
        std::string held;
        try {
            held = read_file(path_);
        } catch (const Error&) {
            continue;  // removed meanwhile: try again
        }
        long pid = 0;
        std::string host;
        const bool parsed = parse_lock(held, pid, host);
        if (parsed && (host != host_name() || pid_running(pid))) {
            remove(tmp.c_str());
            fail("%s: the output folder is in use by the trainer with pid %ld on host %s (lock %s); "
                 "use another -o, or wait for it to finish", dir.c_str(), pid, host.c_str(),
                 path_.c_str());
        }
        if (!parsed) {
            remove(tmp.c_str());
            fail("%s: not a lock file (expected \"pid PID host HOST\"); remove it if no trainer uses %s",
                 path_.c_str(), dir.c_str());
        }
        // Stale: its process is gone. Move it aside (only one taker can), check that what we
        // moved is the stale lock we read, then try again.
        const std::string aside = path_ + ".stale." + std::to_string((long)getpid());
        if (rename(path_.c_str(), aside.c_str()) != 0) continue;
        std::string moved;
        try {
            moved = read_file(aside);
        } catch (const Error&) {
        }
        if (moved != held) {  // another trainer took it over meanwhile: put its lock back
            if (link(aside.c_str(), path_.c_str()) != 0) {}
            remove(aside.c_str());
            continue;
        }
        remove(aside.c_str());
        if (note)
            *note = "took over the stale lock " + path_ + " of pid " + std::to_string(pid) +
                    " (not running)";
    }
    remove(tmp.c_str());
}

OutputLock::~OutputLock() {
    try {
        if (read_file(path_) == mine_) remove(path_.c_str());
    } catch (const Error&) {
    }
}

std::vector<std::string> remove_orphaned_temps(const std::string& dir) {
    std::vector<std::string> removed;
    for (const std::string& f : glob_files(dir + "/*.tmp.*")) {
        const size_t k = f.rfind(".tmp.");
        char* end = nullptr;
        const long pid = strtol(f.c_str() + k + 5, &end, 10);
        if (!end || *end || pid <= 0 || pid == (long)getpid() || pid_running(pid)) continue;
        if (remove(f.c_str()) == 0)
            removed.push_back("removed " + f + ", left by pid " + std::to_string(pid) + " (not running)");
    }
    return removed;
}

}  // namespace noln
