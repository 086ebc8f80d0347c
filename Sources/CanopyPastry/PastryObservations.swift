import CanopyCore

/// A lookup reached the node that believes itself responsible for the key. The simulator
/// compares `deliverer` with the true numerically closest live node.
public struct LookupDelivered: Observation, Hashable {
    public var key: NodeID
    public var tag: UInt64
    public var hops: Int
    public var deliverer: NodeRef
    public var origin: NodeRef
    /// When the origin issued it, on the origin's clock (the simulator's clock is shared).
    public var issuedAt: Instant
}

/// This node finished joining (it received the root's leaf set).
public struct OverlayJoined: Observation, Hashable {
    public var node: NodeRef
}

/// Messages a node sent, by purpose, so reports can show what joins and upkeep cost.
public struct PastryStats: Sendable, Hashable {
    /// Sent because some node joined: join hops, rows and leaf sets for joiners,
    /// the joiner's announcements.
    public var joinMessages = 0
    /// Probes, replies, pings, row requests, leave notices.
    public var maintenanceMessages = 0
    /// Routed messages and their hop acks.
    public var routeMessages = 0
    /// Bytes on the wire of everything above (fragment headers included): an application
    /// sharing the node's upload (SplitStream's queue model) counts them against it.
    public var bytesSent: Int64 = 0

    public init() {}
}
