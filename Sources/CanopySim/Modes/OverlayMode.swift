import CanopyCore
import CanopyPastry

/// `"mode": "overlay"`: Pastry alone, no stream. Nodes join, churn happens, and the
/// scenario's `lookups` are routed over the stream period and judged (`lookup.*`).
///
/// The `"pastry"` block takes Pastry's settings (see `OverlaySettings`) and
/// `check_at_s`: times at which to check every leaf set against the truth (a check is
/// always made at the end). Extra report keys: `overlay.*`.
public final class OverlayMode: SimMode {
    public static let name = "overlay"
    public static let blocks = ["pastry"]

    private static let checkBit: UInt64 = 1 << 61

    private let settings: PastrySettings
    private let checkTimes: [Double]
    private let lookups: OverlayLookups
    private var checks: [(t: Double, ratio: Double?)] = []

    public var carriesStream: Bool { false }

    public init(scenario: Scenario, blocks: ModeBlocks) throws {
        var block = try blocks.object("pastry")
        settings = try OverlaySettings.read(&block)
        var times: [Double] = []
        if let raw = block.raw("check_at_s") {
            guard case .array(let items) = raw else { throw block.invalid("check_at_s", "a list of seconds", got: raw) }
            for item in items {
                guard case .number(let t) = item, t >= 0, t <= scenario.runSeconds else {
                    throw block.invalid("check_at_s", "times within the run (0...\(scenario.runSeconds) s)", got: item)
                }
                times.append(t)
            }
        }
        try block.finish()
        checkTimes = times
        lookups = OverlayLookups(count: scenario.lookups)
    }

    public func makeCore(node: Int, identity: NodeRef, uploadKbps: Double, sim: any SimContext) -> any ProtocolCore {
        PastryNode(identity: identity, settings: settings, app: NoApplication())
    }

    /// The nearest of a few random live nodes that have finished joining (a joiner's
    /// request to a node still joining itself is dropped). Pastry assumes a joiner knows a
    /// nearby node (found by expanding-ring search or pings): the rows it takes from the
    /// join path are then near it too, which is where proximity selection starts from.
    public func bootstrap(for node: Int, sim: any SimContext) -> PeerAddress? {
        var best: (peer: Int, delay: TimeSpan)?
        for _ in 0..<Self.bootstrapCandidates {
            guard let peer = OverlayLookups.joinedNode(sim: sim) else { break }
            let delay = sim.latency(from: node, to: peer)
            if best == nil || delay < best!.delay { best = (peer, delay) }
        }
        let peer = best?.peer ?? sim.randomLiveNode(excludingSource: false)
        return peer.map { sim.identity(of: $0).address }
    }

    private static let bootstrapCandidates = 16

    public func start(sim: any SimContext) {
        lookups.start(sim: sim)
        for (i, t) in checkTimes.enumerated() {
            sim.schedule(Self.checkBit | UInt64(i), at: Instant(micros: Int64((t * 1e6).rounded())))
        }
    }

    public func action(_ tag: UInt64, sim: any SimContext) {
        if lookups.owns(tag) {
            lookups.action(tag, sim: sim)
        } else if tag & Self.checkBit != 0 {
            checks.append((sim.now.seconds, OverlayChecks.leafSetConsistency(sim: sim)))
        }
    }

    public func observed(_ observation: any Observation, node: Int, sim: any SimContext) {
        lookups.observed(observation, node: node, sim: sim)
    }

    public func report(sim: any SimContext) -> ModeReport {
        lookups.finish(sim: sim)
        let final = OverlayChecks.leafSetConsistency(sim: sim)
        let state = OverlayChecks.summarize(sim: sim)
        let checkList = checks.map { JSONValue.object([("t_s", .number($0.t)), ("ratio", .number($0.ratio))]) }
        let live = sim.liveNodes.count
        return ModeReport(extra: [
            ("overlay", .object([
                ("leafset_consistent_ratio", .number(final)),
                ("leafset_checks", .array(checkList)),
                ("joined_ratio", .number(live > 0 ? Double(state.joined) / Double(live) : nil)),
                ("state_entries_mean", .number(state.entriesMean)),
                ("state_entries_max", .int(state.entriesMax)),
                ("table_rows_mean", .number(state.tableRowsMean)),
                ("table_entries_mean", .number(state.tableEntriesMean)),
                ("join_messages_per_join", .number(state.joinMessagesPerJoin)),
                ("maintenance_messages_per_node", .number(state.maintenanceMessagesPerNode)),
                ("lookups_not_issued", .int(lookups.notIssued)),
            ])),
        ])
    }
}
