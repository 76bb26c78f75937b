// Open MPI through dlopen/dlsym: see include/cquill_mpi.h. The types below are Open MPI's ABI (mpi.h of Open MPI
// 4 and 5, libmpi.so.40): every handle is a pointer, MPI_IN_PLACE is (void *)1, MPI_THREAD_FUNNELED is 1.
#include "cquill_mpi.h"
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void *Handle;  // MPI_Comm, MPI_Datatype, MPI_Op, MPI_Request: pointers to Open MPI structs
#define QUILL_MPI_IN_PLACE ((void *)1)
#define QUILL_MPI_THREAD_FUNNELED 1

static struct {
    int loaded;
    int (*init_thread)(int *, char ***, int, int *);
    int (*comm_rank)(Handle, int *);
    int (*comm_size)(Handle, int *);
    int (*allreduce)(const void *, void *, int, Handle, Handle, Handle);
    int (*iallreduce)(const void *, void *, int, Handle, Handle, Handle, Handle *);
    int (*wait)(Handle *, void *);
    int (*test)(Handle *, int *, void *);
    int (*bcast)(void *, int, Handle, int, Handle);
    int (*abort)(Handle, int);
    int (*finalize)(void);
    Handle world, floatType, doubleType, byteType, sum;
} mpi;

int quill_mpi_launcher_size(void) {
    const char *names[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = getenv(names[i]);
        if (v && *v) return atoi(v);
    }
    return 0;
}

int quill_mpi_init(char *error, size_t errorLength) {
    void *lib = dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL);  // GLOBAL: Open MPI's plugins resolve against it
    if (!lib) lib = dlopen("libmpi.so", RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
        snprintf(error, errorLength, "started by mpirun/srun, but Open MPI's library (libmpi.so.40) could not be loaded (%s); "
                 "install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi3)", dlerror());
        return -1;
    }
    struct { const char *name; void **slot; } symbols[] = {
        {"MPI_Init_thread", (void **)&mpi.init_thread}, {"MPI_Comm_rank", (void **)&mpi.comm_rank},
        {"MPI_Comm_size", (void **)&mpi.comm_size}, {"MPI_Allreduce", (void **)&mpi.allreduce},
        {"MPI_Iallreduce", (void **)&mpi.iallreduce}, {"MPI_Wait", (void **)&mpi.wait},
        {"MPI_Test", (void **)&mpi.test},
        {"MPI_Bcast", (void **)&mpi.bcast}, {"MPI_Abort", (void **)&mpi.abort},
        {"MPI_Finalize", (void **)&mpi.finalize}, {"ompi_mpi_comm_world", &mpi.world},
        {"ompi_mpi_float", &mpi.floatType}, {"ompi_mpi_double", &mpi.doubleType},
        {"ompi_mpi_byte", &mpi.byteType}, {"ompi_mpi_op_sum", &mpi.sum},
    };
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        *symbols[i].slot = dlsym(lib, symbols[i].name);
        if (!*symbols[i].slot) {
            snprintf(error, errorLength, "the MPI library loaded lacks %s: quill supports Open MPI only; start it "
                     "with Open MPI's mpirun", symbols[i].name);
            return -1;
        }
    }
    int provided = 0;
    int rc = mpi.init_thread(NULL, NULL, QUILL_MPI_THREAD_FUNNELED, &provided);
    if (rc != 0) {
        snprintf(error, errorLength, "MPI_Init_thread failed with MPI error %d", rc);
        return -1;
    }
    mpi.loaded = 1;
    return 0;
}

int quill_mpi_rank(void) {
    int r = 0;
    if (mpi.loaded) mpi.comm_rank(mpi.world, &r);
    return r;
}

int quill_mpi_size(void) {
    int s = 1;
    if (mpi.loaded) mpi.comm_size(mpi.world, &s);
    return s;
}

static int allreduce_sum(void *buffer, size_t count, size_t width, Handle type) {
    if (!mpi.loaded) return 0;
    char *p = buffer;
    while (count > 0) {
        int n = count > INT_MAX ? INT_MAX : (int)count;
        int rc = mpi.allreduce(QUILL_MPI_IN_PLACE, p, n, type, mpi.sum, mpi.world);
        if (rc != 0) return rc;
        p += (size_t)n * width;
        count -= (size_t)n;
    }
    return 0;
}

int quill_mpi_allreduce_sum_float(float *buffer, size_t count) {
    return allreduce_sum(buffer, count, sizeof(float), mpi.floatType);
}

int quill_mpi_allreduce_sum_double(double *buffer, size_t count) {
    return allreduce_sum(buffer, count, sizeof(double), mpi.doubleType);
}

int quill_mpi_iallreduce_sum_float(float *buffer, int count, void **request) {
    if (!mpi.loaded) { *request = NULL; return 0; }
    return mpi.iallreduce(QUILL_MPI_IN_PLACE, buffer, count, mpi.floatType, mpi.sum, mpi.world, request);
}

int quill_mpi_wait(void **request) {
    if (!mpi.loaded || !*request) return 0;
    int rc = mpi.wait(request, NULL);  // NULL is MPI_STATUS_IGNORE in Open MPI
    if (rc == 0) *request = NULL;
    return rc;
}

int quill_mpi_test(void **request, int *done) {
    if (!mpi.loaded || !*request) { *done = 1; return 0; }
    *done = 0;
    int rc = mpi.test(request, done, NULL);  // NULL is MPI_STATUS_IGNORE in Open MPI
    // Open MPI sets a completed request to MPI_REQUEST_NULL (the address of ompi_request_null), not NULL.
    if (rc == 0 && *done) *request = NULL;
    return rc;
}

int quill_mpi_bcast_bytes(void *buffer, int count, int root) {
    if (!mpi.loaded) return 0;
    return mpi.bcast(buffer, count, mpi.byteType, root, mpi.world);
}

void quill_mpi_abort(int code) {
    if (mpi.loaded) mpi.abort(mpi.world, code);
    exit(code);
}

int quill_mpi_finalize(void) {
    if (!mpi.loaded) return 0;
    mpi.loaded = 0;
    return mpi.finalize();
}
