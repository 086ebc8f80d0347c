import CanopyCore

/// A known node with its measured round-trip time (nil until a ping or probe answered).
public struct Neighbour: Sendable, Hashable {
    public var ref: NodeRef
    public var rtt: TimeSpan?

    public init(ref: NodeRef, rtt: TimeSpan?) {
        self.ref = ref
        self.rtt = rtt
    }
}

/// Pastry's prefix routing table: row r, column d holds a node that shares the first r
/// digits with the owner and has d as its next digit.
///
/// Rows are created only when a node for them is learned, so a table in an overlay of N
/// nodes holds about ⌈log_{2^b} N⌉ rows, not 128/b. Among candidates for one slot the
/// one with the smallest measured RTT is kept (proximity neighbour selection).
public struct RoutingTable: Sendable {
    public let owner: NodeID
    public let base: DigitBase
    /// Row-major slots, `rowCount * base.radix` of them.
    private var slots: [Neighbour?] = []

    public init(owner: NodeID, base: DigitBase) {
        self.owner = owner
        self.base = base
    }

    public var rowCount: Int { slots.count / base.radix }

    /// The slot a node belongs in: (shared prefix length, its next digit).
    public func position(of id: NodeID) -> (row: Int, column: Int) {
        let row = base.sharedPrefixLength(owner, id)
        return (row, base.digit(id, row))
    }

    public func entry(row: Int, column: Int) -> Neighbour? {
        row < rowCount ? slots[row * base.radix + column] : nil
    }

    /// The nodes of one row, for a `rowReply`.
    public func row(_ row: Int) -> [Neighbour] {
        guard row < rowCount else { return [] }
        return slots[row * base.radix..<(row + 1) * base.radix].compactMap { $0 }
    }

    /// Every entry, row by row.
    public var entries: [Neighbour] { slots.compactMap { $0 } }

    public var count: Int { slots.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }

    public func contains(_ id: NodeID) -> Bool {
        guard id != owner else { return false }
        let (row, column) = position(of: id)
        return entry(row: row, column: column)?.ref.id == id
    }

    /// What offering `candidate` would do to its slot.
    public enum Offer: Equatable {
        /// Taken: the slot was empty, or the candidate is nearer than the occupant.
        case inserted(replaced: NodeRef?)
        /// Same node: its RTT was refreshed.
        case updated
        /// The occupant stays; `needsMeasurement` when the comparison lacks an RTT.
        case rejected(needsMeasurement: Bool)
    }

    /// Offers a node for its slot; keeps whichever of it and the occupant is nearer.
    public mutating func offer(_ candidate: Neighbour) -> Offer {
        guard candidate.ref.id != owner else { return .rejected(needsMeasurement: false) }
        let (row, column) = position(of: candidate.ref.id)
        while rowCount <= row { slots.append(contentsOf: repeatElement(nil, count: base.radix)) }
        let index = row * base.radix + column
        guard let occupant = slots[index] else {
            slots[index] = candidate
            return .inserted(replaced: nil)
        }
        if occupant.ref.id == candidate.ref.id {
            // The smallest sample is kept: queueing on either upload link only ever adds delay.
            if let rtt = candidate.rtt { slots[index]!.rtt = min(rtt, occupant.rtt ?? rtt) }
            slots[index]!.ref.address = candidate.ref.address
            return .updated
        }
        guard let new = candidate.rtt else { return .rejected(needsMeasurement: true) }
        // An occupant never measured may be dead; a measured candidate is known alive.
        if let old = occupant.rtt, new >= old { return .rejected(needsMeasurement: false) }
        slots[index] = candidate
        return .inserted(replaced: occupant.ref)
    }

    /// Removes `id` if present; returns its slot so a replacement can be sought.
    @discardableResult
    public mutating func remove(_ id: NodeID) -> (row: Int, column: Int)? {
        guard id != owner else { return nil }
        let (row, column) = position(of: id)
        guard row < rowCount, slots[row * base.radix + column]?.ref.id == id else { return nil }
        slots[row * base.radix + column] = nil
        while rowCount > 0, slots[(rowCount - 1) * base.radix..<rowCount * base.radix].allSatisfy({ $0 == nil }) {
            slots.removeLast(base.radix)
        }
        return (row, column)
    }

    /// The entry for `id`, if it is in the table.
    public func neighbour(_ id: NodeID) -> Neighbour? {
        guard id != owner else { return nil }
        let (row, column) = position(of: id)
        guard let e = entry(row: row, column: column), e.ref.id == id else { return nil }
        return e
    }
}
