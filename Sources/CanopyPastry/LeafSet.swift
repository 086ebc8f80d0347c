import CanopyCore

/// The L/2 numerically nearest known nodes on each side of the owner's id.
///
/// The leaf set decides who is responsible for a key, so it is kept exact: each side is
/// sorted by ring distance, nearest first, and in a ring smaller than L the same node may
/// sit on both sides (it is then both a successor and a predecessor).
public struct LeafSet: Sendable {
    public let owner: NodeID
    /// Members per side (L/2).
    public let half: Int
    /// Counter-clockwise neighbours (smaller ids, wrapping), nearest first.
    public private(set) var left: [NodeRef] = []
    /// Clockwise neighbours (larger ids, wrapping), nearest first.
    public private(set) var right: [NodeRef] = []

    public init(owner: NodeID, size: Int) {
        precondition(size >= 2 && size % 2 == 0, "leaf set size must be even and at least 2")
        self.owner = owner
        self.half = size / 2
    }

    /// Every member once (a node on both sides appears once).
    public var members: [NodeRef] {
        var out = left
        for ref in right where !left.contains(ref) { out.append(ref) }
        return out
    }

    public var isEmpty: Bool { left.isEmpty && right.isEmpty }

    public func contains(_ id: NodeID) -> Bool {
        left.contains { $0.id == id } || right.contains { $0.id == id }
    }

    public func member(_ id: NodeID) -> NodeRef? {
        left.first { $0.id == id } ?? right.first { $0.id == id }
    }

    /// True when a side is not full: the owner then knows the whole (small) ring.
    public var knowsWholeRing: Bool { left.count < half || right.count < half }

    /// True when `key` lies between the farthest members of the two sides, so the leaf set
    /// alone decides who is responsible for it.
    public func covers(_ key: NodeID) -> Bool {
        guard !knowsWholeRing, let low = left.last, let high = right.last else { return true }
        return low.id.clockwiseDistance(to: key) <= low.id.clockwiseDistance(to: high.id)
    }

    /// The member numerically closest to `key`, or nil when the owner itself is closest.
    public func closest(to key: NodeID) -> NodeRef? {
        var best: NodeRef?
        var bestID = owner
        for ref in left where ref.id.isCloser(to: key, than: bestID) {
            best = ref
            bestID = ref.id
        }
        for ref in right where ref.id.isCloser(to: key, than: bestID) {
            best = ref
            bestID = ref.id
        }
        return best
    }

    /// Adds `ref` to each side it belongs to; true if it entered either side.
    /// Nodes pushed out past L/2 are returned in `evicted` (when they left both sides).
    @discardableResult
    public mutating func insert(_ ref: NodeRef, evicted: inout [NodeRef]) -> Bool {
        guard ref.id != owner, !contains(ref.id) else { return false }
        let enteredRight = Self.insert(ref, into: &right, half: half, evicted: &evicted) { owner.clockwiseDistance(to: $0) }
        let enteredLeft = Self.insert(ref, into: &left, half: half, evicted: &evicted) { $0.clockwiseDistance(to: owner) }
        evicted.removeAll { contains($0.id) }
        return enteredLeft || enteredRight
    }

    /// Removes `id` from both sides; true if it was a member.
    @discardableResult
    public mutating func remove(_ id: NodeID) -> Bool {
        let before = left.count + right.count
        left.removeAll { $0.id == id }
        right.removeAll { $0.id == id }
        return left.count + right.count != before
    }

    /// Would `id` enter the leaf set if inserted? (Lets callers skip work for far nodes.)
    public func wouldAccept(_ id: NodeID) -> Bool {
        guard id != owner, !contains(id) else { return false }
        if right.count < half || left.count < half { return true }
        return owner.clockwiseDistance(to: id) < owner.clockwiseDistance(to: right[right.count - 1].id)
            || id.clockwiseDistance(to: owner) < left[left.count - 1].id.clockwiseDistance(to: owner)
    }

    private static func insert(_ ref: NodeRef, into side: inout [NodeRef], half: Int, evicted: inout [NodeRef],
                               distance: (NodeID) -> NodeID) -> Bool {
        let d = distance(ref.id)
        var index = side.count
        while index > 0 && distance(side[index - 1].id) > d { index -= 1 }
        guard index < half else { return false }
        side.insert(ref, at: index)
        if side.count > half { evicted.append(side.removeLast()) }
        return true
    }
}
