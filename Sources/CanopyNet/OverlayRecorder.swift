import CanopyCore
import CanopyPastry
import Foundation

/// The application on every node of an `OverlayHost`: remembers which nodes joined and
/// every lookup delivered here. Nodes run on several event loops, so state sits behind a
/// lock (`@unchecked Sendable` for that reason).
final class OverlayRecorder: NodeApplication, @unchecked Sendable {
    private let lock = NSLock()
    private var joined: Set<NodeID> = []
    private var issued: [OverlayLookupRecord] = []
    private var delivered: [OverlayLookupRecord] = []
    /// Lookups already delivered once (a retried hop can deliver twice; the first counts).
    private var seen: Set<String> = []
    private var nextTag: UInt64 = 0

    func node(_ node: NodeDriver, observed observation: any Observation, now: Instant) {
        switch observation {
        case let joinedNode as OverlayJoined:
            lock.withLock { _ = joined.insert(joinedNode.node.id) }
        case let lookup as LookupDelivered:
            let record = OverlayLookupRecord(key: lookup.key.description, tag: lookup.tag,
                                             origin: lookup.origin.id.description,
                                             deliverer: lookup.deliverer.id.description, hops: lookup.hops,
                                             latencyMs: (now - lookup.issuedAt).milliseconds)
            lock.withLock {
                if seen.insert(record.lookupID).inserted { delivered.append(record) }
            }
        default:
            break
        }
    }

    func hasJoined(_ id: NodeID) -> Bool { lock.withLock { joined.contains(id) } }

    /// Notes a lookup about to be issued and returns its tag.
    func issue(key: NodeID, origin: NodeID) -> UInt64 {
        lock.withLock {
            nextTag += 1
            issued.append(OverlayLookupRecord(key: key.description, tag: nextTag, origin: origin.description))
            return nextTag
        }
    }

    /// Issued lookups, each completed with its delivery when it happened here.
    var lookups: [OverlayLookupRecord] {
        lock.withLock {
            let byID = Dictionary(delivered.map { ($0.lookupID, $0) }, uniquingKeysWith: { first, _ in first })
            return issued.map { byID[$0.lookupID] ?? $0 }
        }
    }

    var deliveries: [OverlayLookupRecord] { lock.withLock { delivered } }
}
