import Benchmark
import CanopySim

/// The simulator's budget (DESIGN.md): a 1,000-node scenario in seconds. One iteration is
/// a whole run of 1,000 direct-mode listeners for 30 s of 40 ms chunks; the custom
/// metrics give events per second and resident memory per node.
let benchmarks: @Sendable () -> Void = {
    let text = """
    {"seed": 7, "nodes": 1001, "mode": "direct",
     "topology": {"kind": "clusters", "clusters": 5, "plane_ms": 150, "spread_ms": 15, "access_ms": [1, 10]},
     "upload_kbps": 256, "source_upload_kbps": 100000,
     "stream": {"bitrate_kbps": 64, "chunk_ms": 40, "seconds": 30},
     "join": {"over_s": 10}, "playout_delays_s": [0.25, 0.5, 1, 2, 5]}
    """
    let scenario = try! Scenario.parse(text)
    let eventsPerSecond = BenchmarkMetric.custom("events per second", polarity: .prefersLarger, useScalingFactor: false)
    let bytesPerNode = BenchmarkMetric.custom("peak RSS bytes per node", polarity: .prefersSmaller, useScalingFactor: false)

    Benchmark("direct mode, 1,000 listeners, 30 s",
              configuration: .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .peakMemoryResident,
                                             eventsPerSecond, bytesPerNode],
                                   maxDuration: .seconds(20), maxIterations: 5)) { benchmark in
        for _ in benchmark.scaledIterations {
            let (simulation, report) = try! SimRunner.run(scenario)
            let wall = report["sim"]?["wall_s"].flatMap { if case .number(let n) = $0 { n } else { nil } } ?? 1
            let rss = report["sim"]?["peak_rss_mb"].flatMap { if case .number(let n) = $0 { n } else { nil } } ?? 0
            benchmark.measurement(eventsPerSecond, Int(Double(simulation.eventCount) / wall))
            benchmark.measurement(bytesPerNode, Int(rss * 1_048_576 / Double(scenario.nodes)))
        }
    }
}
