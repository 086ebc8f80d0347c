import CanopyCore
import CanopyMesh
import CanopyNet
import CanopySim
import Foundation

/// `canopy bench push-vs-pull --real`: the comparison's plan (same scenario, same draw of
/// uploads, joins and crashes for every mode) run on loopback UDP, one mode after the
/// other, and reported through the same table and plots as the simulated bench.
enum RealPushVsPull {
    static let maxNodes = 101

    static func run(_ bench: PushVsPull, progress: @escaping @Sendable (String, Double, Double) -> Void,
                    finished: (String, JSONValue) -> Void) async throws -> PushVsPull.Result {
        let (scenario, failures, variants) = bench.plan
        let draw = try LoopbackDraw(scenario: scenario)
        var runs: [PushVsPull.Run] = []
        for (name, variant) in variants {
            let mode = try CLI.mode(variant.mode)
            let plan = LoopbackBench.Plan(
                mode: mode, scheduler: try scheduler(of: variant), uploadKbps: draw.uploadKbps,
                controlFloorKbps: scenario.controlFloorKbps, joinSeconds: draw.joinSeconds,
                bootstrap: mode == .mesh ? draw.peerBootstrap : Array(repeating: 0, count: draw.joinSeconds.count),
                joinOverSeconds: scenario.joinOverSeconds, streamSeconds: scenario.stream.seconds,
                bitrateKbps: scenario.stream.bitrateKbps, chunkMilliseconds: scenario.stream.chunkMilliseconds,
                crashes: draw.crashes)
            let started = Date()
            let record = try await LoopbackBench.run(plan) { elapsed, total in progress(name, elapsed, total) }
            let measured = MeasuredStream(
                scenario: variant, capacityKbps: draw.uploadKbps, joinedAt: record.joinedAt, departedAt: record.departedAt,
                uploadedBytes: record.uploadedBytes,
                deliveries: record.deliveries, publishedAt: record.publishedAt, counters: record.traffic, runMicros: record.runMicros,
                wallSeconds: Date().timeIntervalSince(started))
            let report = measured.report
            finished(name, report)
            runs.append(PushVsPull.Run(name: name, report: report, perSecond: PushVsPull.perSecond(measured)))
        }
        return PushVsPull.Result(scenario: scenario, churn: bench.churn, transport: "udp-loopback", runs: runs, failureTimes: failures)
    }

    private static func scheduler(of scenario: Scenario) throws -> MeshScheduler {
        guard case .string(let name)? = scenario.blocks["mesh"]?["scheduler"] else { return .donet }
        return try CLI.scheduler(name)
    }
}
