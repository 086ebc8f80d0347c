import CanopyCore

// The key-based routing (KBR) interface, in the spirit of the "common API" for structured
// overlays (Dabek et al., IPTPS 2003). Upper layers (Scribe, SplitStream) are written
// against this file only, never against Pastry's tables, so the overlay can change
// without touching them.
//
// Shape: an application is a value type conforming to `KBRApplication`. `PastryNode<App>`
// owns both the Pastry routing state and the application, implements `ProtocolCore`, and
// calls the application synchronously for every upcall. The application talks back through
// the `KBRContext` it is handed (route, send, timers, observations), never by holding a
// reference to the node, so everything stays a plain value and one seed replays one run.
//
// Timer kinds: Pastry owns `TimerKey.kind` values in `PastryTimers.reservedKinds`
// (0x4000_0000..<0x4100_0000); every other timer that fires is handed to the application.

/// Where a routed message is, as seen by the application at one node.
public struct RouteInfo: Sendable, Hashable {
    /// The key the message is routed toward.
    public var key: NodeID
    /// The node that called `route`.
    public var origin: NodeRef
    /// The node this one received the message from; nil at the origin itself.
    public var previousHop: NodeRef?
    /// Overlay hops taken so far (0 at the origin).
    public var hops: Int

    public init(key: NodeID, origin: NodeRef, previousHop: NodeRef?, hops: Int) {
        self.key = key
        self.origin = origin
        self.previousHop = previousHop
        self.hops = hops
    }
}

/// The application's answer to `forward`: let the message go on to the next hop (with
/// whatever changes the application made to it), or consume it here.
public enum ForwardDecision: Sendable, Hashable {
    case proceed
    /// Stop routing: the application has handled the message at this node (Scribe stops a
    /// JOIN at the first node already in the tree).
    case stop
}

/// An upper layer riding on the overlay. Every upcall gets the `KBRContext` through which
/// it may route, send directly, set timers and observe. All methods have no-op defaults,
/// so an application implements only what it needs.
public protocol KBRApplication: Sendable {
    /// The message reached the node responsible for `route.key` (this node).
    mutating func deliver(_ payload: Message, route: RouteInfo, kbr: inout KBRContext)

    /// The message passes through this node on its way to `nextHop`; called at every node
    /// that forwards it, the origin included (`route.previousHop == nil` there). The
    /// application may change `payload` (the changed one is sent) or stop it.
    mutating func forward(_ payload: inout Message, route: RouteInfo, nextHop: NodeRef,
                          kbr: inout KBRContext) -> ForwardDecision

    /// A node entered (`joined == true`) or left this node's leaf set — the nodes whose
    /// presence changes what this node is responsible for. Also called with `false` when
    /// Pastry declares any known node dead, so Scribe can repair a lost parent or child early.
    mutating func update(_ node: NodeRef, joined: Bool, kbr: inout KBRContext)

    /// A message that is not Pastry's arrived directly (sent with `KBRContext.send`).
    mutating func receive(_ message: Message, from sender: NodeRef, kbr: inout KBRContext)

    /// A timer of the application's own (any kind outside Pastry's reserved range) fired.
    mutating func timer(_ key: TimerKey, kbr: inout KBRContext)

    /// A local command. `join` and `leave` reach the application after Pastry acted on them
    /// (on `leave`, before Pastry says goodbye, so the application can send its own); `lookup`
    /// is Pastry's and never reaches it.
    mutating func command(_ command: NodeCommand, kbr: inout KBRContext)

    /// This node has finished joining: it has a leaf set and can route. Applications that
    /// route on start (Scribe subscriptions) begin here.
    mutating func overlayReady(kbr: inout KBRContext)

    /// The node's upload rate, kbit/s, when the application knows it: the node then models
    /// its upload queue (`KBRContext.uploadBacklog`) and Pastry times its waits from when a
    /// message really leaves. Nil (the default): the link is taken to be fast enough.
    var modeledUploadKbps: Double? { get }
}

extension KBRApplication {
    public mutating func deliver(_ payload: Message, route: RouteInfo, kbr: inout KBRContext) {}
    public mutating func forward(_ payload: inout Message, route: RouteInfo, nextHop: NodeRef,
                                 kbr: inout KBRContext) -> ForwardDecision { .proceed }
    public mutating func update(_ node: NodeRef, joined: Bool, kbr: inout KBRContext) {}
    public mutating func receive(_ message: Message, from sender: NodeRef, kbr: inout KBRContext) {}
    public mutating func timer(_ key: TimerKey, kbr: inout KBRContext) {}
    public mutating func command(_ command: NodeCommand, kbr: inout KBRContext) {}
    public mutating func overlayReady(kbr: inout KBRContext) {}
    public var modeledUploadKbps: Double? { nil }
}

/// The application that does nothing: Pastry alone (the simulator's `overlay` mode, lookups).
public struct NoApplication: KBRApplication {
    public init() {}
}

/// What an application may see and do during one upcall.
///
/// `route` is queued and carried out by the node right after the upcall returns, so an
/// application is never re-entered while it is running (a `route` to a key this node is
/// responsible for produces a `deliver` upcall after the current one).
public struct KBRContext {
    /// This node.
    public let local: NodeRef
    public let now: Instant
    public var rng: SeededRNG
    /// Effects of the current event; `send`, `setTimer`, `observe` append here.
    public var effects: Effects
    /// Routes asked for during this upcall, in order (carried out after it returns).
    public private(set) var routeRequests: [(key: NodeID, payload: Message)] = []
    /// A read-only view of the overlay's state at this moment (not changed during an upcall).
    private let overlay: Pastry
    /// The node's upload queue, with what this upcall sends added (handed back to Pastry after).
    private(set) var meter: UploadMeter?

    init(overlay: Pastry, now: Instant, rng: SeededRNG, effects: Effects) {
        self.local = overlay.local
        self.overlay = overlay
        self.meter = overlay.meter
        self.now = now
        self.rng = rng
        self.effects = effects
    }

    /// A context for unit tests of an application: a joined node whose leaf set holds
    /// `leafSet` (nodes that do not fit L/2 per side are left out, as Pastry would).
    /// `uploadKbps` and `queuedBytes` set up the node's upload queue model.
    public init(testingAs local: NodeRef, leafSet members: [NodeRef] = [], now: Instant = .zero,
                rng: SeededRNG = SeededRNG(seed: 1), settings: PastrySettings = PastrySettings(),
                uploadKbps: Double? = nil, queuedBytes: Int = 0) {
        var overlay = Pastry(local: local, settings: settings, uploadKbps: uploadKbps)
        overlay.meter?.record(bytes: queuedBytes, now: now)
        overlay.isJoined = true
        var evicted: [NodeRef] = []
        for ref in members { overlay.leafSet.insert(ref, evicted: &evicted) }
        self.init(overlay: overlay, now: now, rng: rng, effects: Effects())
    }

    /// True once this node has joined the overlay (`overlayReady` was called).
    public var isJoined: Bool { overlay.isJoined }

    /// How long a message sent now would wait in this node's upload queue (everything the
    /// overlay and the application sent before it); zero when the upload rate is not known.
    public var uploadBacklog: TimeSpan { meter?.backlog(at: now) ?? .zero }

    /// The current leaf set: up to L/2 nearest ids on each side of `local.id`.
    public var leafSet: LeafSet { overlay.leafSet }

    /// Routes `payload` toward the live node numerically closest to `key`
    /// (`forward` upcalls on the way, `deliver` there).
    public mutating func route(_ key: NodeID, _ payload: Message) {
        routeRequests.append((key, payload))
    }

    /// Sends `message` straight to a known node, outside the overlay's routing (Scribe's
    /// data to its children). It arrives through the receiver's `receive` upcall.
    public mutating func send(_ message: Message, to node: NodeRef) {
        meter?.record(message, now: now)
        effects.send(message, to: node.address)
    }

    /// True when this node is the root for `key`: the numerically closest among itself and
    /// its leaf set (the closest live node, once leaf sets are consistent).
    public func isResponsible(for key: NodeID) -> Bool {
        overlay.isResponsible(for: key)
    }

    /// The round-trip time Pastry last measured to `id` (it pings routing-table candidates
    /// and probes its leaf set), nil if it has none. For ranking candidates by proximity.
    public func proximity(to id: NodeID) -> TimeSpan? {
        overlay.rtt(to: id)
    }

    public mutating func setTimer(_ key: TimerKey, at time: Instant) {
        precondition(!PastryTimers.reservedKinds.contains(key.kind), "timer kind reserved for Pastry")
        effects.setTimer(key, at: time)
    }

    public mutating func cancelTimer(_ key: TimerKey) {
        effects.cancelTimer(key)
    }

    public mutating func observe(_ observation: any Observation) {
        effects.observe(observation)
    }
}
