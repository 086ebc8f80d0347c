import CanopyCore
import CanopyStream

/// The Scribe topic ids of one stream: k stripe ids and the spare-capacity group.
///
/// Stripe i's id is the stream's base id with its first hex digit replaced by i, so the
/// stripe ids differ in their first digit: Pastry routes a join for stripe i through nodes
/// whose ids start with i, which makes a node interior in (at most) the stripe of its own
/// first digit and a leaf in all the others.
public struct StripeTopics: Sendable, Hashable {
    public let stripes: [NodeID]
    /// Nodes with spare upload subscribe here; orphans find a parent by anycast.
    public let spareGroup: NodeID

    public init(streamID: StreamID, stripes count: Int) {
        precondition(count >= 1 && count <= DigitBase.hex.radix, "1...16 stripes")
        let base = Self.topicID(name: "stripes", streamID: streamID)
        stripes = (0..<count).map { DigitBase.hex.replacing(base, digit: 0, with: $0) }
        spareGroup = Self.topicID(name: "spare-capacity", streamID: streamID)
    }

    /// Scribe's topic id: the hash of the topic's name (here qualified by the stream), with
    /// the same truncated SHA-256 that names streams.
    public static func topicID(name: String, streamID: StreamID) -> NodeID {
        SourceKey.streamID(publicKey: Array("\(name):\(streamID)".utf8))
    }

    /// Which stripe carries a chunk: the source deals chunks round-robin.
    public func stripe(ofSequence sequence: UInt32) -> Int { Int(sequence % UInt32(stripes.count)) }

    /// The stripe whose id is `topic`, nil for any other topic.
    public func stripe(of topic: NodeID) -> Int? {
        let index = DigitBase.hex.digit(topic, 0)
        return index < stripes.count && stripes[index] == topic ? index : nil
    }
}
