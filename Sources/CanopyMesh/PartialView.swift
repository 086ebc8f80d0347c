import CanopyCore

/// A bounded random sample of live members, spread by gossip (SCAM-like): new names are
/// added, a full view replaces a random entry, and an entry nobody refreshes ages out, so
/// departed members disappear without anyone announcing it.
struct PartialView: Sendable {
    struct Entry: Sendable {
        var ref: NodeRef
        var refreshedAt: Instant
    }

    let capacity: Int
    let lifetime: TimeSpan
    /// Kept in insertion order so every choice is reproducible.
    private(set) var entries: [Entry] = []

    init(capacity: Int, lifetime: TimeSpan) {
        self.capacity = max(1, capacity)
        self.lifetime = lifetime
    }

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    func contains(_ address: PeerAddress) -> Bool { entries.contains { $0.ref.address == address } }

    /// Adds or refreshes `ref`. `direct` means we heard from it ourselves, which refreshes
    /// its age; a name heard second-hand only adds a missing entry.
    mutating func add(_ ref: NodeRef, now: Instant, direct: Bool, rng: inout SeededRNG) {
        if let index = entries.firstIndex(where: { $0.ref.address == ref.address }) {
            if direct { entries[index] = Entry(ref: ref, refreshedAt: now) }
            return
        }
        let entry = Entry(ref: ref, refreshedAt: now)
        if entries.count < capacity {
            entries.append(entry)
        } else {
            entries[Int.random(in: 0..<entries.count, using: &rng)] = entry
        }
    }

    mutating func remove(_ address: PeerAddress) {
        entries.removeAll { $0.ref.address == address }
    }

    mutating func expire(now: Instant) {
        entries.removeAll { now - $0.refreshedAt > lifetime }
    }

    /// Up to `count` distinct random members.
    func sample(_ count: Int, rng: inout SeededRNG) -> [NodeRef] {
        var refs = entries.map(\.ref)
        guard refs.count > count else { return refs }
        for i in 0..<count { refs.swapAt(i, Int.random(in: i..<refs.count, using: &rng)) }
        return Array(refs.prefix(count))
    }
}
