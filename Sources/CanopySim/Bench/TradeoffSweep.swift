import CanopyMesh

/// The latency/overhead trade-off of pull streaming: sweep DONet's buffer-map period,
/// Chainsaw's HAVE batching and the chunk duration, and put the tree's point beside them.
public struct TradeoffSweep {
    public let base: Scenario

    public init(base: Scenario) {
        self.base = base
    }

    /// One run of the sweep.
    public struct Point {
        public var series: String
        public var label: String
        public var scenario: Scenario
    }

    public static let bufferMapPeriodsMs: [Double] = [100, 250, 500, 1000, 2000]
    public static let haveBatches: [Double] = [1, 2, 4, 8]
    public static let chunkDurationsMs: [Double] = [20, 50, 100, 200, 500, 1000]

    public var points: [Point] {
        var points: [Point] = []
        func variant(_ mode: String, chunkMs: Double, block: String?, _ fields: [(String, JSONValue)]) -> Scenario {
            var s = base
            s.mode = mode
            s.stream.chunkMilliseconds = chunkMs
            s.blocks = [:]
            if let block { s.blocks[block] = .object(fields) }
            if mode == "tree" { s.blocks["pastry"] = .object([]) }
            return s
        }
        let chunk = base.stream.chunkMilliseconds
        // The chunk sweeps name the default knobs, so their point at the base chunk duration
        // is the same scenario as the knob sweeps' default point (and runs once).
        let defaults = MeshConfig()
        let defaultPeriod = JSONValue.number(Double(defaults.bufferMapPeriod.micros) / 1000)
        let defaultBatch = JSONValue.number(Double(defaults.haveBatch))
        for period in Self.bufferMapPeriodsMs {
            points.append(Point(series: "mesh-donet", label: "map \(JSONValue.format(period)) ms",
                                scenario: variant("mesh", chunkMs: chunk, block: "mesh",
                                                  [("scheduler", .string("donet")), ("buffer_map_period_ms", .number(period))])))
        }
        for batch in Self.haveBatches {
            points.append(Point(series: "mesh-chainsaw", label: "HAVE ×\(JSONValue.format(batch))",
                                scenario: variant("mesh", chunkMs: chunk, block: "mesh",
                                                  [("scheduler", .string("chainsaw")), ("have_batch", .number(batch))])))
        }
        for chunkMs in Self.chunkDurationsMs {
            points.append(Point(series: "mesh-chainsaw chunk", label: "\(JSONValue.format(chunkMs)) ms",
                                scenario: variant("mesh", chunkMs: chunkMs, block: "mesh",
                                                  [("scheduler", .string("chainsaw")), ("have_batch", defaultBatch)])))
            points.append(Point(series: "mesh-donet chunk", label: "\(JSONValue.format(chunkMs)) ms",
                                scenario: variant("mesh", chunkMs: chunkMs, block: "mesh",
                                                  [("scheduler", .string("donet")), ("buffer_map_period_ms", defaultPeriod)])))
        }
        points.append(Point(series: "tree", label: "tree", scenario: variant("tree", chunkMs: chunk, block: "tree", [])))
        return points
    }

    /// Runs every point (a scenario that two series share, once); `tradeoff.json` holds
    /// one entry per point, with the simulator's wall time of its run.
    public func run(progress: ((Int, Int, String) -> Void)? = nil) throws -> JSONValue {
        let all = points
        var out: [JSONValue] = []
        var done: [(signature: String, report: JSONValue)] = []
        for (index, point) in all.enumerated() {
            progress?(index, all.count, "\(point.series) \(point.label)")
            let s = point.scenario
            let signature = "\(s.mode) \(s.stream.chunkMilliseconds) " + s.blocks.keys.sorted().map { "\($0)=\(s.blocks[$0]!.serialized())" }.joined(separator: " ")
            let report: JSONValue
            if let earlier = done.first(where: { $0.signature == signature }) {
                report = earlier.report
            } else {
                report = try SimRunner.run(s).report
                done.append((signature, report))
            }
            out.append(.object([
                ("series", .string(point.series)),
                ("label", .string(point.label)),
                ("chunk_ms", .number(point.scenario.stream.chunkMilliseconds)),
                ("control_overhead", report["control_overhead"] ?? .null),
                ("delay_p50_ms", report["delay_ms"]?["p50"] ?? .null),
                ("delay_p90_ms", report["delay_ms"]?["p90"] ?? .null),
                ("continuity", report["continuity"] ?? .null),
                ("wall_s", report["sim"]?["wall_s"] ?? .null),
            ]))
        }
        return .object([("points", .array(out))])
    }
}
