import CanopyCore
import Foundation

/// What one process running overlay nodes saw, as JSON: its node ids, the lookups it
/// issued and every lookup delivered at its nodes. A lookup may be delivered in another
/// process, so whoever judges correctness merges the reports of all processes, matching
/// issued lookups to deliveries by (origin, tag).
public struct OverlayReport: JSONFile, Sendable, Equatable {
    /// One node of this process: its id (32 hex digits) and bound address.
    public struct Node: Codable, Sendable, Equatable {
        public var id: String
        public var address: String
    }

    /// False while the process is still running (written once the joins settled), true in
    /// the report written on the way out.
    public var complete: Bool
    public var nodes: [Node]
    /// Lookups issued here; `deliverer`, `hops` and `latencyMs` are filled only when a node
    /// of this process delivered it.
    public var lookups: [OverlayLookupRecord]
    /// Every lookup delivered at a node of this process, whoever issued it.
    public var deliveries: [OverlayLookupRecord]

    public var nodeIDs: [NodeID] { nodes.compactMap { NodeID(hex: $0.id) } }
}

/// One lookup, as issued and (when known) as delivered. Ids are 32 hex digits.
public struct OverlayLookupRecord: Codable, Sendable, Hashable {
    public var key: String
    public var tag: UInt64
    public var origin: String
    public var deliverer: String?
    public var hops: Int?
    /// From issue (origin's monotonic clock) to delivery (deliverer's); comparable across
    /// processes because both read the same machine's monotonic clock.
    public var latencyMs: Double?

    /// Identifies a lookup across processes: tags are unique per origin node.
    public var lookupID: String { "\(origin)/\(tag)" }
}
