// cuemu's NCCL stand-in: collectives over MPI, so `mpirun -np N` runs of emulated programs
// talk to each other. Streams are ignored (everything is synchronous) and group calls are
// no-ops: each collective runs at once, in the same order on every rank, as NCCL requires.
#include <nccl.h>
#include <cuda_bf16.h>
#include <mpi.h>

#include <cstdio>
#include <cstring>
#include <vector>

struct ncclComm {
    MPI_Comm comm;
    int rank, nranks;
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
ncclResult_t ncclCommDestroy(ncclComm_t comm) {
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Comm_free(&comm->comm);
    delete comm;
    return ncclSuccess;
}
// Abort frees the communicator without waiting for the other ranks (MPI_Comm_free would be a
// collective): the duplicate is left to MPI_Abort / MPI_Finalize. Like NCCL, NULL is a no-op.
ncclResult_t ncclCommAbort(ncclComm_t comm) {
    delete comm;
    return ncclSuccess;
}
// Collectives here finish before they return, so no error is ever pending.
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

ncclResult_t ncclAllReduce(const void* send, void* recv, size_t count, ncclDataType_t t, ncclRedOp_t op, ncclComm_t comm, cudaStream_t) {
    MPI_Op mop;
    if (!mpi_op(op, &mop)) return fail("ncclAllReduce: unsupported reduction");
    if (t == ncclBfloat16) {
        std::vector<float> f = widen(send, count);
        MPI_Allreduce(MPI_IN_PLACE, f.data(), (int)count, MPI_FLOAT, mop, comm->comm);
        narrow(f, recv);
        return ncclSuccess;
    }
    MPI_Datatype dt; size_t sz;
    if (!mpi_type(t, &dt, &sz)) return fail("ncclAllReduce: unsupported data type");
    MPI_Allreduce(send == recv ? MPI_IN_PLACE : send, recv, (int)count, dt, mop, comm->comm);
    return ncclSuccess;
}

ncclResult_t ncclReduceScatter(const void* send, void* recv, size_t count, ncclDataType_t t, ncclRedOp_t op, ncclComm_t comm, cudaStream_t) {
    MPI_Op mop;
    if (!mpi_op(op, &mop)) return fail("ncclReduceScatter: unsupported reduction");
    if (t == ncclBfloat16) {
        std::vector<float> f = widen(send, count * comm->nranks), r(count);
        MPI_Reduce_scatter_block(f.data(), r.data(), (int)count, MPI_FLOAT, mop, comm->comm);
        narrow(r, recv);
        return ncclSuccess;
    }
    MPI_Datatype dt; size_t sz;
    if (!mpi_type(t, &dt, &sz)) return fail("ncclReduceScatter: unsupported data type");
    // In place for NCCL means recv == send + rank * count; MPI wants separate buffers.
    std::vector<char> tmp(count * sz);
    MPI_Reduce_scatter_block(send, tmp.data(), (int)count, dt, mop, comm->comm);
    memcpy(recv, tmp.data(), tmp.size());
    return ncclSuccess;
}

ncclResult_t ncclAllGather(const void* send, void* recv, size_t count, ncclDataType_t t, ncclComm_t comm, cudaStream_t) {
    size_t sz = type_size(t);
    if (!sz) return fail("ncclAllGather: unsupported data type");
    std::vector<char> mine((const char*)send, (const char*)send + count * sz);  // send may alias recv
    MPI_Allgather(mine.data(), (int)(count * sz), MPI_BYTE, recv, (int)(count * sz), MPI_BYTE, comm->comm);
    return ncclSuccess;
}

ncclResult_t ncclBroadcast(const void* send, void* recv, size_t count, ncclDataType_t t, int root, ncclComm_t comm, cudaStream_t) {
    size_t sz = type_size(t);
    if (!sz) return fail("ncclBroadcast: unsupported data type");
    if (comm->rank == root && send != recv) memcpy(recv, send, count * sz);
    MPI_Bcast(recv, (int)(count * sz), MPI_BYTE, root, comm->comm);
    return ncclSuccess;
}
ncclResult_t ncclBcast(void* buf, size_t count, ncclDataType_t t, int root, ncclComm_t comm, cudaStream_t s) {
    return ncclBroadcast(buf, buf, count, t, root, comm, s);
}
