// Runs the GPU kernels of Sources/WorkloadCore/Kernels/dense.cu on the CPU, one
// std::thread per GPU thread and a barrier for __syncthreads, and checks them against
// a plain triple loop on shapes that are not multiples of the tiles. No GPU needed:
// this is what catches an indexing slip before the kernel meets a driver.
//
//     scripts/gen-ptx --check     (builds and runs this with clang)
#include <barrier>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <thread>
#include <vector>

#define RECONCILE_KERNEL_HOST_TEST 1
#define DEVICE
#define GLOBAL
#define SHARED
#define LAUNCH_BOUNDS(n)
#define __restrict__

static thread_local unsigned g_tid_x, g_tid_y;
static unsigned g_ctaid_x, g_ctaid_y;
static std::barrier<> *g_barrier;
static unsigned tid_x() { return g_tid_x; }
static unsigned tid_y() { return g_tid_y; }
static unsigned ctaid_x() { return g_ctaid_x; }
static unsigned ctaid_y() { return g_ctaid_y; }
static void sync_threads() { g_barrier->arrive_and_wait(); }

#include "../../Sources/WorkloadCore/Kernels/dense.cu"

using Kernel = void (*)(const float *, const float *, const float *, float *, unsigned, unsigned, unsigned, unsigned);

// Blocks one after another (they share the kernels' static shared arrays), the
// threads of a block at once.
static void launch(Kernel kernel, unsigned gx, unsigned gy, unsigned bx, unsigned by, const float *a, const float *b,
                   const float *bias, float *c, unsigned m, unsigned n, unsigned k, unsigned relu) {
    for (unsigned y = 0; y < gy; y++)
        for (unsigned x = 0; x < gx; x++) {
            g_ctaid_x = x;
            g_ctaid_y = y;
            std::barrier<> barrier(bx * by);
            g_barrier = &barrier;
            std::vector<std::thread> threads;
            for (unsigned ty = 0; ty < by; ty++)
                for (unsigned tx = 0; tx < bx; tx++)
                    threads.emplace_back([=] {
                        g_tid_x = tx;
                        g_tid_y = ty;
                        kernel(a, b, bias, c, m, n, k, relu);
                    });
            for (auto &t : threads) t.join();
        }
}

static int check(const char *name, bool large, unsigned m, unsigned n, unsigned k, unsigned relu) {
    std::vector<float> a(m * k), b(k * n), bias(n), c(m * n, NAN), ref(m * n);
    unsigned seed = 12345 + m * 7 + n * 13 + k;
    auto next = [&] { seed = seed * 1103515245u + 12345u; return ((seed >> 8) & 0xffff) / 32768.0f - 1.0f; };
    for (auto &v : a) v = next();
    for (auto &v : b) v = next();
    for (auto &v : bias) v = next();
    for (unsigned r = 0; r < m; r++)
        for (unsigned j = 0; j < n; j++) {
            double s = bias[j];
            for (unsigned i = 0; i < k; i++) s += (double)a[r * k + i] * b[i * n + j];
            ref[r * n + j] = relu && s < 0 ? 0 : (float)s;
        }
    if (large)
        launch(reconcile_dense, (n + 127) / 128, (m + 127) / 128, 256, 1, a.data(), b.data(), bias.data(), c.data(), m, n, k, relu);
    else
        launch(reconcile_dense_small, (n + 15) / 16, (m + 15) / 16, 16, 16, a.data(), b.data(), bias.data(), c.data(), m, n, k, relu);
    double worst = 0;
    for (unsigned i = 0; i < m * n; i++) {
        double e = std::fabs(c[i] - ref[i]) / std::fmax(1.0, std::fabs(ref[i]));
        if (!(e <= worst)) worst = std::isnan(e) ? INFINITY : std::fmax(worst, e);
    }
    bool ok = worst < 1e-4;
    std::printf("%-22s M=%-4u N=%-4u K=%-4u relu=%u  max rel error %.2e  %s\n", name, m, n, k, relu, worst, ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}

int main() {
    int failures = 0;
    const unsigned shapes[][3] = {{1, 10, 64}, {17, 33, 9}, {130, 129, 70}, {256, 256, 256}, {5, 300, 19}};
    for (auto &s : shapes)
        for (unsigned relu = 0; relu < 2; relu++) {
            failures += check("reconcile_dense", true, s[0], s[1], s[2], relu);
            failures += check("reconcile_dense_small", false, s[0], s[1], s[2], relu);
        }
    std::printf("%s\n", failures ? "FAILED" : "all kernels match the reference");
    return failures ? 1 : 0;
}
