import CanopyCore
import CanopyPastry

/// The lookup application's simulator side, for every mode that runs Pastry: issues the
/// scenario's `lookups` from random joined nodes at evenly spread times over the stream
/// period (less a tail in which the last ones arrive), and judges each delivery against the
/// true numerically closest live node.
///
/// A mode owns one, calls `start` from its `start`, forwards `action` tags for which
/// `owns(tag)` is true, passes `LookupDelivered` observations, and calls `finish` from
/// `report` (lookups that never arrived count as incorrect).
public final class OverlayLookups {
    /// Action tags used by lookups: this bit set, the lookup index below it.
    public static let tagBit: UInt64 = 1 << 60

    private struct Pending {
        var issuedAt: Instant
        var origin: Int
        var key: NodeID
    }

    private let count: Int
    private var pending: [UInt64: Pending] = [:]
    /// Lookups that could not be issued (no joined node at that moment).
    public private(set) var notIssued = 0

    public init(count: Int) {
        self.count = count
    }

    public func owns(_ tag: UInt64) -> Bool { tag & Self.tagBit != 0 }

    public func start(sim: any SimContext) {
        guard count > 0 else { return }
        // The last tenth of the period (at most 10 s) is left for the last lookups to arrive.
        let period = sim.runEnd - sim.streamStart
        let span = period - min(period / 10, .seconds(10))
        for i in 0..<count {
            let offset = TimeSpan(micros: span.micros * Int64(2 * i + 1) / Int64(2 * count))
            sim.schedule(Self.tagBit | UInt64(i), at: sim.streamStart + offset)
        }
    }

    /// A random live node whose overlay has joined (a few tries), nil if none was found.
    public static func joinedNode(sim: any SimContext) -> Int? {
        for _ in 0..<32 {
            guard let node = sim.randomLiveNode(excludingSource: false) else { return nil }
            if let host = sim.core(node) as? any OverlayHosting, host.pastry.isJoined { return node }
        }
        return nil
    }

    /// Issues lookup `tag` from a random live node whose overlay has joined.
    public func action(_ tag: UInt64, sim: any SimContext) {
        guard let node = Self.joinedNode(sim: sim) else {
            notIssued += 1
            return
        }
        let key = NodeID.random(using: &sim.rng)
        pending[tag] = Pending(issuedAt: sim.now, origin: node, key: key)
        sim.command(.lookup(key: key, tag: tag), node: node)
    }

    /// Judges a delivery; only the first delivery of a lookup counts.
    public func observed(_ observation: any Observation, node: Int, sim: any SimContext) {
        guard let delivered = observation as? LookupDelivered,
              let lookup = pending.removeValue(forKey: delivered.tag) else { return }
        let latency = sim.now - lookup.issuedAt
        let direct = sim.latency(from: lookup.origin, to: node)
        let stretch = direct.micros > 0 && delivered.hops > 0 ? latency.seconds / direct.seconds : nil
        sim.recordLookup(LookupOutcome(issuedAt: lookup.issuedAt, correct: sim.closestLiveNode(to: lookup.key) == node,
                                       hops: delivered.hops, latency: latency, stretch: stretch))
    }

    /// Counts lookups still unanswered at the end as lost.
    public func finish(sim: any SimContext) {
        for tag in pending.keys.sorted() {
            let lookup = pending[tag]!
            sim.recordLookup(LookupOutcome(issuedAt: lookup.issuedAt, correct: false, hops: nil, latency: nil, stretch: nil))
        }
        pending.removeAll()
    }
}
