/// What a real-UDP run measured over its nodes, in the simulator's terms, so the UDP
/// driver's bench and the simulator's report code share one definition of each count.
public struct TrafficCounters: Sendable, Equatable {
    public var messages = 0
    public var datagrams = 0
    /// Wire bytes of data (chunk) messages, and the payload inside them.
    public var dataBytes: Int64 = 0
    public var payloadBytes: Int64 = 0
    /// Wire bytes of every other message.
    public var controlBytes: Int64 = 0
    public var duplicates = 0
    /// Datagrams the upload pacers dropped (queue full) and the drivers rejected.
    public var pacerDropped = 0
    public var rejected = 0

    public init() {}

    /// Sums another node's counts into these.
    public static func += (total: inout TrafficCounters, other: TrafficCounters) {
        total.messages += other.messages
        total.datagrams += other.datagrams
        total.dataBytes += other.dataBytes
        total.payloadBytes += other.payloadBytes
        total.controlBytes += other.controlBytes
        total.duplicates += other.duplicates
        total.pacerDropped += other.pacerDropped
        total.rejected += other.rejected
    }
}

/// One chunk a node received, timed on the clock its run shares (µs).
public struct ChunkReception: Sendable, Equatable {
    public var sequence: UInt32
    public var generatedAt: Int64
    public var receivedAt: Int64

    public init(sequence: UInt32, generatedAt: Int64, receivedAt: Int64) {
        self.sequence = sequence
        self.generatedAt = generatedAt
        self.receivedAt = receivedAt
    }
}
