/// Builds the report of DESIGN.md's contract: every key, in a fixed order, null where the
/// mode has no such thing, then extra keys, then the `sim` block (the only part that
/// differs between two runs with the same seed).
extension Simulation {
    public func report(wallSeconds: Double, peakRSSMegabytes: Double?) -> JSONValue {
        let modeReport = mode.report(sim: self)
        let stream = mode.carriesStream
        let analysis = stream ? analyse(playoutDelaysSeconds: scenario.playoutDelaysSeconds) : nil
        let delayKeys = scenario.playoutDelaysSeconds.map { JSONValue.format($0) }
        let live = liveAtBucketEnds()
        let utilisation = uploadUtilisation()

        func ratio(_ a: Int64, _ b: Int64) -> JSONValue { b > 0 ? .number(Double(a) / Double(b)) : .null }
        func perDelay(_ values: [Double?]?) -> JSONValue {
            .object(delayKeys.indices.map { (delayKeys[$0], JSONValue.number(values?[$0])) })
        }

        var keys: [(String, JSONValue)] = [
            ("nodes", .int(scenario.nodes)),
            ("mode", .string(scenario.mode)),
            ("seed", .number(Double(scenario.seed))),
            ("delay_ms", playout.delayReport),
            ("rdp_mean", playout.rdpCount > 0 ? .number(playout.rdpSum / Double(playout.rdpCount)) : .null),
            ("continuity", perDelay(analysis?.continuity)),
            ("d99_ms", .object([("p50", .number(analysis?.d99p50)), ("p90", .number(analysis?.d99p90))])),
            ("delivery_ratio", .number(analysis?.deliveryRatio)),
            ("startup_delay_ms", .object([("p50", .number(analysis?.startupP50)), ("p90", .number(analysis?.startupP90))])),
            ("control_overhead", ratio(counters.controlBytes, counters.dataBytes)),
            ("header_overhead", ratio(counters.dataBytes - counters.payloadBytes, counters.payloadBytes)),
            ("duplicate_ratio", stream ? ratio(Int64(counters.duplicates), Int64(playout.delayCount)) : .null),
            ("upload_utilisation", .object([("mean", .number(utilisation.mean)), ("max", .number(utilisation.max))])),
            ("lookup", lookupBlock()),
            ("tree", treeBlock(modeReport.tree)),
            ("messages", .object([
                ("total", .int(counters.messages)),
                ("per_chunk_per_receiver", stream ? ratio(Int64(counters.messages), Int64(counters.receiverChunks)) : .null),
            ])),
            ("gapless", perDelay(analysis?.gapless)),
            ("timeline", .array((0..<timelineBucketCount).map { b in
                let bucketLookups = lookups.perBucket[b]
                return .object([
                    ("t_s", .int(b * 10)),
                    ("live_nodes", .int(live[b])),
                    ("continuity", .number(analysis?.bucketContinuity[b])),
                    ("continuity_by_delay", perDelay(analysis?.bucketContinuityByDelay[b])),
                    ("lookups", .int(bucketLookups.count)),
                    ("lookups_correct_ratio", bucketLookups.count > 0
                        ? .number(Double(bucketLookups.correct) / Double(bucketLookups.count)) : .null),
                ])
            })),
            // Beyond the contract: what the engine saw, for diagnosis.
            ("nodes_created", .int(nodeCount)),
            ("chunks_published", .int(counters.chunksPublished)),
            ("datagrams", .int(counters.datagrams)),
            ("lost", .int(counters.lost)),
            ("vanished", .int(counters.vanished)),
            ("misaddressed", .int(counters.misaddressed)),
            ("rejected", .int(counters.rejected)),
            ("redelivered", .int(playout.redelivered)),
            ("zero_capacity_data_bytes", .number(Double(counters.zeroCapacityDataBytes))),
            ("delay_cdf", .array(playout.delayCDF().map { .array([.number($0.ms), .number($0.fraction)]) })),
        ]
        keys += modeReport.extra
        keys.append(("sim", .object([
            ("events", .int(counters.events)),
            ("wall_s", .number(wallSeconds)),
            ("peak_rss_mb", .number(peakRSSMegabytes)),
        ])))
        return .object(keys)
    }

    private func lookupBlock() -> JSONValue {
        let used = scenario.lookups > 0 || lookups.count > 0
        return .object([
            ("count", used ? .int(lookups.count) : .null),
            ("correct_ratio", .number(lookups.correctRatio)),
            ("hops_mean", .number(lookups.hopsMean)),
            ("hops_histogram", used && !lookups.hopsHistogram.isEmpty ? .array(lookups.hopsHistogram.map { .int($0) }) : .null),
            ("latency_ms_mean", .number(lookups.latencyMsMean)),
            ("stretch_mean", .number(lookups.stretchMean)),
        ])
    }

    private func treeBlock(_ tree: TreeReport?) -> JSONValue {
        .object([
            ("depth_mean", .number(tree?.depthMean)),
            ("depth_max", .int(tree?.depthMax)),
            ("interior_in_k", tree?.interiorInK.map { .array($0.map { .int($0) }) } ?? .null),
            ("max_degree_over_capacity", .number(tree?.maxDegreeOverCapacity)),
            ("repair_ms_p90", .number(tree?.repairMsP90)),
        ])
    }
}
