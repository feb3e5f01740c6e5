#include "host/dist.h"

#include <mpi.h>

#include <time.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "host/error.h"

namespace noln {

static Dist g_dist;
static bool g_mpi = false;  // true when MPI is initialised by us and world > 1 is possible

static void finalize() {
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Finalize();
}

static bool launched_by_mpirun() {
    return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") ||
           std::getenv("PMIX_RANK");
}

const Dist& dist_init(int* argc, char*** argv) {
    if (g_mpi || !launched_by_mpirun()) return g_dist;
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        MPI_Init(argc, argv);
        std::atexit(finalize);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &g_dist.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_dist.world);
    g_mpi = true;
    return g_dist;
}

const Dist& dist() { return g_dist; }

// MPI counts are int: large buffers go in chunks.
template <typename F>
static void chunked(size_t n, F f) {
    const size_t step = INT_MAX / 2;
    for (size_t off = 0; off < n; off += step) f(off, (int)(n - off < step ? n - off : step));
}

void dist_allreduce_sum(float* buf, size_t n) {
    if (!g_mpi || g_dist.world == 1) return;
    chunked(n, [&](size_t off, int cnt) {
        MPI_Allreduce(MPI_IN_PLACE, buf + off, cnt, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    });
}

void dist_allreduce_sum(double* buf, size_t n) {
    if (!g_mpi || g_dist.world == 1) return;
    chunked(n, [&](size_t off, int cnt) {
        MPI_Allreduce(MPI_IN_PLACE, buf + off, cnt, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    });
}

void dist_broadcast(void* buf, size_t bytes, int root) {
    if (!g_mpi || g_dist.world == 1) return;
    chunked(bytes, [&](size_t off, int cnt) {
        MPI_Bcast((char*)buf + off, cnt, MPI_BYTE, root, MPI_COMM_WORLD);
    });
}

// Completes a non-blocking collective, polling with a growing sleep (50 us to 5 ms) rather
// than spinning: a rank waiting while another writes a checkpoint stays idle.
static void wait_idle(MPI_Request& req) {
    long ns = 50000;
    for (;;) {
        int done = 0;
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (done) return;
        timespec ts{0, ns};
        nanosleep(&ts, nullptr);
        if (ns < 5000000) ns *= 2;
    }
}

void dist_barrier() {
    if (!g_mpi || g_dist.world == 1) return;
    MPI_Request req;
    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    wait_idle(req);
}

std::string dist_first_error(const std::string& local_error) {
    if (!g_mpi || g_dist.world == 1) return local_error;
    // the lowest failing rank (world when none), then its message's length and text
    int mine = local_error.empty() ? g_dist.world : g_dist.rank, first = 0;
    MPI_Request req;
    MPI_Iallreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD, &req);
    wait_idle(req);
    if (first == g_dist.world) return "";
    int len = first == g_dist.rank ? (int)local_error.size() : 0;
    MPI_Ibcast(&len, 1, MPI_INT, first, MPI_COMM_WORLD, &req);
    wait_idle(req);
    std::string msg = first == g_dist.rank ? local_error : std::string((size_t)len, '\0');
    MPI_Ibcast(&msg[0], len, MPI_CHAR, first, MPI_COMM_WORLD, &req);
    wait_idle(req);
    return "rank " + std::to_string(first) + ": " + msg;
}

static std::vector<std::function<void()>>& abort_hooks() {
    static std::vector<std::function<void()>> hooks;
    return hooks;
}

void dist_on_abort(std::function<void()> hook) { abort_hooks().push_back(std::move(hook)); }

void dist_abort(int code) {
    fflush(stdout);
    fflush(stderr);
    for (auto& h : abort_hooks()) h();
    if (g_mpi && g_dist.world > 1) MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);
}

}  // namespace noln
