// The workload's GPU kernels, in CUDA C. PTX.swift embeds the PTX that
// scripts/gen-ptx makes of this file with clang (no CUDA toolkit needed):
//
//     scripts/gen-ptx            regenerate Sources/WorkloadCore/PTX.swift
//     scripts/gen-ptx --check    fail if PTX.swift is not what this file gives
//
// Both kernels compute C[M×N] = act(A[M×K] · B[K×N] + bias[N]), all row-major
// float32, act = ReLU when relu != 0, else identity. The driver compiles the PTX for
// whatever GPU it finds (sm_50 and newer), so the image needs no CUDA toolkit.

typedef float float4v __attribute__((ext_vector_type(4)));

#ifndef RECONCILE_KERNEL_HOST_TEST  // Tests/Kernels/emulate.cpp runs these on the CPU instead.
#define DEVICE __attribute__((device))
#define GLOBAL extern "C" __attribute__((global))
#define SHARED __attribute__((shared))
#define LAUNCH_BOUNDS(n) __attribute__((launch_bounds(n)))

DEVICE static inline unsigned tid_x() { return __nvvm_read_ptx_sreg_tid_x(); }
DEVICE static inline unsigned tid_y() { return __nvvm_read_ptx_sreg_tid_y(); }
DEVICE static inline unsigned ctaid_x() { return __nvvm_read_ptx_sreg_ctaid_x(); }
DEVICE static inline unsigned ctaid_y() { return __nvvm_read_ptx_sreg_ctaid_y(); }
DEVICE static inline void sync_threads() { __syncthreads(); }
#endif

DEVICE static inline float finish(float acc, const float *bias, unsigned col, unsigned relu) {
    float v = acc + bias[col];
    return relu && v < 0.0f ? 0.0f : v;
}

// reconcile_dense_small: a 16×16 thread block computes a 16×16 tile of C, staging
// 16×16 tiles of A and B through shared memory. Used for small outputs, where the
// large tiles below would leave most of the GPU idle (CUDA.swift, usesLargeTiles).
#define S 16
GLOBAL void LAUNCH_BOUNDS(256) reconcile_dense_small(
    const float *__restrict__ A, const float *__restrict__ B, const float *__restrict__ bias,
    float *__restrict__ C, unsigned M, unsigned N, unsigned K, unsigned relu) {
    SHARED static float As[S][S];
    SHARED static float Bs[S][S];
    const unsigned tx = tid_x(), ty = tid_y();
    const unsigned col = ctaid_x() * S + tx, row = ctaid_y() * S + ty;
    float acc = 0.0f;
    for (unsigned t = 0; t < K; t += S) {
        As[ty][tx] = (row < M && t + tx < K) ? A[(unsigned long)row * K + t + tx] : 0.0f;
        Bs[ty][tx] = (t + ty < K && col < N) ? B[(unsigned long)(t + ty) * N + col] : 0.0f;
        sync_threads();
#pragma unroll
        for (unsigned i = 0; i < S; i++) acc = __builtin_fmaf(As[ty][i], Bs[i][tx], acc);
        sync_threads();
    }
    if (row < M && col < N) C[(unsigned long)row * N + col] = finish(acc, bias, col, relu);
}

// reconcile_dense: 256 threads compute a 128×128 tile of C, 8×8 values each, held in
// registers; each step stages a 128×8 slice of A (transposed) and an 8×128 slice of B
// in shared memory. A thread's 8 rows are two groups of 4, 64 apart, and so are its 8
// columns, so a warp's shared-memory reads are whole float4s without bank conflicts.
#define BM 128
#define BN 128
#define BK 8
GLOBAL void LAUNCH_BOUNDS(256) reconcile_dense(
    const float *__restrict__ A, const float *__restrict__ B, const float *__restrict__ bias,
    float *__restrict__ C, unsigned M, unsigned N, unsigned K, unsigned relu) {
    SHARED static float4v As[BK][BM / 4];
    SHARED static float4v Bs[BK][BN / 4];
    const unsigned tid = tid_x();
    const unsigned rowBase = ctaid_y() * BM, colBase = ctaid_x() * BN;
    const unsigned tr = tid / 16, tc = tid % 16;  // this thread's float4 groups: tr, tr+16 / tc, tc+16
    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; i++)
#pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j] = 0.0f;

    float *as = (float *)As, *bs = (float *)Bs;
    for (unsigned k0 = 0; k0 < K; k0 += BK) {
#pragma unroll
        for (unsigned l = 0; l < 4; l++) {
            // A: element i of the 128×8 slice is row i/8, column i%8; stored transposed.
            const unsigned i = tid + l * 256, r = i / BK, c = i % BK;
            const unsigned gr = rowBase + r, gc = k0 + c;
            as[c * BM + r] = (gr < M && gc < K) ? A[(unsigned long)gr * K + gc] : 0.0f;
            // B: element i of the 8×128 slice is row i/128, column i%128.
            const unsigned br = i / BN, bc = i % BN;
            const unsigned gbr = k0 + br, gbc = colBase + bc;
            bs[br * BN + bc] = (gbr < K && gbc < N) ? B[(unsigned long)gbr * N + gbc] : 0.0f;
        }
        sync_threads();
#pragma unroll
        for (unsigned k = 0; k < BK; k++) {
            const float4v a0 = As[k][tr], a1 = As[k][tr + 16];
            const float4v b0 = Bs[k][tc], b1 = Bs[k][tc + 16];
            const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
            const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
            for (int i = 0; i < 8; i++)
#pragma unroll
                for (int j = 0; j < 8; j++) acc[i][j] = __builtin_fmaf(a[i], b[j], acc[i][j]);
        }
        sync_threads();
    }
#pragma unroll
    for (int i = 0; i < 8; i++) {
        const unsigned row = rowBase + (i < 4 ? tr * 4 + i : 64 + tr * 4 + i - 4);
        if (row >= M) continue;
#pragma unroll
        for (int j = 0; j < 8; j++) {
            const unsigned col = colBase + (j < 4 ? tc * 4 + j : 64 + tc * 4 + j - 4);
            if (col < N) C[(unsigned long)row * N + col] = finish(acc[i][j], bias, col, relu);
        }
    }
}
