import Foundation

/// One simulation run as DESIGN.md's scenario contract describes it, checked field by field.
///
/// Times in seconds are kept as given; the engine converts them to `Instant`s.
public struct Scenario: Sendable {
    public var seed: UInt64
    /// Nodes at the start, the source (node 0) included.
    public var nodes: Int
    public var mode: String
    public var topology: Topology
    /// Weighted upload capacities of the listeners, fractions summing to 1.
    public var upload: [(fraction: Double, kbps: Double)]
    public var sourceUploadKbps: Double
    public var loss: Double
    public var stream: Stream
    /// Listeners join spread uniformly over this many seconds; the stream starts after it.
    public var joinOverSeconds: Double
    public var churn: [ChurnEvent]
    public var playoutDelaysSeconds: [Double]
    /// Random-key lookups spread over the stream period (overlay and tree modes).
    public var lookups: Int
    /// Queue rate for control traffic of nodes whose upload capacity is 0.
    public var controlFloorKbps: Double
    /// Mode blocks (`"pastry"`, `"tree"`, `"mesh"`) as written, for the mode to read.
    public var blocks: [String: JSONValue]

    public struct Stream: Sendable {
        public var bitrateKbps: Double
        public var chunkMilliseconds: Double
        public var seconds: Double

        /// Payload bytes of one chunk.
        public var payloadBytes: Int { Int((bitrateKbps * chunkMilliseconds / 8).rounded()) }
        /// Chunks the source publishes over the whole stream.
        public var chunkCount: Int { Int((seconds * 1000 / chunkMilliseconds).rounded(.down)) }
    }

    public enum Topology: Sendable {
        /// Cluster centres uniform in a `planeMs` square, nodes normal around them with
        /// `spreadMs`, plus a per-node access delay uniform in `accessMs`. Computed on demand.
        case clusters(count: Int, planeMs: Double, spreadMs: Double, accessMs: ClosedRange<Double>)
        /// One-way delays read from a file; node i is row i.
        case matrix(LatencyMatrix)
    }

    public enum ChurnEvent: Sendable, Equatable {
        case crash(atSeconds: Double, fraction: Double)
        case leave(atSeconds: Double, fraction: Double)
        case join(atSeconds: Double, count: Int)
        /// Exponential session lengths; an ended session is replaced by a fresh joiner.
        case sessions(meanSeconds: Double, graceful: Bool)
    }

    /// The block keys a mode may read.
    public static let blockKeys = ["mesh", "pastry", "tree"]

    /// Seconds from the first join to the end of the run.
    public var runSeconds: Double { joinOverSeconds + stream.seconds }

    /// Nodes ever created by scheduled `join` events (steady churn adds more as it goes).
    public var scheduledJoins: Int {
        churn.reduce(0) { if case .join(_, let n) = $1 { $0 + n } else { $0 } }
    }
}

extension Scenario {
    /// Reads a scenario file; matrix paths are taken relative to its folder.
    public static func load(path: String) throws -> Scenario {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScenarioError("cannot read scenario file \"\(path)\"")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(String(decoding: data, as: UTF8.self), baseDirectory: folder)
    }

    /// Parses scenario JSON text. `baseDirectory` resolves a relative matrix path.
    public static func parse(_ text: String, baseDirectory: String = ".") throws -> Scenario {
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch {
            throw ScenarioError("not valid JSON (\(error))")
        }
        var root = try ScenarioObject(json, path: "")
        let seed = UInt64(try root.int("seed", default: 1, range: 0 ... Int.max, expectation: "an integer ≥ 0"))
        let nodes = try root.int("nodes", range: 1 ... 10_000_000)
        let mode = try root.choice("mode", from: SimModeRegistry.names)

        let topology = try parseTopology(root.object("topology"), baseDirectory: baseDirectory)
        let upload = try parseUpload(&root)
        let sourceUpload = try root.double("source_upload_kbps", default: 100_000, range: 1 ... .infinity,
                                           expectation: "a number of kbit/s > 0")
        let loss = try root.double("loss", default: 0, range: 0 ... 0.999_999, expectation: "a probability in [0, 1)")

        var streamObject = try root.object("stream") ?? ScenarioObject(emptyAt: "stream")
        let stream = Stream(
            bitrateKbps: try streamObject.double("bitrate_kbps", default: 64, range: 1 ... 100_000, expectation: "a bitrate in kbit/s > 0"),
            chunkMilliseconds: try streamObject.double("chunk_ms", default: 20, range: 2.5 ... 5000, expectation: "a chunk length in ms (2.5…5000)"),
            seconds: try streamObject.double("seconds", default: 60, range: 0 ... 1e6, expectation: "a number of seconds ≥ 0"))
        try streamObject.finish()
        guard stream.payloadBytes <= 16 * 1024 else {
            throw ScenarioError("\"stream\": bitrate_kbps × chunk_ms gives \(stream.payloadBytes)-byte chunks, above the 16 KiB limit; use shorter chunks")
        }

        var joinObject = try root.object("join") ?? ScenarioObject(emptyAt: "join")
        let joinOver = try joinObject.double("over_s", default: 10, range: 0 ... 1e6, expectation: "a number of seconds ≥ 0")
        try joinObject.finish()

        let churn = try parseChurn(root.raw("churn"))
        let delays = try parsePlayoutDelays(root.raw("playout_delays_s"))
        let lookups = try root.int("lookups", default: 0)
        let floor = try root.double("control_floor_kbps", default: 32, range: 1 ... .infinity, expectation: "a number of kbit/s > 0")
        var blocks: [String: JSONValue] = [:]
        for key in blockKeys { if let block = root.raw(key) { blocks[key] = block } }
        try root.finish()

        let scenario = Scenario(seed: seed, nodes: nodes, mode: mode, topology: topology, upload: upload,
                                sourceUploadKbps: sourceUpload, loss: loss, stream: stream, joinOverSeconds: joinOver,
                                churn: churn, playoutDelaysSeconds: delays, lookups: lookups,
                                controlFloorKbps: floor, blocks: blocks)
        if case .matrix(let matrix) = topology, matrix.size < nodes + scenario.scheduledJoins {
            throw ScenarioError("topology matrix \"\(matrix.path)\" has \(matrix.size) rows but the scenario needs \(nodes + scenario.scheduledJoins) nodes (\"nodes\" plus churn joins)")
        }
        return scenario
    }

    private static func parseTopology(_ object: ScenarioObject?, baseDirectory: String) throws -> Topology {
        guard var object else { return .clusters(count: 5, planeMs: 150, spreadMs: 15, accessMs: 1 ... 10) }
        let kind = try object.choice("kind", from: ["clusters", "matrix"])
        let topology: Topology
        if kind == "matrix" {
            let file = try object.string("file")
            let resolved = file.hasPrefix("/") ? file : URL(fileURLWithPath: baseDirectory).appendingPathComponent(file).path
            topology = .matrix(try LatencyMatrix(path: resolved, named: file))
        } else {
            let count = try object.int("clusters", default: 5, range: 1 ... 1_000_000)
            let plane = try object.double("plane_ms", default: 150, range: 0 ... 1e6, expectation: "a number of ms ≥ 0")
            let spread = try object.double("spread_ms", default: 15, range: 0 ... 1e6, expectation: "a number of ms ≥ 0")
            var access: ClosedRange<Double> = 1 ... 10
            if let value = object.raw("access_ms") {
                guard case .array(let pair) = value, pair.count == 2, case .number(let lo) = pair[0],
                      case .number(let hi) = pair[1], lo >= 0, lo <= hi else {
                    throw object.invalid("access_ms", "a pair [low, high] of ms with 0 ≤ low ≤ high", got: value)
                }
                access = lo ... hi
            }
            topology = .clusters(count: count, planeMs: plane, spreadMs: spread, accessMs: access)
        }
        try object.finish()
        return topology
    }

    private static func parseUpload(_ root: inout ScenarioObject) throws -> [(fraction: Double, kbps: Double)] {
        let expectation = "a number of kbit/s or a list of [fraction, kbps] pairs whose fractions sum to 1"
        guard let value = root.raw("upload_kbps") else { return [(1, 1024)] }
        if case .number(let kbps) = value, kbps >= 0 { return [(1, kbps)] }
        guard case .array(let entries) = value, !entries.isEmpty else { throw root.invalid("upload_kbps", expectation, got: value) }
        var classes: [(fraction: Double, kbps: Double)] = []
        for entry in entries {
            guard case .array(let pair) = entry, pair.count == 2, case .number(let fraction) = pair[0],
                  case .number(let kbps) = pair[1], fraction >= 0, kbps >= 0 else {
                throw root.invalid("upload_kbps", expectation, got: entry)
            }
            classes.append((fraction, kbps))
        }
        let total = classes.reduce(0) { $0 + $1.fraction }
        guard abs(total - 1) < 1e-6 else {
            throw ScenarioError("\"upload_kbps\" fractions sum to \(JSONValue.format(total)), they must sum to 1")
        }
        return classes
    }

    private static func parseChurn(_ value: JSONValue?) throws -> [ChurnEvent] {
        guard let value else { return [] }
        guard case .array(let items) = value else {
            throw ScenarioError("\"churn\" must be a list of events, got \(value.shortDescription)")
        }
        return try items.enumerated().map { index, item in
            var event = try ScenarioObject(item, path: "churn[\(index)]")
            let parsed: ChurnEvent
            if var sessions = try event.object("sessions") {
                let mean = try sessions.double("mean_s", range: 0.001 ... .infinity, expectation: "a mean session length in seconds > 0")
                let kind = try sessions.choice("kind", default: "crash", from: ["crash", "leave"])
                try sessions.finish()
                parsed = .sessions(meanSeconds: mean, graceful: kind == "leave")
            } else {
                let kinds = ["crash_fraction", "leave_fraction", "join"].filter(event.has)
                guard kinds.count == 1 else {
                    throw ScenarioError("\"churn[\(index)]\" needs exactly one of \"crash_fraction\", \"leave_fraction\", \"join\" (with \"at_s\"), or \"sessions\"")
                }
                let at = try event.double("at_s", range: 0 ... .infinity, expectation: "a time in seconds ≥ 0")
                switch kinds[0] {
                case "crash_fraction":
                    parsed = .crash(atSeconds: at, fraction: try event.double("crash_fraction", range: 0 ... 1, expectation: "a fraction in [0, 1]"))
                case "leave_fraction":
                    parsed = .leave(atSeconds: at, fraction: try event.double("leave_fraction", range: 0 ... 1, expectation: "a fraction in [0, 1]"))
                default:
                    parsed = .join(atSeconds: at, count: try event.int("join", range: 0 ... 10_000_000))
                }
            }
            try event.finish()
            return parsed
        }
    }

    private static func parsePlayoutDelays(_ value: JSONValue?) throws -> [Double] {
        guard let value else { return [0.25, 0.5, 1, 2, 5] }
        guard case .array(let items) = value, !items.isEmpty else {
            throw ScenarioError("\"playout_delays_s\" must be a non-empty list of seconds, got \(value.shortDescription)")
        }
        let delays = try items.map { item -> Double in
            guard case .number(let d) = item, d > 0, d <= 60, (d * 1000).rounded() == d * 1000 else {
                throw ScenarioError("\"playout_delays_s\" entries must be seconds in (0, 60] in whole milliseconds, got \(item.shortDescription)")
            }
            return d
        }
        return delays.sorted()
    }
}
