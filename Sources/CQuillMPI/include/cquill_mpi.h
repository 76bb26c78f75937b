#ifndef CQUILL_MPI_H
#define CQUILL_MPI_H
#include <stddef.h>

/// Open MPI, loaded at run time with dlopen (libmpi.so.40, then libmpi.so): a quill built without MPI headers or
/// libraries runs alone anywhere, and joins an MPI job when started by mpirun or srun. Only these calls are used;
/// every one acts on MPI_COMM_WORLD. Open MPI's predefined handles are the addresses of exported symbols
/// (ompi_mpi_comm_world, ompi_mpi_float, ompi_mpi_double, ompi_mpi_byte, ompi_mpi_op_sum), read with dlsym.

/// The world size announced by the launcher (OMPI_COMM_WORLD_SIZE from mpirun, PMI_SIZE or PMIX_SIZE from srun);
/// 0 when the process was not started by one.
int quill_mpi_launcher_size(void);

/// Loads Open MPI and calls MPI_Init_thread (MPI_THREAD_FUNNELED: only the main thread calls MPI). Returns 0 on
/// success, -1 with a one-line reason in `error` (library or symbol missing, init failed).
int quill_mpi_init(char *error, size_t errorLength);

/// MPI_Comm_rank / MPI_Comm_size of MPI_COMM_WORLD; rank 0 and size 1 before quill_mpi_init.
int quill_mpi_rank(void);
int quill_mpi_size(void);

/// In-place MPI_Allreduce with MPI_SUM over `count` values (split into calls of at most INT_MAX). Returns the MPI
/// error code (0 is success).
int quill_mpi_allreduce_sum_float(float *buffer, size_t count);
int quill_mpi_allreduce_sum_double(double *buffer, size_t count);

/// In-place MPI_Iallreduce with MPI_SUM over `count` floats (count ≤ INT_MAX): starts the sum and returns at once;
/// `request` receives the handle for quill_mpi_wait. Returns the MPI error code.
int quill_mpi_iallreduce_sum_float(float *buffer, int count, void **request);
/// MPI_Wait on a request from quill_mpi_iallreduce_sum_float. Returns the MPI error code.
int quill_mpi_wait(void **request);
/// MPI_Test on a request from quill_mpi_iallreduce_sum_float: lets MPI move the operation on (Open MPI progresses
/// nonblocking collectives only inside MPI calls) and sets `done` to 1 when it has completed (the request is then
/// freed and set to NULL), else 0. Returns the MPI error code.
int quill_mpi_test(void **request, int *done);

/// MPI_Bcast of `count` bytes from rank `root`. Returns the MPI error code.
int quill_mpi_bcast_bytes(void *buffer, int count, int root);

/// MPI_Abort(MPI_COMM_WORLD, code): ends every rank of the job.
void quill_mpi_abort(int code);

/// MPI_Finalize. Returns the MPI error code.
int quill_mpi_finalize(void);

#endif
