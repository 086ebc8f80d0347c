import CanopyCore

/// A stream measured on real sockets (`canopy bench push-vs-pull --real`), turned into a
/// report with the keys and meanings of `canopy sim`'s, so the comparison table and the
/// plots read both the same way.
///
/// Delays are local receive time minus the chunk's generation time on one clock (all
/// nodes run in one process). RDP is null: on loopback the direct one-way delay is a few
/// microseconds, so a ratio to it would measure scheduling noise, not the overlay.
public struct MeasuredStream: PlayoutLedger {
    let scenario: Scenario
    let counters: TrafficCounters
    let publishedAt: [Int64]
    let wallSeconds: Double
    let ledgerJoinTime: [Int64]
    let ledgerDepartTime: [Int64]
    let ledgerCapacityKbps: [Double]
    let ledgerUploadedBytes: [Int64]
    let ledgerPlayout: PlayoutLog
    let ledgerRunEnd: Int64

    /// - Parameters: per node (0 is the source): capacity, join and departure times
    ///   (`Int64.max`: never / present to the end), bytes sent and chunks received in the
    ///   order they arrived; `runMicros` is when the run ended.
    public init(scenario: Scenario, capacityKbps: [Double], joinedAt: [Int64], departedAt: [Int64],
                uploadedBytes: [Int64], deliveries: [[ChunkReception]], publishedAt: [Int64], counters: TrafficCounters,
                runMicros: Int64, wallSeconds: Double) {
        self.scenario = scenario
        self.counters = counters
        self.publishedAt = publishedAt
        self.wallSeconds = wallSeconds
        ledgerJoinTime = joinedAt
        ledgerDepartTime = departedAt
        ledgerCapacityKbps = capacityKbps
        ledgerUploadedBytes = uploadedBytes
        ledgerRunEnd = runMicros
        var playout = PlayoutLog(chunkCount: scenario.stream.chunkCount)
        for node in deliveries.indices {
            playout.addNode()
            for d in deliveries[node] {
                playout.record(node: node, sequence: d.sequence, delay: d.receivedAt - d.generatedAt, direct: 0, now: d.receivedAt)
            }
        }
        ledgerPlayout = playout
    }

    var ledgerNodeCount: Int { ledgerCapacityKbps.count }
    var ledgerStreamStart: Int64 { TimeSpan.seconds(scenario.joinOverSeconds).micros }
    var ledgerChunkMicros: Int64 { TimeSpan.milliseconds(scenario.stream.chunkMilliseconds).micros }

    /// The report, key for key as `canopy sim` writes it (overlay and tree blocks null),
    /// with a `real` block in place of `sim`.
    public var report: JSONValue {
        let analysis = analyse(playoutDelaysSeconds: scenario.playoutDelaysSeconds)
        let delayKeys = scenario.playoutDelaysSeconds.map { JSONValue.format($0) }
        let playout = ledgerPlayout
        func ratio(_ a: Int64, _ b: Int64) -> JSONValue { b > 0 ? .number(Double(a) / Double(b)) : .null }
        func perDelay(_ values: [Double?]) -> JSONValue {
            .object(delayKeys.indices.map { (delayKeys[$0], JSONValue.number(values[$0])) })
        }
        let nulls = { (keys: [String]) in JSONValue.object(keys.map { ($0, .null) }) }
        let receiverChunks = publishedAt.reduce(0) { sum, t in
            sum + (1..<ledgerNodeCount).filter { ledgerJoinTime[$0] <= t && ledgerDepartTime[$0] > t }.count
        }
        let utilisation = uploadUtilisation()
        let live = liveAtBucketEnds()
        let silent = (1..<ledgerNodeCount).filter { ledgerJoinTime[$0] != .max && playout.firstSequence[$0] == .max }
        return .object([
            ("nodes", .int(ledgerNodeCount)),
            ("mode", .string(scenario.mode)),
            ("seed", .number(Double(scenario.seed))),
            ("delay_ms", playout.delayReport),
            ("rdp_mean", .null),
            ("continuity", perDelay(analysis.continuity)),
            ("d99_ms", .object([("p50", .number(analysis.d99p50)), ("p90", .number(analysis.d99p90))])),
            ("delivery_ratio", .number(analysis.deliveryRatio)),
            ("startup_delay_ms", .object([("p50", .number(analysis.startupP50)), ("p90", .number(analysis.startupP90))])),
            ("control_overhead", ratio(counters.controlBytes, counters.dataBytes)),
            ("header_overhead", ratio(counters.dataBytes - counters.payloadBytes, counters.payloadBytes)),
            ("duplicate_ratio", ratio(Int64(counters.duplicates), Int64(playout.delayCount))),
            ("upload_utilisation", .object([("mean", .number(utilisation.mean)), ("max", .number(utilisation.max))])),
            ("lookup", nulls(["count", "correct_ratio", "hops_mean", "hops_histogram", "latency_ms_mean", "stretch_mean"])),
            ("tree", nulls(["depth_mean", "depth_max", "interior_in_k", "max_degree_over_capacity", "repair_ms_p90"])),
            ("messages", .object([
                ("total", .int(counters.messages)),
                ("per_chunk_per_receiver", ratio(Int64(counters.messages), Int64(receiverChunks))),
            ])),
            ("gapless", perDelay(analysis.gapless)),
            ("timeline", .array(analysis.bucketContinuity.indices.map { b in
                .object([
                    ("t_s", .int(b * 10)),
                    ("live_nodes", .int(live[b])),
                    ("continuity", .number(analysis.bucketContinuity[b])),
                    ("continuity_by_delay", perDelay(analysis.bucketContinuityByDelay[b])),
                    ("lookups", .int(0)),
                    ("lookups_correct_ratio", .null),
                ])
            })),
            ("chunks_published", .int(publishedAt.count)),
            // Diagnosis: listeners that never played anything, and how many of them had no upload.
            ("never_played", .int(silent.count)),
            ("never_played_without_upload", .int(silent.filter { ledgerCapacityKbps[$0] == 0 }.count)),
            ("datagrams", .int(counters.datagrams)),
            ("rejected", .int(counters.rejected)),
            ("pacer_dropped", .int(counters.pacerDropped)),
            ("redelivered", .int(playout.redelivered)),
            ("delay_cdf", .array(playout.delayCDF().map { .array([.number($0.ms), .number($0.fraction)]) })),
            ("real", .object([("transport", .string("udp-loopback")), ("wall_s", .number(wallSeconds))])),
        ])
    }
}
