// cuemu's NCCL stand-in: collectives over MPI, so `mpirun -np N` runs of emulated programs
// talk to each other. A collective is checked at the call and queued on its stream like a
// kernel (emu/src/runtime.cpp; it runs at the call or when the stream is forced, as
// CUEMU_STREAMS says); group calls are no-ops. Each rank runs its collectives in the order
// its program forces them, which is the same on every rank when the ranks run the same
// program, as NCCL requires. The MPI communicator is a duplicate of MPI_COMM_WORLD, so the
// program's own MPI traffic never matches a collective's.
#include <nccl.h>
#include <cuda_bf16.h>
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include "runtime_state.h"

struct ncclComm {
    MPI_Comm comm;
    int rank, nranks;
    int queued = 0;        // collectives queued and not yet run
    bool aborted = false;  // ncclCommAbort while some were queued: they are dropped
};

namespace {

ncclResult_t fail(const char* what) {
    fprintf(stderr, "cuemu NCCL: %s\n", what);
    return ncclInvalidArgument;
}

bool mpi_type(ncclDataType_t t, MPI_Datatype* out, size_t* size) {
    switch (t) {
    case ncclFloat32: *out = MPI_FLOAT; *size = 4; return true;
    case ncclFloat64: *out = MPI_DOUBLE; *size = 8; return true;
    case ncclInt32: *out = MPI_INT; *size = 4; return true;
    case ncclUint32: *out = MPI_UNSIGNED; *size = 4; return true;
    case ncclInt64: *out = MPI_INT64_T; *size = 8; return true;
    case ncclUint64: *out = MPI_UINT64_T; *size = 8; return true;
    case ncclInt8: *out = MPI_INT8_T; *size = 1; return true;
    case ncclUint8: *out = MPI_UINT8_T; *size = 1; return true;
    default: return false;
    }
}
size_t type_size(ncclDataType_t t) {
    switch (t) {
    case ncclBfloat16: case ncclFloat16: return 2;
    default: { MPI_Datatype d; size_t s = 0; mpi_type(t, &d, &s); return s; }
    }
}
bool mpi_op(ncclRedOp_t op, MPI_Op* out) {
    switch (op) {
    case ncclSum: *out = MPI_SUM; return true;
    case ncclMax: *out = MPI_MAX; return true;
    case ncclMin: *out = MPI_MIN; return true;
    case ncclProd: *out = MPI_PROD; return true;
    default: return false;
    }
}

// bf16 is reduced in fp32 and rounded once, which is what NCCL's ring does per hop only
// approximately: compare with a bf16 tolerance.
std::vector<float> widen(const void* p, size_t n) {
    std::vector<float> f(n);
    for (size_t i = 0; i < n; i++) f[i] = __bfloat162float(((const __nv_bfloat16*)p)[i]);
    return f;
}
void narrow(const std::vector<float>& f, void* p) {
    for (size_t i = 0; i < f.size(); i++) ((__nv_bfloat16*)p)[i] = __float2bfloat16(f[i]);
}

void ensure_mpi() {
    int init = 0;
    MPI_Initialized(&init);
    if (!init) MPI_Init(nullptr, nullptr);
}

// Waits for a collective's MPI request. A rank that waits long usually means the ranks
// forced their streams at different points while one of them blocks in the host's own MPI
// traffic (a GPU would not deadlock there: see emu/README.md, "Streams"): say so, once. At
// program exit (a rank that ends with collectives still queued) it gives up after 10 s
// rather than keep the process from ending.
void wait(MPI_Request* req, const char* what, const ncclComm* comm) {
    auto start = std::chrono::steady_clock::now();
    bool warned = false;
    for (;;) {
        int done = 0;
        MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (done) return;
        if (cuemu::exiting() && std::chrono::steady_clock::now() - start > std::chrono::seconds(10)) {
            fprintf(stderr, "cuemu NCCL: rank %d exits with %s still waiting for the other ranks: abandoned\n", comm->rank, what);
            return;
        }
        if (!warned && std::chrono::steady_clock::now() - start > std::chrono::seconds(30)) {
            fprintf(stderr, "cuemu NCCL: rank %d has waited 30 s in %s for the other ranks: do they force their "
                            "streams at the same points of the program? (emu/README.md, Streams)\n", comm->rank, what);
            warned = true;
        }
        std::this_thread::yield();  // ranks may share cores (mpirun --oversubscribe)
    }
}

// Queues a checked collective on its stream; a collective of an aborted communicator is
// dropped, and one still queued when MPI is finalized is reported and dropped.
ncclResult_t submit(ncclComm_t comm, cudaStream_t stream, const char* what, std::function<void()> run) {
    comm->queued++;
    cudaError_t e = cuemu::enqueue(stream, [comm, what, run = std::move(run)] {
        comm->queued--;
        if (comm->aborted) {
            if (comm->queued == 0) delete comm;
            return;
        }
        int fin = 0;
        MPI_Finalized(&fin);
        if (fin) {
            fprintf(stderr, "cuemu NCCL: %s still queued after MPI_Finalize: dropped (synchronize its stream first)\n", what);
            return;
        }
        run();
    });
    if (e != cudaSuccess) {
        comm->queued--;
        return fail("collective on a stream that does not exist");
    }
    return ncclSuccess;
}

}  // namespace

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
    memset(id, 0, sizeof *id);
    snprintf(id->internal, sizeof id->internal, "cuemu-mpi");
    return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId, int rank) {
    ensure_mpi();
    int size, me;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    if (nranks != size || rank != me) return fail("ncclCommInitRank: nranks/rank must match MPI_COMM_WORLD");
    ncclComm* c = new ncclComm();
    MPI_Comm_dup(MPI_COMM_WORLD, &c->comm);
    c->rank = rank;
    c->nranks = nranks;
    *comm = c;
    return ncclSuccess;
}
// Like NCCL's, destroy first completes what was issued on the communicator (here: all streams).
ncclResult_t ncclCommDestroy(ncclComm_t comm) {
    cudaDeviceSynchronize();
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Comm_free(&comm->comm);
    delete comm;
    return ncclSuccess;
}
// Abort frees the communicator without waiting for the other ranks (MPI_Comm_free would be a
// collective): the duplicate is left to MPI_Abort / MPI_Finalize. Collectives still queued
// are dropped (the last one frees it). Like NCCL, NULL is a no-op.
ncclResult_t ncclCommAbort(ncclComm_t comm) {
    if (!comm) return ncclSuccess;
    if (comm->queued) comm->aborted = true;
    else delete comm;
    return ncclSuccess;
}
// Arguments are checked at the call and MPI errors end the job, so no error is ever pending.
ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* asyncError) {
    if (!comm || !asyncError) return fail("ncclCommGetAsyncError: NULL argument");
    *asyncError = ncclSuccess;
    return ncclSuccess;
}
ncclResult_t ncclCommCount(const ncclComm_t comm, int* count) { *count = comm->nranks; return ncclSuccess; }
ncclResult_t ncclCommUserRank(const ncclComm_t comm, int* rank) { *rank = comm->rank; return ncclSuccess; }
ncclResult_t ncclGroupStart() { return ncclSuccess; }
ncclResult_t ncclGroupEnd() { return ncclSuccess; }
const char* ncclGetErrorString(ncclResult_t r) { return r == ncclSuccess ? "no error" : "cuemu NCCL error"; }

// Each collective checks its arguments now and reads its buffers when its stream runs it.
ncclResult_t ncclAllReduce(const void* send, void* recv, size_t count, ncclDataType_t t, ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream) {
    MPI_Op mop;
    if (!mpi_op(op, &mop)) return fail("ncclAllReduce: unsupported reduction");
    MPI_Datatype dt = MPI_DATATYPE_NULL;
    size_t sz = 0;
    if (t != ncclBfloat16 && !mpi_type(t, &dt, &sz)) return fail("ncclAllReduce: unsupported data type");
    return submit(comm, stream, "ncclAllReduce", [=] {
        MPI_Request req;
        if (t == ncclBfloat16) {
            std::vector<float> f = widen(send, count);
            MPI_Iallreduce(MPI_IN_PLACE, f.data(), (int)count, MPI_FLOAT, mop, comm->comm, &req);
            wait(&req, "ncclAllReduce", comm);
            narrow(f, recv);
            return;
        }
        MPI_Iallreduce(send == recv ? MPI_IN_PLACE : send, recv, (int)count, dt, mop, comm->comm, &req);
        wait(&req, "ncclAllReduce", comm);
    });
}

ncclResult_t ncclReduceScatter(const void* send, void* recv, size_t count, ncclDataType_t t, ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream) {
    MPI_Op mop;
    if (!mpi_op(op, &mop)) return fail("ncclReduceScatter: unsupported reduction");
    MPI_Datatype dt = MPI_DATATYPE_NULL;
    size_t sz = 0;
    if (t != ncclBfloat16 && !mpi_type(t, &dt, &sz)) return fail("ncclReduceScatter: unsupported data type");
    return submit(comm, stream, "ncclReduceScatter", [=] {
        MPI_Request req;
        if (t == ncclBfloat16) {
            std::vector<float> f = widen(send, count * comm->nranks), r(count);
            MPI_Ireduce_scatter_block(f.data(), r.data(), (int)count, MPI_FLOAT, mop, comm->comm, &req);
            wait(&req, "ncclReduceScatter", comm);
            narrow(r, recv);
            return;
        }
        // In place for NCCL means recv == send + rank * count; MPI wants separate buffers.
        std::vector<char> tmp(count * sz);
        MPI_Ireduce_scatter_block(send, tmp.data(), (int)count, dt, mop, comm->comm, &req);
        wait(&req, "ncclReduceScatter", comm);
        memcpy(recv, tmp.data(), tmp.size());
    });
}

ncclResult_t ncclAllGather(const void* send, void* recv, size_t count, ncclDataType_t t, ncclComm_t comm, cudaStream_t stream) {
    size_t sz = type_size(t);
    if (!sz) return fail("ncclAllGather: unsupported data type");
    return submit(comm, stream, "ncclAllGather", [=] {
        std::vector<char> mine((const char*)send, (const char*)send + count * sz);  // send may alias recv
        MPI_Request req;
        MPI_Iallgather(mine.data(), (int)(count * sz), MPI_BYTE, recv, (int)(count * sz), MPI_BYTE, comm->comm, &req);
        wait(&req, "ncclAllGather", comm);
    });
}

ncclResult_t ncclBroadcast(const void* send, void* recv, size_t count, ncclDataType_t t, int root, ncclComm_t comm, cudaStream_t stream) {
    size_t sz = type_size(t);
    if (!sz) return fail("ncclBroadcast: unsupported data type");
    return submit(comm, stream, "ncclBroadcast", [=] {
        if (comm->rank == root && send != recv) memcpy(recv, send, count * sz);
        MPI_Request req;
        MPI_Ibcast(recv, (int)(count * sz), MPI_BYTE, root, comm->comm, &req);
        wait(&req, "ncclBroadcast", comm);
    });
}
ncclResult_t ncclBcast(void* buf, size_t count, ncclDataType_t t, int root, ncclComm_t comm, cudaStream_t s) {
    return ncclBroadcast(buf, buf, count, t, root, comm, s);
}
