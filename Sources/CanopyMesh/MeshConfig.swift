import CanopyCore

/// How a mesh node decides what to request from whom (announced in `StreamInfo.modeParameter`).
public enum MeshScheduler: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// CoolStreaming/DONet: periodic buffer maps; rarest chunk first, from the fastest
    /// supplier that can still make the deadline.
    case donet = 0
    /// Chainsaw: a HAVE notice per new chunk; random missing chunk from a random holder,
    /// with a cap on outstanding requests per partner.
    case chainsaw = 1

    public var description: String {
        switch self {
        case .donet: "donet"
        case .chainsaw: "chainsaw"
        }
    }
}

/// Every tunable of a mesh node. Defaults suit a 64 kbit/s stream in 200 ms chunks; the
/// simulator's `"mesh"` block and the command line override them.
public struct MeshConfig: Sendable, Equatable {
    public var scheduler: MeshScheduler = .donet
    /// Partners a node tries to keep (DONet's M).
    public var partners = 6
    /// DONet: how often a node tells its partners its buffer map.
    public var bufferMapPeriod: TimeSpan = .seconds(1)
    /// Chainsaw: new chunks gathered into one HAVE notice (1 = one notice per chunk).
    public var haveBatch = 1
    /// The sliding window of chunks a node holds, advertises and requests in.
    public var window: TimeSpan = .seconds(8)
    /// A chunk should arrive within this long of its (estimated) generation: the
    /// scheduler's deadline when it picks a supplier.
    public var deadline: TimeSpan = .seconds(3)
    /// DONet: new buffer-map information is gathered this long before scheduling, so one
    /// request names several chunks.
    public var scheduleDelay: TimeSpan = .seconds(0.1)
    /// Chainsaw: outstanding requests allowed per partner.
    public var requestCap = 4
    /// DONet: outstanding requests allowed per partner (a bound, not a tuning knob).
    public var maxOutstanding = 24
    /// Shortest time a request is given before it is re-sent elsewhere.
    public var requestTimeout: TimeSpan = .seconds(1.5)
    /// The source pushes each new chunk to this many partners.
    public var sourcePush = 3
    /// A supplier refuses a request that would wait longer than this in its upload queue.
    public var maxQueue: TimeSpan = .seconds(0.8)
    /// How often the slowest supplier partner is dropped for a fresh one (0 turns it off).
    public var refinePeriod: TimeSpan = .seconds(30)
    /// Members remembered in the partial view.
    public var viewSize = 32
    public var gossipPeriod: TimeSpan = .seconds(10)
    /// Members named in one gossip message.
    public var gossipSize = 8
    /// A view entry not refreshed for this long is forgotten.
    public var viewLifetime: TimeSpan = .seconds(60)
    /// A partner hears from us at least this often.
    public var keepalive: TimeSpan = .seconds(2)
    /// A partner not heard from for this long is replaced.
    public var silenceTimeout: TimeSpan = .seconds(6)
    /// A newcomer starts playing this many chunks behind the newest one it hears of.
    public var startLag = 2

    public init() {}

    /// Partners accepted at most (room for newcomers beyond `partners`).
    public var maxPartners: Int { partners + max(2, partners / 2) }

    /// A supplier not heard from for this long is not asked for chunks.
    public var suspectAfter: TimeSpan { keepalive + keepalive / 2 }
}
