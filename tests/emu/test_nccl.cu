// NCCL collectives through the emulator's MPI-backed stand-in; run under
// `mpirun -np 2 --oversubscribe`, in each CUEMU_STREAMS mode. Every rank checks its own
// results against values computed here from the rank numbers. The side-stream case checks
// that a collective on a non-blocking stream ordered by events is right in every mode, and
// that each missing event gives the stale result in the mode that catches it.
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <mpi.h>
#include <nccl.h>

#include <string>
#include <vector>

#include "tests/emu/check.h"

__host__ __device__ static float val(int rank, int i) { return (float)(rank + 1) * 0.5f + (float)i; }

__global__ void set_vals(float* d, int rank, int n) {
    int i = threadIdx.x;
    if (i < n) d[i] = val(rank, i);
}
__global__ void twice(float* out, const float* in, int n) {
    int i = threadIdx.x;
    if (i < n) out[i] = 2.0f * in[i];
}

// Produce on the legacy stream, all-reduce on a non-blocking stream, consume on the legacy
// stream; `wait_ready` / `wait_reduced` say which of the two event waits the program makes.
// Returns how many of the consumer's outputs differ from twice the sum over ranks.
static int side_stream_allreduce(ncclComm_t comm, int rank, int n, int count, bool wait_ready, bool wait_reduced) {
    cudaStream_t cs;
    cudaEvent_t ready, reduced;
    cudaStreamCreateWithFlags(&cs, cudaStreamNonBlocking);
    cudaEventCreateWithFlags(&ready, cudaEventDisableTiming);
    cudaEventCreateWithFlags(&reduced, cudaEventDisableTiming);
    float *d, *r, *o;
    for (float** p : {&d, &r, &o}) {
        cudaMalloc(p, count * sizeof(float));
        cudaMemset(*p, 0, count * sizeof(float));
    }
    cudaDeviceSynchronize();
    set_vals<<<1, count>>>(d, rank, count);
    cudaEventRecord(ready, 0);
    if (wait_ready) cudaStreamWaitEvent(cs, ready, 0);
    ncclGroupStart();
    CHECK(ncclAllReduce(d, r, count, ncclFloat, ncclSum, comm, cs) == ncclSuccess, "side-stream allreduce");
    ncclGroupEnd();
    ncclResult_t async = ncclInternalError;
    CHECK(ncclCommGetAsyncError(comm, &async) == ncclSuccess && async == ncclSuccess, "async error state while queued");
    cudaEventRecord(reduced, cs);
    if (wait_reduced) cudaStreamWaitEvent(0, reduced, 0);
    twice<<<1, count>>>(o, r, count);
    std::vector<float> h(count);
    cudaMemcpy(h.data(), o, count * sizeof(float), cudaMemcpyDeviceToHost);
    int bad = 0;
    for (int i = 0; i < count; i++) {
        float e = 0;
        for (int q = 0; q < n; q++) e += val(q, i);
        bad += h[i] != 2.0f * e;
    }
    // a polling wait on the collective's stream ends (then everything is drained on every rank)
    int polls = 0;
    while (cudaStreamQuery(cs) == cudaErrorNotReady && polls < 10) polls++;
    CHECK(polls < 10, "cudaStreamQuery on the collective's stream never answered cudaSuccess");
    cudaDeviceSynchronize();
    for (float* p : {d, r, o}) cudaFree(p);
    cudaEventDestroy(ready);
    cudaEventDestroy(reduced);
    cudaStreamDestroy(cs);
    return bad;
}

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, n;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    ncclUniqueId id;
    if (rank == 0) ncclGetUniqueId(&id);
    MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD);
    ncclComm_t comm;
    CHECK(ncclCommInitRank(&comm, n, id, rank) == ncclSuccess, "init");
    const int count = 6;
    std::vector<float> h(count * n);
    float *d, *r;
    cudaMalloc(&d, count * n * sizeof(float));
    cudaMalloc(&r, count * n * sizeof(float));
    for (int i = 0; i < count; i++) h[i] = val(rank, i);
    cudaMemcpy(d, h.data(), count * sizeof(float), cudaMemcpyHostToDevice);

    // all-reduce sum and max, in place and out of place
    CHECK(ncclAllReduce(d, r, count, ncclFloat, ncclSum, comm, 0) == ncclSuccess, "allreduce");
    cudaMemcpy(h.data(), r, count * sizeof(float), cudaMemcpyDeviceToHost);
    int bad = 0;
    for (int i = 0; i < count; i++) {
        float e = 0;
        for (int q = 0; q < n; q++) e += val(q, i);
        bad += h[i] != e;
    }
    CHECK(bad == 0, "rank %d: allreduce sum %d wrong", rank, bad);
    CHECK(ncclAllReduce(d, d, count, ncclFloat, ncclMax, comm, 0) == ncclSuccess, "allreduce max");
    cudaMemcpy(h.data(), d, count * sizeof(float), cudaMemcpyDeviceToHost);
    bad = 0;
    for (int i = 0; i < count; i++) bad += h[i] != val(n - 1, i);
    CHECK(bad == 0, "rank %d: in-place allreduce max %d wrong", rank, bad);

    // bf16 all-reduce
    std::vector<__nv_bfloat16> hb(count);
    for (int i = 0; i < count; i++) hb[i] = __float2bfloat16(val(rank, i));
    __nv_bfloat16* db;
    cudaMalloc(&db, count * sizeof(__nv_bfloat16));
    cudaMemcpy(db, hb.data(), count * sizeof(__nv_bfloat16), cudaMemcpyHostToDevice);
    ncclGroupStart();
    CHECK(ncclAllReduce(db, db, count, ncclBfloat16, ncclSum, comm, 0) == ncclSuccess, "bf16 allreduce");
    ncclGroupEnd();
    cudaMemcpy(hb.data(), db, count * sizeof(__nv_bfloat16), cudaMemcpyDeviceToHost);
    bad = 0;
    for (int i = 0; i < count; i++) {
        float e = 0;
        for (int q = 0; q < n; q++) e += val(q, i);
        bad += std::fabs(__bfloat162float(hb[i]) - e) > e / 128;
    }
    CHECK(bad == 0, "rank %d: bf16 allreduce %d wrong", rank, bad);

    // reduce-scatter: rank q gets the sum of every rank's chunk q
    for (int i = 0; i < count * n; i++) h[i] = val(rank, i);
    cudaMemcpy(d, h.data(), count * n * sizeof(float), cudaMemcpyHostToDevice);
    CHECK(ncclReduceScatter(d, r, count, ncclFloat, ncclSum, comm, 0) == ncclSuccess, "reducescatter");
    cudaMemcpy(h.data(), r, count * sizeof(float), cudaMemcpyDeviceToHost);
    bad = 0;
    for (int i = 0; i < count; i++) {
        float e = 0;
        for (int q = 0; q < n; q++) e += val(q, rank * count + i);
        bad += h[i] != e;
    }
    CHECK(bad == 0, "rank %d: reducescatter %d wrong", rank, bad);

    // all-gather, in place (send = recv + rank * count), and broadcast of ints from rank 1
    for (int i = 0; i < count; i++) h[rank * count + i] = val(rank, i);
    cudaMemcpy(r + rank * count, h.data() + rank * count, count * sizeof(float), cudaMemcpyHostToDevice);
    CHECK(ncclAllGather(r + rank * count, r, count, ncclFloat, comm, 0) == ncclSuccess, "allgather");
    cudaMemcpy(h.data(), r, count * n * sizeof(float), cudaMemcpyDeviceToHost);
    bad = 0;
    for (int q = 0; q < n; q++) for (int i = 0; i < count; i++) bad += h[q * count + i] != val(q, i);
    CHECK(bad == 0, "rank %d: allgather %d wrong", rank, bad);
    int hi[3] = {rank, rank * 10, rank * 100};
    int* di;
    cudaMalloc(&di, sizeof hi);
    cudaMemcpy(di, hi, sizeof hi, cudaMemcpyHostToDevice);
    int root = n > 1 ? 1 : 0;
    CHECK(ncclBroadcast(di, di, 3, ncclInt, root, comm, 0) == ncclSuccess, "broadcast");
    cudaMemcpy(hi, di, sizeof hi, cudaMemcpyDeviceToHost);
    CHECK(hi[0] == root && hi[1] == root * 10 && hi[2] == root * 100, "rank %d: broadcast got %d %d %d", rank, hi[0], hi[1], hi[2]);

    // a collective on a side stream: right when ordered by events in every mode; without the
    // wait for its input, stale where the legacy stream is deferred; without the consumer's
    // wait for it, stale where the side stream is deferred (every element wrong: 0 was used)
    const char* mv = getenv("CUEMU_STREAMS");
    const std::string mode = mv && *mv ? mv : "defer-side";
    bad = side_stream_allreduce(comm, rank, n, count, true, true);
    CHECK(bad == 0, "rank %d: side-stream allreduce ordered by events: %d wrong", rank, bad);
    bad = side_stream_allreduce(comm, rank, n, count, false, true);
    CHECK(bad == (mode == "defer-default" ? count : 0), "rank %d, %s: allreduce not waiting for its input: %d wrong", rank, mode.c_str(), bad);
    bad = side_stream_allreduce(comm, rank, n, count, true, false);
    CHECK(bad == (mode == "defer-side" ? count : 0), "rank %d, %s: consumer not waiting for the allreduce: %d wrong", rank, mode.c_str(), bad);

    // the async error state: none pending; a NULL communicator or result is refused
    ncclResult_t async = ncclInternalError;
    CHECK(ncclCommGetAsyncError(comm, &async) == ncclSuccess && async == ncclSuccess, "async error state");
    CHECK(ncclCommGetAsyncError(nullptr, &async) == ncclInvalidArgument, "async error of NULL refused");
    CHECK(ncclCommGetAsyncError(comm, nullptr) == ncclInvalidArgument, "async error into NULL refused");
    ncclCommDestroy(comm);
    // abort (what a failing rank does before MPI_Abort): frees a communicator; NULL is a no-op
    ncclComm_t c2;
    CHECK(ncclCommInitRank(&c2, n, id, rank) == ncclSuccess, "second communicator");
    CHECK(ncclCommAbort(c2) == ncclSuccess, "abort");
    CHECK(ncclCommAbort(nullptr) == ncclSuccess, "abort of NULL");
    int failed = g_failed, total_failed = 0;
    MPI_Allreduce(&failed, &total_failed, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    // one summary line, from rank 0, covering every rank
    if (rank == 0) printf("%d passed, %d failed\n", g_passed, total_failed);
    return total_failed ? 1 : 0;
}
