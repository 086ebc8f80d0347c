import CanopyCore
import CanopyStream

/// What one node's driver counted: traffic, rejections by reason, pacer drops and the
/// observations its core reported. A snapshot, taken on the node's event loop.
public struct NodeCounters: Sendable, Equatable {
    public var datagramsIn = 0
    public var bytesIn = 0
    public var datagramsOut = 0
    public var bytesOut = 0
    /// Datagrams dropped before reaching the core, keyed by `WireError.reason` (plus
    /// `not_ready`, `nested_fragment`), and chunks the core refused, by `ChunkRejected.Reason`.
    public var rejected: [String: Int] = [:]
    /// Datagrams the upload pacer dropped because its queue was full.
    public var pacerDropped = 0
    public var delivered = 0
    /// Messages carrying stream chunks that this node sent to peers: non-zero only for a
    /// node that forwards or serves the stream (a tree parent, a mesh supplier), which is
    /// how a test or an operator tells an interior listener from a leaf.
    public var chunksSent = 0
    public var messagesReassembled = 0
    /// Every observation by type name, for logs and tests.
    public var observations: [String: Int] = [:]

    public init() {}

    /// All rejected datagrams and chunks, whatever the reason.
    public var rejectedTotal: Int { rejected.values.reduce(0, +) }

    mutating func count(_ observation: any Observation) {
        observations[String(describing: type(of: observation)), default: 0] += 1
        if let rejection = observation as? ChunkRejected {
            rejected[rejection.reason.rawValue, default: 0] += 1
        }
    }
}
