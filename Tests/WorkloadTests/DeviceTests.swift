import Foundation
import Testing
@testable import WorkloadCore

#if canImport(Glibc)
import Glibc
#endif

@Suite("devices")
struct DeviceTests {
    static let hasDriver: Bool = {
        guard let handle = dlopen("libcuda.so.1", RTLD_NOW) else { return false }
        dlclose(handle)
        return true
    }()

    @Test("--device gpu without an NVIDIA driver fails naming libcuda.so.1 and how to get it")
    func gpuWithoutDriver() throws {
        // On a machine with a driver this obligation cannot be observed; the GPU run covers it there.
        guard !Self.hasDriver else { return }
        #expect {
            _ = try DeviceSelection.open(.gpu, model: Fixtures.model, environment: [:])
        } throws: { error in
            guard let e = error as? WorkloadError else { return false }
            return e.code == .gpuUnavailable && e.message.contains("libcuda.so.1 not found") && e.message.contains("--gpus")
        }
    }

    @Test("--device gpu with NVIDIA_VISIBLE_DEVICES=none fails saying no GPU was granted")
    func gpuNotGranted() throws {
        #expect {
            _ = try DeviceSelection.open(.gpu, model: Fixtures.model, environment: ["NVIDIA_VISIBLE_DEVICES": "none"])
        } throws: { error in
            (error as? WorkloadError)?.message.contains("NVIDIA_VISIBLE_DEVICES=none grants no GPU") ?? false
        }
    }

    @Test("--device auto says which device it chose and why")
    func autoExplains() throws {
        let none = try DeviceSelection.open(.auto, model: Fixtures.model, environment: ["NVIDIA_VISIBLE_DEVICES": "void"])
        #expect(none.device.kind == "cpu")
        #expect(none.device.reason.contains("chose the CPU") && none.device.reason.contains("NVIDIA_VISIBLE_DEVICES=void"))
        let probed = try DeviceSelection.open(.auto, model: Fixtures.model, environment: [:])
        #expect(probed.device.reason.contains("--device auto chose the \(probed.device.kind == "gpu" ? "GPU" : "CPU")"))
        if !Self.hasDriver { #expect(probed.device.reason.contains("libcuda.so.1 not found")) }
    }

    @Test("the gpus mode prints an inventory that says why no GPU is usable")
    func gpusMode() throws {
        let out = try runProcess(Repo.product("reconcile-workload"), ["gpus"], environment: ["NVIDIA_VISIBLE_DEVICES": "none"])
        #expect(out.status == 0)
        let inventory = try JSONDecoder().decode(GPUInventory.self, from: Data(out.stdout.utf8))
        #expect(!inventory.available && inventory.gpus.isEmpty)
        #expect(inventory.reason?.contains("grants no GPU") ?? false)
    }

    @Test("the PTX module declares both entry points the backend looks up, for a target every driver accepts")
    func ptxShape() {
        #expect(PTX.module.contains(".visible .entry \(PTX.denseKernelName)("))
        #expect(PTX.module.contains(".visible .entry \(PTX.smallKernelName)("))
        #expect(PTX.module.contains(".version 4.0\n.target sm_50\n.address_size 64"))
    }

    @Test("layers take the large tiles where the H200 measurements found them faster", arguments: [
        // (rows, n, large?) on 132 SMs: the small tiles won at 32 tiles' worth of output, the large at 64.
        (1024, 512, false), (2048, 512, true), (512, 1024, false), (1024, 1024, true), (128, 4096, false), (256, 4096, true),
        (64, 8192, false), (128, 8192, true), (1, 4096, false), (4096, 10, false),
    ])
    func kernelChoice(rows: Int, n: Int, large: Bool) {
        #expect(CUDABackend.Kernels.usesLargeTiles(rows: rows, n: n, multiprocessors: 132) == large)
    }
}
