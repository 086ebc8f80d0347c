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
                                scenario: variant("mesh", chunkMs: chunkMs, block: "mesh", [("scheduler", .string("chainsaw"))])))
            points.append(Point(series: "mesh-donet chunk", label: "\(JSONValue.format(chunkMs)) ms",
                                scenario: variant("mesh", chunkMs: chunkMs, block: "mesh", [("scheduler", .string("donet"))])))
        }
        points.append(Point(series: "tree", label: "tree", scenario: variant("tree", chunkMs: chunk, block: "tree", [])))
        return points
    }

    /// Runs every point; `tradeoff.json` holds one entry per point.
    public func run(progress: ((Int, Int, String) -> Void)? = nil) throws -> JSONValue {
        let all = points
        var out: [JSONValue] = []
        for (index, point) in all.enumerated() {
            progress?(index, all.count, "\(point.series) \(point.label)")
            let (_, report) = try SimRunner.run(point.scenario)
            out.append(.object([
                ("series", .string(point.series)),
                ("label", .string(point.label)),
                ("chunk_ms", .number(point.scenario.stream.chunkMilliseconds)),
                ("control_overhead", report["control_overhead"] ?? .null),
                ("delay_p50_ms", report["delay_ms"]?["p50"] ?? .null),
                ("delay_p90_ms", report["delay_ms"]?["p90"] ?? .null),
                ("continuity", report["continuity"] ?? .null),
            ]))
        }
        return .object([("points", .array(out))])
    }
}
