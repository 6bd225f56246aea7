import Foundation
import Hummingbird
import Synchronization
import WorkloadCore

/// Counters and a latency histogram, rendered in the Prometheus text format at
/// `/metrics`. Kept here rather than through swift-metrics: a handful of series,
/// no exporter dependency.
public final class WorkloadMetrics: Sendable {
    struct State {
        var requests: [String: Int] = [:]
        var rows = 0
        var inferences = 0
        var buckets = [Int](repeating: 0, count: WorkloadMetrics.bounds.count)
        var secondsTotal = 0.0
    }

    static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
    private let state = Mutex(State())
    private let info: String
    private let started = Date()

    public init(backend: any InferenceBackend) {
        let m = backend.model.metadata
        func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        info = "model=\(quoted(m.name)),version=\(quoted(m.version)),weights_sha256=\(quoted(m.weightsSHA256)),source=\(quoted(backend.model.source.kind)),device=\(quoted(backend.device.kind))"
    }

    func recordRequest(route: String, method: String, status: Int) {
        state.withLock { $0.requests["route=\"\(route)\",method=\"\(method)\",status=\"\(status)\"", default: 0] += 1 }
    }

    func recordInference(rows: Int, seconds: Double) {
        state.withLock { s in
            s.rows += rows
            s.inferences += 1
            s.secondsTotal += seconds
            for (i, bound) in Self.bounds.enumerated() where seconds <= bound { s.buckets[i] += 1 }
        }
    }

    public func render() -> String {
        let s = state.withLock { $0 }
        var out = """
            # HELP reconcile_workload_info The model and device being served.
            # TYPE reconcile_workload_info gauge
            reconcile_workload_info{\(info)} 1
            # HELP reconcile_workload_uptime_seconds Seconds since the server started.
            # TYPE reconcile_workload_uptime_seconds gauge
            reconcile_workload_uptime_seconds \(Date().timeIntervalSince(started))
            # HELP reconcile_workload_http_requests_total HTTP requests by route, method and status.
            # TYPE reconcile_workload_http_requests_total counter

            """
        for key in s.requests.keys.sorted() { out += "reconcile_workload_http_requests_total{\(key)} \(s.requests[key] ?? 0)\n" }
        out += """
            # HELP reconcile_workload_predicted_rows_total Rows run through the model.
            # TYPE reconcile_workload_predicted_rows_total counter
            reconcile_workload_predicted_rows_total \(s.rows)
            # HELP reconcile_workload_inference_seconds Time of one batch's forward pass.
            # TYPE reconcile_workload_inference_seconds histogram

            """
        for (i, bound) in Self.bounds.enumerated() { out += "reconcile_workload_inference_seconds_bucket{le=\"\(bound)\"} \(s.buckets[i])\n" }
        out += "reconcile_workload_inference_seconds_bucket{le=\"+Inf\"} \(s.inferences)\n"
        out += "reconcile_workload_inference_seconds_sum \(s.secondsTotal)\n"
        out += "reconcile_workload_inference_seconds_count \(s.inferences)\n"
        return out
    }
}

/// Counts every response, errors included, by the route that matched.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: WorkloadMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let route = ["/healthz", "/info", "/metrics", "/v1/predict"].contains(request.uri.path) ? request.uri.path : "other"
        do {
            let response = try await next(request, context)
            metrics.recordRequest(route: route, method: request.method.rawValue, status: Int(response.status.code))
            return response
        } catch let error as HTTPResponseError {
            metrics.recordRequest(route: route, method: request.method.rawValue, status: Int(error.status.code))
            throw error
        } catch {
            metrics.recordRequest(route: route, method: request.method.rawValue, status: 500)
            throw error
        }
    }
}
