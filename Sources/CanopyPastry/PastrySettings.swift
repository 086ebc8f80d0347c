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
    /// A node whose own upload queue is longer than this is swamped (`Pastry.isSwamped`): it
    /// skips the upkeep others can get elsewhere or later — routing-table rows, the leaf set
    /// in a probe's answer, probes of nodes merely named to it, proximity pings — because
    /// everything it must send, routed joins and lookups included, waits behind it. A row
    /// on a node that forwards a stream also waits ahead of live data (in a 1,000-node tree
    /// it was a sixth of what long queues held ahead of chunks). The early joiners of a
    /// 1,000-node tree are in everyone's tables; at half the probe timeout (2.5 s there) the
    /// 118 kbit/s ones among them built queues of 1.5–3 s of leaf-set gossip and pongs, and
    /// overlay joins routed through them took p90 2.9 s, p99 4.7 s
    /// (scenarios/tree-1k-crash.json, seed 10). At 250 ms: p90 1.2 s, p99 2.2 s. It has a
    /// cost not yet understood: on tree-10k.json, continuity at 1 s was 0.824 at 2.5 s and
    /// 0.715 at 250 ms (0.73–0.75 at 500 ms and 1 s).
    public var swampedBacklog = TimeSpan.milliseconds(Int64(250))

    /// A node whose own upload queue is longer than this stays silent to routed messages
    /// (no ack, no relay, no delivery), as a node still joining does: an ack queued behind
    /// that much would leave after any previous hop's ack timeout, so that hop routes around
    /// us anyway, and relaying too would only add a copy that arrives seconds late and load a
    /// queue that must drain. The nodes it catches are thin links (a node without upload
    /// still has 32 kbit/s for control) that joined early: every later joiner's table and
    /// route holds them, and a Scribe root among them hands each tree join on. On
    /// scenarios/tree-1k-crash.json (seed 9) such nodes built queues of 10–13 s while the
    /// forest formed; joins routed through them waited there, 8 listeners were first fed 5–9 s
    /// after the stream started, and 3 of the swamped nodes went without stripes for seconds.
    /// Over seeds 7–18, survivors playing without a gap at 5 s went from 0.9867–1.0 (mean
    /// 0.9961) to 0.98999–1.0 (mean 0.9982). With this threshold at 1 s instead, seeds 11 and
    /// 13 fell to 0.979 and 0.968, with their gaps after the crash, not at the start.
    public var drowningBacklog = TimeSpan.seconds(2)

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
