import ReconcileCore
import ReconcileRuntime
import Testing

/// Output captured on real hardware (an H200 with driver 580.159.04, by bench/gpu.sh on
/// 2026-11-30), read the way reconcile reads it on a host: nvidia-smi where reconcile runs
/// beside the engine, the workload image's `gpus --format csv` where it probes a remote one.
@Suite("GPU inventory from real hardware output")
struct HardwareCaptureTests {
    static let nvidiaSMI = "0, GPU-4937afbb-c8ff-75b8-0661-bb64f8ff8a57, 143771 MiB\n"
    static let workloadCSV = "0, GPU-4937afbb-c8ff-75b8-0661-bb64f8ff8a57, 143155 MiB\n"

    @Test("nvidia-smi's listing and the probe's listing give the same device id and UUID")
    func sameDevices() {
        let smi = GPUDiscovery.parse(Self.nvidiaSMI)
        let probe = GPUDiscovery.parse(Self.workloadCSV)
        #expect(smi.map(\.id) == ["0"])
        #expect(smi.map(\.uuid) == ["GPU-4937afbb-c8ff-75b8-0661-bb64f8ff8a57"])
        #expect(probe.map(\.id) == smi.map(\.id))
        #expect(probe.map(\.uuid) == smi.map(\.uuid))
        // The driver API's total leaves out what the driver reserves: 616 MiB less here.
        #expect(smi.first?.memoryBytes == 143_771 << 20)
        #expect(probe.first?.memoryBytes == 143_155 << 20)
    }
}
