import CanopyCore
import CanopyTree

/// Tree mode's own measurements: out-degree against capacity over time, repairs, recovery
/// after mass crashes, and the shape of the forest at the end.
struct TreeChecks {
    private var repairMs: [Double] = []
    private var parentLosses = 0
    private var escalations = [0, 0, 0]
    /// Largest children / floor(upload / (bitrate / k)) seen, over nodes whose bound is > 0.
    private var maxDegreeRatio = 0.0
    /// Samples where a node had more children than its own bound, or any child on a zero bound.
    private var violations = 0
    private var recoveries: [(t: Double, ratio: Double?, survivors: Int)] = []

    mutating func observed(_ observation: any Observation) {
        switch observation {
        case let repaired as TreeRepaired: repairMs.append(repaired.duration.milliseconds)
        case is TreeParentLost: parentLosses += 1
        case let escalated as TreeJoinEscalated: escalations[min(max(escalated.attempt, 0), 2)] += 1
        default: break
        }
    }

    /// The bound: floor(upload / (stream rate / k)), with the nominal bitrate.
    private static func nominalBound(uploadKbps: Double, bitrateKbps: Double, stripes: Int) -> Int {
        Int((uploadKbps / (bitrateKbps / Double(stripes))).rounded(.down))
    }

    mutating func sampleDegrees(sim: any SimContext, stripes: Int) {
        for node in sim.liveNodes {
            guard let app = sim.splitStream(node) else { continue }
            let used = app.usedSlots
            let nominal = Self.nominalBound(uploadKbps: sim.uploadKbps(of: node),
                                            bitrateKbps: sim.scenario.stream.bitrateKbps, stripes: stripes)
            if used > app.bound || (nominal == 0 && used > 0) { violations += 1 }
            if nominal > 0 { maxDegreeRatio = max(maxDegreeRatio, Double(used) / Double(nominal)) }
        }
    }

    /// Every listener that was up before the crash and is up now must hold, in every stripe,
    /// a chunk generated in the last two seconds: its stripe trees carry data again.
    mutating func checkRecovery(sim: any SimContext, crashAt: Instant, within: Double) {
        let chunkMicros = Int64(sim.scenario.stream.chunkMilliseconds * 1000)
        let recent = sim.now - .seconds(2) - sim.streamStart
        let threshold = recent.micros > 0 ? UInt32(recent.micros / chunkMicros) : 0
        var survivors = 0, whole = 0
        for node in sim.liveNodes where node != 0 {
            guard let joined = sim.joinedAt(node), joined < crashAt, let app = sim.splitStream(node) else { continue }
            survivors += 1
            if app.newest.allSatisfy({ $0.map { $0 >= threshold } ?? false }) { whole += 1 }
        }
        recoveries.append((sim.now.seconds, survivors > 0 ? Double(whole) / Double(survivors) : nil, survivors))
    }

    func report(sim: any SimContext, stripes: Int, note: String?) -> ModeReport {
        var depthSum = 0, depthCount = 0, depthMax = 0, attached = 0, stripeSlots = 0
        var interior = Array(repeating: 0, count: stripes + 1)
        for node in sim.liveNodes where node != 0 {
            guard let app = sim.splitStream(node) else { continue }
            interior[min(app.interiorStripes, stripes)] += 1
            for tree in app.trees.prefix(stripes) {
                stripeSlots += 1
                guard tree.parent != nil else { continue }
                attached += 1
                depthSum += tree.depth
                depthCount += 1
                depthMax = max(depthMax, tree.depth)
            }
        }
        let tree = TreeReport(depthMean: depthCount > 0 ? Double(depthSum) / Double(depthCount) : nil,
                              depthMax: depthCount > 0 ? depthMax : nil, interiorInK: interior,
                              maxDegreeOverCapacity: maxDegreeRatio, repairMsP90: Self.percentile(repairMs, 0.9))
        let listeners = interior.reduce(0, +)
        let recoveryList = recoveries.map {
            JSONValue.object([("t_s", .number($0.t)), ("all_stripes_ratio", .number($0.ratio)), ("survivors", .int($0.survivors))])
        }
        var extra: [(String, JSONValue)] = [
            ("interior_in_at_most_one_ratio", .number(listeners > 0 ? Double(interior[0] + interior[1]) / Double(listeners) : nil)),
            ("degree_violations", .int(violations)),
            ("stripes_attached_ratio", .number(stripeSlots > 0 ? Double(attached) / Double(stripeSlots) : nil)),
            ("repairs", .int(repairMs.count)),
            ("repair_ms_p50", .number(Self.percentile(repairMs, 0.5))),
            ("parent_losses", .int(parentLosses)),
            ("joins_via_anycast", .int(escalations[1])),
            ("joins_via_source", .int(escalations[2])),
            ("recovery_checks", .array(recoveryList)),
        ]
        if let note { extra.append(("note", .string(note))) }
        return ModeReport(tree: tree, extra: [("tree_detail", .object(extra))])
    }

    private static func percentile(_ values: [Double], _ q: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.up)) - 1)]
    }
}
