// Thin products (QuillKernels.h, qk_sgemm_thin): a matrix product with a depth of at most QK_THIN_DEPTH (the input
// projection of a layer whose input is a pen offset, x · W_x with k = 3, over every timestep of a batch) or with at
// most QK_THIN_ROWS rows of C (its weight gradient xᵀ · dG, m = 3, summed over every timestep). BLAS libraries cut
// such products into blocks and pack them like square ones and run at a few percent of the FMA peak
// (`quill bench handwriting --profile`: 9.6 and 13.6 ms a step through OpenBLAS for these two); both are one pass
// over the large operand, so here they are one pass: for a thin depth each row of C reads the k rows of B once
// (with the bias added in the same pass), for thin rows each block of 64 (or 32) columns keeps its m × 4 vector
// sums in registers over the whole depth. Split over the kernel threads by rows or column blocks; AVX-512 or AVX2 by
// qk_level(); elsewhere the caller's BLAS runs them.
#include "QuillKernels.h"

#include <stddef.h>

#define QK_THIN_DEPTH 8
#define QK_THIN_ROWS 4

typedef struct {
    int transA, m, n, k;
    float alpha, beta;
    const float *A, *B, *bias;
    int lda, ldb, ldc;
    float *C;
} thin_args;

#if defined(__x86_64__)

#include "vector_math.h"

#define QK_W 16
#include "simd_width.h"
#include "thin_product_body.h"
#include "simd_width_end.h"

#define QK_W 8
#include "simd_width.h"
#include "thin_product_body.h"
#include "simd_width_end.h"

#endif

int qk_sgemm_thin(int transA, int m, int n, int k, float alpha, const float *A, int lda, const float *B, int ldb,
                  const float *bias, float beta, float *C, int ldc) {
#if defined(__x86_64__)
    const int level = qk_level();
    if (level < 2 || m <= 0 || n <= 0 || k <= 0) return 0;
    thin_args g = { .transA = transA, .m = m, .n = n, .k = k, .alpha = alpha, .beta = beta, .A = A, .B = B,
                    .bias = bias, .lda = lda, .ldb = ldb, .ldc = ldc, .C = C };
    if (k <= QK_THIN_DEPTH) {
        // At least 64 rows a thread: below that the pool's start costs more than the rows.
        qk_parallel_ranges(m, 64, level == 3 ? thin_depth_rows_avx512 : thin_depth_rows_avx2, &g);
        return 1;
    }
    if (m <= QK_THIN_ROWS && bias == NULL) {
        // Threads only where each gets at least 2¹⁸ elements of B (a quarter of a millisecond or so): below that
        // starting the pool costs more than it saves (a 3 × 1600 × 40 product: 6 µs on one thread, 0.3 ms on two).
        const int width = 4 * (level == 3 ? 16 : 8), blocks = (n + width - 1) / width;
        const long perBlock = (long)k * width, minimum = perBlock >= (1L << 18) ? 1 : (int)((1L << 18) / perBlock);
        qk_parallel_ranges(blocks, (int)minimum, level == 3 ? thin_rows_blocks_avx512 : thin_rows_blocks_avx2, &g);
        return 1;
    }
#else
    (void)transA; (void)m; (void)n; (void)k; (void)alpha; (void)A; (void)lda; (void)B; (void)ldb; (void)bias;
    (void)beta; (void)C; (void)ldc;
#endif
    return 0;
}
