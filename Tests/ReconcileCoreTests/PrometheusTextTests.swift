import ReconcileCore
import Testing

@Suite("Prometheus text exposition and the autoscaler's readings")
struct PrometheusTextTests {
    static let page = """
        # HELP inference_requests_in_flight Requests being served.
        # TYPE inference_requests_in_flight gauge
        inference_requests_in_flight{model="digits"} 3
        inference_requests_in_flight{model="other",note="a \\"quoted\\" , brace}"} 2
        # TYPE http_requests_total counter
        http_requests_total{route="/v1/predict",status="200"} 100
        http_requests_total{route="/healthz",status="200"} 20 1700000000000
        # TYPE latency_seconds histogram
        latency_seconds_bucket{le="0.1"} 50
        latency_seconds_bucket{le="0.5"} 90
        latency_seconds_bucket{le="+Inf"} 100
        latency_seconds_sum 12
        latency_seconds_count 100
        # TYPE rpc_seconds summary
        rpc_seconds{quantile="0.5"} 0.02
        rpc_seconds{quantile="0.99"} 0.3
        """

    @Test("samples, labels with escapes and commas, timestamps and TYPE lines are read")
    func parse() {
        let exposition = PrometheusText.parse(Self.page)
        #expect(exposition.types["latency_seconds"] == "histogram")
        #expect(exposition.samples.count == 11)
        let quoted = exposition.samples.first { $0.labels["model"] == "other" }
        #expect(quoted?.labels["note"] == "a \"quoted\" , brace}")
        #expect(quoted?.value == 2)
        #expect(exposition.samples.first { $0.labels["route"] == "/healthz" }?.value == 20)
        #expect(exposition.samples.first { $0.labels["le"] == "+Inf" }?.value == 100)
    }

    @Test("a gauge reads as the sum over its label sets")
    func gauge() {
        var reader = MetricReader(name: "inference_requests_in_flight", quantile: nil)
        #expect(reader.read(PrometheusText.parse(Self.page), at: 0) == .success(5))
    }

    @Test("a counter reads as its rate between two scrapes; a counter that went down restarted")
    func counterRate() {
        var reader = MetricReader(name: "http_requests_total", quantile: nil)
        #expect(reader.read(PrometheusText.parse(Self.page), at: 0) == .failure(.firstScrape))
        let later = Self.page.replacingOccurrences(of: "status=\"200\"} 100", with: "status=\"200\"} 250")
        #expect(reader.read(PrometheusText.parse(later), at: 10) == .success(15))
        let restarted = "# TYPE http_requests_total counter\nhttp_requests_total 30\n"
        #expect(reader.read(PrometheusText.parse(restarted), at: 20) == .success(3))
    }

    @Test("a histogram reads as its quantile over the observations since the previous scrape")
    func histogram() {
        var reader = MetricReader(name: "latency_seconds", quantile: 0.9)
        // First scrape: all observations so far; 90 of 100 are at or below 0.5.
        #expect(reader.read(PrometheusText.parse(Self.page), at: 0) == .success(0.5))
        // Since then 100 more, all slow (between 0.5 and +Inf): the window's p90 is past 0.5.
        let later = Self.page.replacingOccurrences(of: "le=\"+Inf\"} 100", with: "le=\"+Inf\"} 200")
        #expect(reader.read(PrometheusText.parse(later), at: 15) == .success(0.5))
        var noQuantile = MetricReader(name: "latency_seconds", quantile: nil)
        #expect(noQuantile.read(PrometheusText.parse(Self.page), at: 0) == .failure(.needsQuantile("latency_seconds")))
        #expect(MetricReader.histogramQuantile(0.5, [0.1: 50, 0.5: 90, .infinity: 100]) == 0.1)
        #expect(abs(MetricReader.histogramQuantile(0.7, [0.1: 50, 0.5: 90, .infinity: 100]) - 0.3) < 1e-9)
        #expect(MetricReader.histogramQuantile(0.9, [0.1: 0, .infinity: 0]) == 0)
    }

    @Test("a summary reads as its reported quantile; an absent metric says so")
    func summaryAndAbsent() {
        var summary = MetricReader(name: "rpc_seconds", quantile: 0.99)
        #expect(summary.read(PrometheusText.parse(Self.page), at: 0) == .success(0.3))
        var absent = MetricReader(name: "queue_depth", quantile: nil)
        #expect(absent.read(PrometheusText.parse(Self.page), at: 0) == .failure(.absent("queue_depth")))
    }
}
