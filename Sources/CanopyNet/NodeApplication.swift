import CanopyCore

/// What sits on top of a node: the listener's playout, the source's bookkeeping, a
/// bootstrap query. The driver calls it on the node's event loop, never elsewhere, so
/// an application confined to that loop needs no locks.
public protocol NodeApplication: AnyObject, Sendable {
    /// The core delivered a verified chunk.
    func node(_ node: NodeDriver, delivered chunk: Chunk, now: Instant)
    /// An answer to a clock probe this application sent, from `from`.
    func node(_ node: NodeDriver, clockReplyFrom from: PeerAddress, probeSentAt: Int64, answeredAt: Int64, now: Instant)
    /// The core reported something (after the driver counted it).
    func node(_ node: NodeDriver, observed observation: any Observation, now: Instant)
}

extension NodeApplication {
    public func node(_ node: NodeDriver, delivered chunk: Chunk, now: Instant) {}
    public func node(_ node: NodeDriver, clockReplyFrom from: PeerAddress, probeSentAt: Int64, answeredAt: Int64, now: Instant) {}
    public func node(_ node: NodeDriver, observed observation: any Observation, now: Instant) {}
}
