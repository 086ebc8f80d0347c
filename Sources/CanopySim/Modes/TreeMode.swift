import CanopyCore
import CanopyPastry
import CanopyTree

/// `"mode": "tree"`: SplitStream over Scribe over Pastry. Node 0 is the source and the data
/// root of every stripe; everyone else joins all k stripe trees.
///
/// Blocks: `"pastry"` (as in overlay mode) and `"tree"` (`TreeSettings`). The mode samples
/// every node's out-degree once a simulated second against floor(upload / (bitrate / k)),
/// checks `recovery_check_s` after each mass crash that every survivor receives every
/// stripe again, and fills `tree.*` plus `lookup.*` when the scenario asks for lookups.
public final class TreeMode: SimMode {
    public static let name = "tree"
    public static let blocks = ["pastry", "tree"]

    private static let sampleBit: UInt64 = 1 << 58
    private static let recoveryBit: UInt64 = 1 << 57

    private let settings: PastrySettings
    private var config: TreeConfig
    private let recoveryCheck: Double
    private let note: String?
    private let lookups: OverlayLookups
    private let crashTimes: [Double]
    private var checks = TreeChecks()

    public var streamMode: StreamMode { .tree }
    public var modeParameter: UInt8 { UInt8(config.stripes) }

    public init(scenario: Scenario, blocks: ModeBlocks) throws {
        var pastry = try blocks.object("pastry")
        settings = try OverlaySettings.read(&pastry)
        try pastry.finish()
        var tree = try blocks.object("tree")
        (config, recoveryCheck, note) = try TreeSettings.read(&tree)
        // A listener without upload still sends control at the network's floor: its queue
        // model uses the same figure.
        config.controlFloorKbps = scenario.controlFloorKbps
        try tree.finish()
        lookups = OverlayLookups(count: scenario.lookups)
        crashTimes = scenario.churn.compactMap { if case .crash(let at, _) = $0 { at } else { nil } }
    }

    public func makeCore(node: Int, identity: NodeRef, uploadKbps: Double, sim: any SimContext) -> any ProtocolCore {
        let app = SplitStream(uploadKbps: uploadKbps, config: config, info: sim.streamInfo, isSource: node == 0,
                              modeledVerification: true)
        return PastryNode(identity: identity, settings: settings, app: app)
    }

    /// Listeners join the overlay through a random listener that has joined it and has
    /// upload (as a tracker would hand out), else through the source. Not always the
    /// source: the first hop of every overlay join answers with routing rows, and 10,000
    /// joins in 20 s would take the source's whole upload, which every stripe needs.
    /// Not a node still joining (the join would wait for a retry) nor one without upload
    /// (the rows would queue behind its thin link).
    public func bootstrap(for node: Int, sim: any SimContext) -> PeerAddress? {
        guard node != 0 else { return nil }
        for _ in 0..<Self.bootstrapDraws {
            guard let peer = sim.randomLiveNode(excludingSource: true) else { break }
            if sim.uploadKbps(of: peer) > 0, (sim.core(peer) as? PastryNode<SplitStream>)?.pastry.isJoined == true {
                return sim.identity(of: peer).address
            }
        }
        return sim.identity(of: 0).address
    }

    /// Random picks tried before falling back to the source.
    private static let bootstrapDraws = 8

    public func start(sim: any SimContext) {
        lookups.start(sim: sim)
        var t = Instant.zero + .seconds(1)
        var index: UInt64 = 0
        while t <= sim.runEnd {
            sim.schedule(Self.sampleBit | index, at: t)
            t += .seconds(1)
            index += 1
        }
        for (i, at) in crashTimes.enumerated() {
            sim.schedule(Self.recoveryBit | UInt64(i), at: Instant.zero + .seconds(at + recoveryCheck))
        }
    }

    public func action(_ tag: UInt64, sim: any SimContext) {
        if lookups.owns(tag) {
            lookups.action(tag, sim: sim)
        } else if tag & Self.sampleBit != 0 {
            checks.sampleDegrees(sim: sim, stripes: config.stripes)
        } else if tag & Self.recoveryBit != 0 {
            let crash = crashTimes[Int(tag & 0xFFFF)]
            checks.checkRecovery(sim: sim, crashAt: Instant.zero + .seconds(crash), within: recoveryCheck)
        }
    }

    public func observed(_ observation: any Observation, node: Int, sim: any SimContext) {
        if observation is LookupDelivered {
            lookups.observed(observation, node: node, sim: sim)
        } else {
            checks.observed(observation)
        }
    }

    public func report(sim: any SimContext) -> ModeReport {
        lookups.finish(sim: sim)
        checks.sampleDegrees(sim: sim, stripes: config.stripes)
        return checks.report(sim: sim, stripes: config.stripes, note: note)
    }
}

extension SimContext {
    /// Node `node`'s SplitStream state, nil if it does not run tree mode.
    func splitStream(_ node: Int) -> SplitStream? {
        (core(node) as? PastryNode<SplitStream>)?.app
    }
}
