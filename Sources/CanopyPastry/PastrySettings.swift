import CanopyCore

/// Pastry's parameters. Defaults follow the paper (b = 4, L = 16, M = 16); periods and
/// timeouts are chosen so a crashed leaf is noticed within about 15 s and a lost hop is
/// retried within a few round trips.
public struct PastrySettings: Sendable, Hashable {
    /// Bits per digit (b); the routing table has 2^b columns.
    public var digitBits = 4
    /// Leaf set size L (even): L/2 nearest ids on each side.
    public var leafSetSize = 16
    /// Neighbourhood set size M: the nodes nearest by RTT.
    public var neighbourhoodSize = 16
    /// How often each leaf-set member not heard from lately is probed.
    public var leafProbePeriod = TimeSpan.seconds(10)
    /// How long a probe may go unanswered before it is retried, and then before the
    /// member is declared dead.
    public var probeTimeout = TimeSpan.seconds(2)
    /// How often each routing-table row is refreshed from a near member of that row and
    /// every entry is pinged for liveness (the first refreshes after a join come sooner).
    public var tableMaintenancePeriod = TimeSpan.seconds(30)
    /// RTT probes allowed per maintenance period (bounds proximity-selection traffic).
    /// Proximity selection is only as good as the candidates measured: 64 left the nearest
    /// ones unmeasured for minutes in a 3,000-node overlay; 256 costs ~1.5× the upkeep.
    public var pingBudget = 256
    /// Hop acknowledgement timeout for a hop whose RTT is unknown.
    public var ackTimeout = TimeSpan.seconds(1)
    /// Added to twice the measured RTT when the hop's RTT is known.
    public var ackSlack = TimeSpan.milliseconds(Int64(150))
    /// A route is retried through at most this many alternative hops at one node.
    public var maxRetries = 4
    /// Routes awaiting a hop ack; beyond this they are sent without retry protection.
    public var maxPendingRoutes = 512
    /// How long a node declared dead is refused when others mention it.
    public var deadMemory = TimeSpan.seconds(120)
    /// Most dead nodes remembered.
    public var maxDeadRemembered = 1024
    /// A join that has not been answered after this long is sent again.
    public var joinRetry = TimeSpan.seconds(5)
    /// A node answers another's request for a routing-table row only while its own upload
    /// queue is shorter than this: a row is an upkeep courtesy the asker can get elsewhere
    /// or next period, and on a node that forwards a stream it waits ahead of live data (in
    /// a 1,000-node tree it was a sixth of what long queues held ahead of chunks).
    public var rowReplyBacklog = TimeSpan.milliseconds(Int64(250))

    public init() {}

    public var base: DigitBase { DigitBase(bits: digitBits) }
}

/// Pastry's own timers. Applications must use other `TimerKey.kind` values.
public enum PastryTimers {
    public static let reservedKinds: Range<UInt32> = 0x4000_0000..<0x4100_0000
    static let leafTick: UInt32 = 0x4000_0001
    static let probeCheck: UInt32 = 0x4000_0002
    static let tableTick: UInt32 = 0x4000_0003
    static let ackTimeout: UInt32 = 0x4000_0004
    static let joinRetry: UInt32 = 0x4000_0005
}
