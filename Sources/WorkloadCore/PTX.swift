/// The GPU kernel, as PTX text for the driver's JIT compiler.
///
/// `dense(A, B, bias, C, M, N, K, relu)`: C[M×N] = act(A[M×K] · B[K×N] + bias[N]), all
/// row-major float32. A 16×16 thread block computes a 16×16 tile of C, staging 16×16
/// tiles of A and B through shared memory. Equivalent CUDA C:
///
///     __shared__ float As[16][16], Bs[16][16];
///     int col = blockIdx.x*16 + threadIdx.x, row = blockIdx.y*16 + threadIdx.y;
///     float acc = 0;
///     for (int t = 0; t < K; t += 16) {
///         As[ty][tx] = (row < M && t+tx < K) ? A[row*K + t+tx] : 0;
///         Bs[ty][tx] = (t+ty < K && col < N) ? B[(t+ty)*N + col] : 0;
///         __syncthreads();
///         for (int i = 0; i < 16; i++) acc = fmaf(As[ty][i], Bs[i][tx], acc);
///         __syncthreads();
///     }
///     if (row < M && col < N) { acc += bias[col]; C[row*N + col] = relu ? fmaxf(acc, 0) : acc; }
///
/// Written for PTX ISA 6.0 / sm_50 so every driver since CUDA 9 can load it; the
/// driver compiles it for the GPU it has (Hopper included).
enum PTX {
    static let tile = 16
    static let denseKernelName = "reconcile_dense"

    static let denseKernel = """
    .version 6.0
    .target sm_50
    .address_size 64

    .visible .entry reconcile_dense(
        .param .u64 pA,
        .param .u64 pB,
        .param .u64 pBias,
        .param .u64 pC,
        .param .u32 pM,
        .param .u32 pN,
        .param .u32 pK,
        .param .u32 pRelu
    )
    {
        .shared .align 4 .b8 tileA[1024];
        .shared .align 4 .b8 tileB[1024];
        .reg .pred %p<10>;
        .reg .b32 %r<32>;
        .reg .f32 %f<8>;
        .reg .b64 %rd<16>;

        ld.param.u64 %rd1, [pA];
        ld.param.u64 %rd2, [pB];
        ld.param.u64 %rd3, [pBias];
        ld.param.u64 %rd4, [pC];
        cvta.to.global.u64 %rd1, %rd1;
        cvta.to.global.u64 %rd2, %rd2;
        cvta.to.global.u64 %rd3, %rd3;
        cvta.to.global.u64 %rd4, %rd4;
        ld.param.u32 %r1, [pM];
        ld.param.u32 %r2, [pN];
        ld.param.u32 %r3, [pK];
        ld.param.u32 %r4, [pRelu];

        mov.u32 %r5, %tid.x;
        mov.u32 %r6, %tid.y;
        mov.u32 %r7, %ctaid.x;
        mov.u32 %r8, %ctaid.y;
        mad.lo.u32 %r9, %r7, 16, %r5;
        mad.lo.u32 %r10, %r8, 16, %r6;

        mov.u32 %r11, tileA;
        mov.u32 %r12, tileB;
        mad.lo.u32 %r13, %r6, 16, %r5;
        shl.b32 %r13, %r13, 2;
        add.u32 %r14, %r11, %r13;
        add.u32 %r15, %r12, %r13;
        shl.b32 %r16, %r6, 6;
        add.u32 %r16, %r11, %r16;
        shl.b32 %r17, %r5, 2;
        add.u32 %r17, %r12, %r17;

        mov.f32 %f1, 0f00000000;
        mov.u32 %r18, 0;
        setp.lt.u32 %p8, %r10, %r1;
        setp.lt.u32 %p9, %r9, %r2;

    $L_tiles:
        setp.ge.u32 %p1, %r18, %r3;
        @%p1 bra $L_done;

        add.u32 %r19, %r18, %r5;
        setp.lt.u32 %p2, %r19, %r3;
        and.pred %p2, %p2, %p8;
        mov.f32 %f2, 0f00000000;
        mad.lo.u32 %r20, %r10, %r3, %r19;
        mul.wide.u32 %rd5, %r20, 4;
        add.s64 %rd6, %rd1, %rd5;
        @%p2 ld.global.f32 %f2, [%rd6];
        st.shared.f32 [%r14], %f2;

        add.u32 %r21, %r18, %r6;
        setp.lt.u32 %p3, %r21, %r3;
        and.pred %p3, %p3, %p9;
        mov.f32 %f3, 0f00000000;
        mad.lo.u32 %r22, %r21, %r2, %r9;
        mul.wide.u32 %rd7, %r22, 4;
        add.s64 %rd8, %rd2, %rd7;
        @%p3 ld.global.f32 %f3, [%rd8];
        st.shared.f32 [%r15], %f3;

        bar.sync 0;

        mov.u32 %r23, 0;
    $L_inner:
        shl.b32 %r24, %r23, 2;
        add.u32 %r25, %r16, %r24;
        ld.shared.f32 %f4, [%r25];
        shl.b32 %r26, %r23, 6;
        add.u32 %r27, %r17, %r26;
        ld.shared.f32 %f5, [%r27];
        fma.rn.f32 %f1, %f4, %f5, %f1;
        add.u32 %r23, %r23, 1;
        setp.lt.u32 %p4, %r23, 16;
        @%p4 bra $L_inner;

        bar.sync 0;
        add.u32 %r18, %r18, 16;
        bra $L_tiles;

    $L_done:
        and.pred %p5, %p8, %p9;
        @!%p5 bra $L_exit;
        mul.wide.u32 %rd9, %r9, 4;
        add.s64 %rd10, %rd3, %rd9;
        ld.global.f32 %f6, [%rd10];
        add.f32 %f1, %f1, %f6;
        setp.ne.u32 %p6, %r4, 0;
        @%p6 max.f32 %f1, %f1, 0f00000000;
        mad.lo.u32 %r28, %r10, %r2, %r9;
        mul.wide.u32 %rd11, %r28, 4;
        add.s64 %rd12, %rd4, %rd11;
        st.global.f32 [%rd12], %f1;

    $L_exit:
        ret;
    }
    """
}
