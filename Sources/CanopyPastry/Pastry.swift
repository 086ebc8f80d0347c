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
    /// This node's upload queue (overlay and application sends), when its upload rate is
    /// known; nil means a link fast enough that queueing is not modeled.
    public internal(set) var meter: UploadMeter?
    /// The time of the event being handled (set by `PastryNode`), for the queue model.
    var clock = Instant.zero

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
    /// A fingerprint of the leaf set last sent to each node: a probe or reply to a node that
    /// already has our current leaf set carries none. A leaf set is ~20 node refs
    /// (~400 bytes) and liveness probing would otherwise repeat it every period to every
    /// member, which on a thin upload link (a phone, 32 kbit/s) is most of what it sends.
    var leavesSent: [NodeID: UInt64] = [:]

    struct PendingProbe: Sendable {
        var ref: NodeRef
        /// When it left this node (its departure from our upload queue).
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

    /// `uploadKbps`: the node's upload rate, when known, for its queue model (`meter`).
    public init(local: NodeRef, settings: PastrySettings = PastrySettings(), uploadKbps: Double? = nil) {
        self.local = local
        self.meter = uploadKbps.map { UploadMeter(uploadKbps: $0) }
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

    /// The leaf set to put in a probe or probe reply to `id`: all of it when `exchange` is
    /// asked for (a join, a repair, a retry, an answer to a peer that sent its own) or when
    /// `id` has not yet seen it as it is now; otherwise nothing (a bare liveness check).
    mutating func leaves(for id: NodeID, exchange: Bool) -> [NodeRef] {
        let members = verifiedLeaves
        var fingerprint: UInt64 = 0xcbf2_9ce4_8422_2325
        for ref in members { fingerprint = (fingerprint ^ ref.id.high) &* 0x100_0000_01b3 ^ ref.id.low }
        if !exchange && leavesSent[id] == fingerprint { return [] }
        if leavesSent.count >= 4 * settings.leafSetSize { leavesSent = leavesSent.filter { leafSet.contains($0.key) } }
        leavesSent[id] = fingerprint
        return members
    }

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
        let bytes = Fragmenter.wireCost(envelopeSize: WireHeader.size + message.bodySize).bytes
        stats.bytesSent += Int64(bytes)
        meter?.record(bytes: bytes, now: clock)
        effects.send(.pastry(message), to: address)
    }

    /// When `message`, queued now, will have left this node: timeouts start there (and RTT
    /// samples are stamped with it), so a wait that is all our own queue is not blamed on
    /// the peer.
    func departure(of message: PastryMessage, now: Instant) -> Instant {
        guard let meter, meter.bytesPerSecond > 0 else { return now }
        let bytes = Fragmenter.wireCost(envelopeSize: WireHeader.size + message.bodySize).bytes
        return now + meter.backlog(at: now) + TimeSpan(micros: Int64(Double(bytes) / meter.bytesPerSecond * 1e6))
    }

    /// Sends a probe or ping stamped with its departure time (echoed back for the RTT);
    /// returns that time.
    mutating func sendTimed(_ message: PastryMessage, to address: PeerAddress, purpose: Purpose, now: Instant,
                            effects: inout Effects) -> Instant {
        let departs = departure(of: message, now: now)
        let stamped: PastryMessage = switch message {
        case .leafProbe(_, let members): .leafProbe(sentAt: departs.micros, leafSet: members)
        case .ping: .ping(sentAt: departs.micros)
        default: message
        }
        send(stamped, to: address, purpose: purpose, effects: &effects)
        return departs
    }

    /// True while our own queue is long (`PastrySettings.swampedBacklog`): upkeep that can
    /// wait is skipped, so the queue drains instead of growing.
    func isSwamped(_ now: Instant) -> Bool { backlog(now) > settings.swampedBacklog }

    /// True while our queue is so long that routed messages are left to other routes
    /// (`PastrySettings.drowningBacklog`).
    func isDrowning(_ now: Instant) -> Bool { backlog(now) > settings.drowningBacklog }

    /// How long a message sent now would wait in our upload queue (zero where the queue is
    /// not modeled).
    private func backlog(_ now: Instant) -> TimeSpan { meter?.backlog(at: now) ?? .zero }

    func isDead(_ id: NodeID, now: Instant) -> Bool {
        guard let until = dead[id] else { return false }
        return until > now
    }
}
