/// Which sequence numbers in a sliding window a node already holds.
///
/// Used to drop duplicates and (in the mesh) to build buffer maps. Memory is fixed:
/// `capacity` bits; anything older than the window counts as held (too late to matter).
public struct SequenceWindow: Sendable {
    private var bits: [UInt64]
    /// Lowest sequence number still tracked.
    public private(set) var base: UInt32 = 0
    public let capacity: Int

    public init(capacity: Int = 4096) {
        precondition(capacity > 0 && capacity % 64 == 0, "capacity must be a positive multiple of 64")
        self.capacity = capacity
        bits = Array(repeating: 0, count: capacity / 64)
    }

    public func contains(_ sequence: UInt32) -> Bool {
        if sequence < base { return true }
        let offset = Int(sequence - base)
        guard offset < capacity else { return false }
        let slot = Int((UInt64(sequence) / 64) % UInt64(bits.count))
        return bits[slot] & (1 << (UInt64(sequence) % 64)) != 0
    }

    /// Marks `sequence` held; returns false if it already was (a duplicate or too old).
    @discardableResult
    public mutating func insert(_ sequence: UInt32) -> Bool {
        if contains(sequence) { return false }
        let limit = UInt64(base) + UInt64(capacity)
        if UInt64(sequence) >= limit { advance(to: sequence - UInt32(capacity) + 1) }
        let slot = Int((UInt64(sequence) / 64) % UInt64(bits.count))
        bits[slot] |= 1 << (UInt64(sequence) % 64)
        return true
    }

    /// Forgets everything below `newBase`.
    public mutating func advance(to newBase: UInt32) {
        guard newBase > base else { return }
        if Int(newBase - base) >= capacity {
            for i in bits.indices { bits[i] = 0 }
        } else {
            var s = base
            while s < newBase {
                let slot = Int((UInt64(s) / 64) % UInt64(bits.count))
                if s % 64 == 0 && newBase - s >= 64 {
                    bits[slot] = 0
                    s += 64
                } else {
                    bits[slot] &= ~(1 << (UInt64(s) % 64))
                    s += 1
                }
            }
        }
        base = newBase
    }
}
