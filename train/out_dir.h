// The output folder (-o) of one run (docs/training.md "The output folder"): a lock so two
// trainers never write into the same folder, and the cleanup of temporary files that a
// killed process left behind.
#pragma once
#include <string>
#include <vector>

namespace noln {

// Holds DIR/LOCK ("pid PID host HOST") while alive; removes it on destruction. Refused with
// a message naming the holder while another live process holds it; a lock whose holder is
// gone (same host, pid not running) is taken over, and `note` says so.
class OutputLock {
public:
    OutputLock(const std::string& dir, std::string* note);
    ~OutputLock();
    OutputLock(const OutputLock&) = delete;
    OutputLock& operator=(const OutputLock&) = delete;

private:
    std::string path_, mine_;
};

std::string lock_path(const std::string& dir);

// Removes DIR/*.tmp.PID files whose process (on this host) is not running: what an atomic
// write left when its process was killed. Returns one line per file removed.
std::vector<std::string> remove_orphaned_temps(const std::string& dir);

}  // namespace noln
