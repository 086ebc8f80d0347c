/// A 128-bit position on the overlay's identifier ring.
///
/// Pastry, Scribe and the stream id all live in this one space, so prefix and ring
/// arithmetic is written once here. On real UDP an id is the hash of the node's public
/// key (so it cannot be chosen freely); in the simulator it is drawn from the seeded RNG.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Most significant 64 bits.
    public var high: UInt64
    /// Least significant 64 bits.
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Takes the first 16 bytes, big-endian; callers pass a cryptographic hash.
    public init<Bytes: Collection>(hashBytes bytes: Bytes) where Bytes.Element == UInt8 {
        precondition(bytes.count >= 16, "a NodeID needs 16 bytes of hash")
        var h: UInt64 = 0, l: UInt64 = 0
        for (i, byte) in bytes.prefix(16).enumerated() {
            if i < 8 { h = h << 8 | UInt64(byte) } else { l = l << 8 | UInt64(byte) }
        }
        self.init(high: h, low: l)
    }

    public static func random(using rng: inout SeededRNG) -> NodeID {
        NodeID(high: rng.next(), low: rng.next())
    }

    public static let zero = NodeID(high: 0, low: 0)

    public static func < (a: NodeID, b: NodeID) -> Bool {
        a.high != b.high ? a.high < b.high : a.low < b.low
    }

    /// Lower-case hex, 32 characters.
    public var description: String {
        hex(high) + hex(low)
    }

    /// The first `count` hex digits, for logs and tables.
    public func short(_ count: Int = 8) -> String { String(description.prefix(count)) }

    /// Parses 32 hex digits.
    public init?(hex text: String) {
        guard text.count == 32, let h = UInt64(text.prefix(16), radix: 16),
              let l = UInt64(text.suffix(16), radix: 16) else { return nil }
        self.init(high: h, low: l)
    }

    public var bytes: [UInt8] {
        (0..<16).map { i in
            let word = i < 8 ? high : low
            return UInt8(truncatingIfNeeded: word >> (UInt64(7 - i % 8) * 8))
        }
    }
}

private func hex(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}
