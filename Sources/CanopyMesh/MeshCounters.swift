/// What one mesh node did, for the simulator's report and the status line: enough to see
/// where requests go and why they fail without tracing messages.
public struct MeshCounters: Sendable, Equatable {
    /// Chunks named in requests we sent.
    public var requested = 0
    /// Of those, refused by the supplier or timed out.
    public var refusedToUs = 0
    public var timedOut = 0
    /// Chunks we served, and requests for chunks we refused (no capacity or not held).
    public var served = 0
    public var refusedByUs = 0
    /// Of those served, overdue chunks sent ahead of the queue's order.
    public var overdueServed = 0
    /// Chunks we sent unasked to partners subscribed to their substream, and how often we
    /// moved a substream to another pusher.
    public var pushed = 0
    public var pusherChanges = 0
    /// Partners dropped by the refinement, and lost to silence.
    public var refined = 0
    public var silent = 0
    /// Partners dropped because none of our suppliers held anything we wanted.
    public var barren = 0
    /// Fed partners let go to make room for a newcomer holding nothing.
    public var evicted = 0
    /// The source: chunks pushed again because no partner confirmed holding them.
    public var reseeded = 0
    /// Copies of such chunks passed on by their receivers (`MeshNode.spreadRescued`).
    public var rescueSpreads = 0

    public init() {}
}
