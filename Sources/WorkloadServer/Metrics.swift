import Foundation
import Hummingbird
import Prometheus
import Synchronization
import WorkloadCore

/// The server's Prometheus metrics, in one swift-prometheus registry that `/metrics` renders:
/// the model being served, uptime, requests by route and status, requests in flight (what an
/// autoscaler reads), predicted rows and a histogram of forward-pass times.
///
/// A registry of its own rather than the process-wide swift-metrics bootstrap, so tests can
/// run several servers in one process and read each one's figures.
public final class WorkloadMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let uptime: Gauge
    private let inFlight: Gauge
    private let inFlightCount = Mutex(0)
    private let rows: Counter
    private let inference: DurationHistogram
    private let started = ContinuousClock.now

    public init(backend: any InferenceBackend) {
        let m = backend.model.metadata
        registry.makeGauge(
            descriptor: .init(metricName: "reconcile_workload_info", helpText: "The model and device being served."),
            labels: [
                ("model", m.name), ("version", m.version), ("weights_sha256", m.weightsSHA256), ("source", backend.model.source.kind),
                ("device", backend.device.kind),
            ]
        ).set(1.0)
        uptime = registry.makeGauge(descriptor: .init(metricName: "reconcile_workload_uptime_seconds", helpText: "Seconds since the server started."))
        inFlight = registry.makeGauge(
            descriptor: .init(metricName: "reconcile_workload_requests_in_flight", helpText: "Prediction requests being served now."))
        inFlight.set(0.0)
        rows = registry.makeCounter(
            descriptor: .init(metricName: "reconcile_workload_predicted_rows_total", helpText: "Rows run through the model."))
        inference = registry.makeDurationHistogram(
            descriptor: .init(metricName: "reconcile_workload_inference_seconds", helpText: "Time of one batch's forward pass."),
            buckets: [
                .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
            ])
    }

    func recordRequest(route: String, method: String, status: Int) {
        registry.makeCounter(
            descriptor: .init(metricName: "reconcile_workload_http_requests_total", helpText: "HTTP requests by route, method and status."),
            labels: [("route", route), ("method", method), ("status", String(status))]
        ).increment()
    }

    func recordInference(rows count: Int, seconds: Double) {
        rows.increment(by: Int64(count))
        inference.recordNanoseconds(Int64(seconds * 1e9))
    }

    /// One more (or, with -1, one fewer) prediction request in flight.
    func adjustInFlight(by delta: Int) {
        let now = inFlightCount.withLock { count in
            count += delta
            return count
        }
        inFlight.set(Double(now))
    }

    public func render() -> String {
        let elapsed = ContinuousClock.now - started
        uptime.set(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        return registry.emitToString()
    }
}

/// Counts every response, errors included, by the route that matched.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: WorkloadMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let route = ["/healthz", "/info", "/metrics", "/v1/predict"].contains(request.uri.path) ? request.uri.path : "other"
        let predicting = route == "/v1/predict"
        if predicting { metrics.adjustInFlight(by: 1) }
        defer { if predicting { metrics.adjustInFlight(by: -1) } }
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
