import CanopyCore

/// Pastry's routing state and its own protocol (join, probing, repair, proximity), as a
/// plain value. It never calls the application: `PastryNode` runs the routing steps that
/// need upcalls and drains `outbox` for the rest.
public struct Pastry: Sendable {
    public let local: NodeRef
    public let settings: PastrySettings
    public internal(set) var leafSet: LeafSet
    public internal(set) var table: RoutingTable
    /// Up to M nodes nearest by measured RTT, nearest first.
    public internal(set) var neighbourhood: [Neighbour] = []
    public internal(set) var isJoined = false
    public internal(set) var hasLeft = false
    public internal(set) var stats = PastryStats()

    var bootstrap: PeerAddress?
    var joinAttempts = 0
    /// Table refreshes done so far (the first few come quickly).
    var tableTicks = 0
    /// Last time each leaf-set member was heard from.
    var leafHeard: [NodeID: Instant] = [:]
    /// Leaf-set probes awaiting an answer.
    var probes: [NodeID: PendingProbe] = [:]
    var probeCheckAt: Instant?
    /// Routing-table entries pinged for liveness and not yet answered: in a table chosen
    /// for proximity, entries are rarely displaced, so a crashed one would otherwise stay
    /// until a routed message hit it and waited out an ack timeout.
    var tablePings: [NodeID: PendingProbe] = [:]
    /// Nodes declared dead, refused until the given time.
    var dead: [NodeID: Instant] = [:]
    /// Routed messages awaiting the next hop's ack, by seq.
    var pending: [UInt32: PendingRoute] = [:]
    var nextSeq: UInt32 = 1
    var pingTokens: Int
    var outbox = Outbox()

    struct PendingProbe: Sendable {
        var ref: NodeRef
        var sentAt: Instant
        var attempts: Int
    }

    struct PendingRoute: Sendable {
        var envelope: RouteEnvelope
        var previousHop: NodeRef?
        var nextHop: NodeID
        var retries: Int
    }

    /// What Pastry wants the node to do that involves the application or routing.
    struct Outbox: Sendable {
        /// Routes whose hop failed, to be routed again from here (no new `forward` upcall).
        var reroutes: [(envelope: RouteEnvelope, previousHop: NodeRef?, retries: Int)] = []
        var updates: [(node: NodeRef, joined: Bool)] = []
        var becameReady = false
    }

    public init(local: NodeRef, settings: PastrySettings = PastrySettings()) {
        self.local = local
        self.settings = settings
        self.leafSet = LeafSet(owner: local.id, size: settings.leafSetSize)
        self.table = RoutingTable(owner: local.id, base: settings.base)
        self.pingTokens = settings.pingBudget
    }

    // MARK: routing decision

    /// The next hop toward `key`, or nil when this node is responsible for it: the leaf
    /// set when it covers the key, else the table entry for the next digit, else (the rare
    /// case) any known node sharing as long a prefix and numerically closer.
    public func nextHop(for key: NodeID) -> NodeRef? {
        if leafSet.covers(key) { return leafSet.closest(to: key) }
        let row = settings.base.sharedPrefixLength(local.id, key)
        if row < table.rowCount, let entry = table.entry(row: row, column: settings.base.digit(key, row)) {
            return entry.ref
        }
        return rareCaseHop(for: key, prefix: row)
    }

    private func rareCaseHop(for key: NodeID, prefix: Int) -> NodeRef? {
        var best: NodeRef?
        var bestID = local.id
        func consider(_ ref: NodeRef) {
            if ref.id.isCloser(to: key, than: bestID), settings.base.sharedPrefixLength(ref.id, key) >= prefix {
                best = ref
                bestID = ref.id
            }
        }
        for ref in leafSet.left { consider(ref) }
        for ref in leafSet.right { consider(ref) }
        for n in table.entries { consider(n.ref) }
        for n in neighbourhood { consider(n.ref) }
        return best
    }

    /// Leaf-set members this node has heard from directly: the only ones it passes on, so a
    /// dead node named by one stale peer does not spread from leaf set to leaf set.
    public var verifiedLeaves: [NodeRef] { leafSet.members.filter { leafHeard[$0.id] != nil } }

    /// True when this node is the root for `key` by its own knowledge.
    public func isResponsible(for key: NodeID) -> Bool { leafSet.closest(to: key) == nil }

    /// The RTT last measured to `id`, if it is a table or neighbourhood entry.
    public func rtt(to id: NodeID) -> TimeSpan? {
        table.neighbour(id)?.rtt ?? neighbourhood.first { $0.ref.id == id }?.rtt
    }

    /// Routing state held, in node entries (leaf set + table + neighbourhood).
    public var stateSize: Int { leafSet.left.count + leafSet.right.count + table.count + neighbourhood.count }

    // MARK: sending

    enum Purpose { case join, maintenance, route }

    mutating func send(_ message: PastryMessage, to address: PeerAddress, purpose: Purpose, effects: inout Effects) {
        switch purpose {
        case .join: stats.joinMessages += 1
        case .maintenance: stats.maintenanceMessages += 1
        case .route: stats.routeMessages += 1
        }
        stats.bytesSent += Int64(Fragmenter.wireCost(envelopeSize: WireHeader.size + message.bodySize).bytes)
        effects.send(.pastry(message), to: address)
    }

    func isDead(_ id: NodeID, now: Instant) -> Bool {
        guard let until = dead[id] else { return false }
        return until > now
    }
}
