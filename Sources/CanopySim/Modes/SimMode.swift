import CanopyCore

/// A way of spreading the stream (or, for `overlay`, of running Pastry alone) as the
/// simulator runs it: which core each node gets, how it joins, and what the mode adds to
/// the report. The engine owns time, the network, churn, the stream and the common
/// metrics; a mode only supplies cores and its own checks.
///
/// ## Adding a mode
/// 1. Write `final class XMode: SimMode` in `Sources/CanopySim/Modes/X*.swift`
///    (`DirectMode.swift` is the worked example).
/// 2. `static let name` is the scenario's `"mode"` value; `static let blocks` lists the
///    scenario blocks it reads (`["pastry", "tree"]`). `init(scenario:blocks:)` reads them
///    with `ScenarioObject` and calls `finish()` on each, so unknown fields are errors.
/// 3. `makeCore` builds node i's core (node 0 is the source); the engine calls
///    `.command(.join(bootstrap: bootstrap(for:sim:)))` on it when the node joins and,
///    for the source, `.command(.publish(chunk))` every `chunk_ms` of the stream.
/// 4. Optional hooks: `start` (schedule your own `action`s, e.g. lookups or a check 60 s
///    after a crash), `observed` (every `Observation` a core emits), `membershipChanged`
///    (churn), `report` (the `tree` block and extra keys). Lookups go through
///    `SimContext.recordLookup`, which fills `lookup.*` and the timeline.
/// 5. Add `XMode.self` to `SimModeRegistry.modes`.
///
/// Modes are classes so their state can change from any hook; all hooks run on the
/// engine's single thread in virtual-time order.
public protocol SimMode: AnyObject {
    /// The scenario's `"mode"` value.
    static var name: String { get }
    /// Scenario blocks this mode reads; any other block in the scenario is an error.
    static var blocks: [String] { get }

    /// Reads the mode's blocks strictly; throw `ScenarioError` (or let `ScenarioObject` throw).
    init(scenario: Scenario, blocks: ModeBlocks) throws

    /// False for modes without a stream (`overlay`): no chunks are published and the
    /// stream metrics are null.
    var carriesStream: Bool { get }
    /// Announced in the stream's `StreamInfo`.
    var streamMode: StreamMode { get }
    var modeParameter: UInt8 { get }

    /// Node `node`'s core. Node 0 is the source. `uploadKbps` is its capacity (0 for a
    /// leaf-only peer: it must never send data, though control traffic is allowed).
    func makeCore(node: Int, identity: NodeRef, uploadKbps: Double, sim: any SimContext) -> any ProtocolCore

    /// Where a joining node sends its join; nil for the first node. The default is a
    /// random live node (nil for the source).
    func bootstrap(for node: Int, sim: any SimContext) -> PeerAddress?

    /// Called once at time zero, before any node joins.
    func start(sim: any SimContext)
    /// Every observation any core emits, at `sim.now`.
    func observed(_ observation: any Observation, node: Int, sim: any SimContext)
    /// A tag scheduled with `SimContext.schedule` is due.
    func action(_ tag: UInt64, sim: any SimContext)
    /// A node joined, crashed or left (after the engine applied it).
    func membershipChanged(_ change: MembershipChange, node: Int, sim: any SimContext)
    /// At the end of the run, with every live core still inspectable.
    func report(sim: any SimContext) -> ModeReport
}

extension SimMode {
    public var carriesStream: Bool { true }
    public var streamMode: StreamMode { .direct }
    public var modeParameter: UInt8 { 0 }

    public func bootstrap(for node: Int, sim: any SimContext) -> PeerAddress? {
        guard node != 0, let peer = sim.randomLiveNode(excludingSource: false) else { return nil }
        return sim.identity(of: peer).address
    }

    public func start(sim: any SimContext) {}
    public func observed(_ observation: any Observation, node: Int, sim: any SimContext) {}
    public func action(_ tag: UInt64, sim: any SimContext) {}
    public func membershipChanged(_ change: MembershipChange, node: Int, sim: any SimContext) {}
    public func report(sim: any SimContext) -> ModeReport { ModeReport() }
}

/// What a mode may see and do in the running simulation.
public protocol SimContext: AnyObject {
    var scenario: Scenario { get }
    /// Virtual time of the event being handled.
    var now: Instant { get }
    /// When the source publishes its first chunk (`join.over_s`).
    var streamStart: Instant { get }
    /// The end of the run (`join.over_s + stream.seconds`).
    var runEnd: Instant { get }
    /// The stream the source announces (modeled keys: verification is not run).
    var streamInfo: StreamInfo { get }
    /// Randomness for the mode's own choices, separate from the engine's and the nodes'.
    var rng: SeededRNG { get set }

    /// Node indices ever created (live, departed or not yet joined).
    var nodeCount: Int { get }
    /// Nodes that have joined and not departed, in an arbitrary but reproducible order.
    var liveNodes: [Int] { get }
    func isLive(_ node: Int) -> Bool
    func randomLiveNode(excludingSource: Bool) -> Int?
    func identity(of node: Int) -> NodeRef
    func uploadKbps(of node: Int) -> Double
    /// When the node joined, nil if it has not yet.
    func joinedAt(_ node: Int) -> Instant?
    /// The node's core as it is now (downcast to your type to inspect it).
    func core(_ node: Int) -> any ProtocolCore
    /// The live node whose id is numerically closest to `key` on the ring (ties toward
    /// the smaller id, as `NodeID.isCloser` decides): what a correct lookup reaches.
    func closestLiveNode(to key: NodeID) -> Int?
    /// One-way network delay between two nodes (no queueing).
    func latency(from: Int, to: Int) -> TimeSpan

    /// Calls the mode's `action(tag)` at `time` (not before `now`).
    func schedule(_ tag: UInt64, at time: Instant)
    /// Gives `command` to a live node's core, right after the current event.
    func command(_ command: NodeCommand, node: Int)
    /// Counts one finished (or abandoned) lookup into `lookup.*` and the timeline.
    func recordLookup(_ outcome: LookupOutcome)
}

/// Churn as a mode hears of it.
public enum MembershipChange: Sendable, Equatable {
    case joined
    /// Vanished without a goodbye.
    case crashed
    /// Left gracefully (its core handled `.leave` and its goodbyes are on the wire).
    case left
}

/// One lookup's result, as the mode judged it.
public struct LookupOutcome: Sendable {
    /// When the lookup command was given (places it in a timeline bucket).
    public var issuedAt: Instant
    /// Reached the live node numerically closest to the key.
    public var correct: Bool
    /// Overlay hops, nil if it never arrived.
    public var hops: Int?
    public var latency: TimeSpan?
    /// Lookup latency / direct delay from the asker to the node reached.
    public var stretch: Double?

    public init(issuedAt: Instant, correct: Bool, hops: Int?, latency: TimeSpan?, stretch: Double?) {
        self.issuedAt = issuedAt
        self.correct = correct
        self.hops = hops
        self.latency = latency
        self.stretch = stretch
    }
}

/// What a mode adds to the report.
public struct ModeReport: Sendable {
    /// The `tree` block; nil writes null for each key.
    public var tree: TreeReport?
    /// More keys, written after the contract's keys in this order.
    public var extra: [(String, JSONValue)]

    public init(tree: TreeReport? = nil, extra: [(String, JSONValue)] = []) {
        self.tree = tree
        self.extra = extra
    }
}

/// `tree.*` of the report contract; nil fields are written as null.
public struct TreeReport: Sendable {
    public var depthMean: Double?
    public var depthMax: Int?
    /// Histogram: element k = nodes interior in exactly k stripe trees.
    public var interiorInK: [Int]?
    public var maxDegreeOverCapacity: Double?
    public var repairMsP90: Double?

    public init(depthMean: Double? = nil, depthMax: Int? = nil, interiorInK: [Int]? = nil,
                maxDegreeOverCapacity: Double? = nil, repairMsP90: Double? = nil) {
        self.depthMean = depthMean
        self.depthMax = depthMax
        self.interiorInK = interiorInK
        self.maxDegreeOverCapacity = maxDegreeOverCapacity
        self.repairMsP90 = repairMsP90
    }
}

/// The scenario blocks a mode declared, each an empty object when absent.
public struct ModeBlocks {
    private let values: [String: JSONValue]

    init(values: [String: JSONValue]) { self.values = values }

    /// The block `key` (one of the mode's `blocks`), ready for strict reading.
    public func object(_ key: String) throws -> ScenarioObject {
        guard let value = values[key] else { return ScenarioObject(emptyAt: key) }
        return try ScenarioObject(value, path: key)
    }
}
