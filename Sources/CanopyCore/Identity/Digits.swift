/// Digit and prefix arithmetic in base 2^b, the shape of Pastry's routing table.
///
/// Kept apart from `NodeID` so that `b` is an explicit parameter everywhere: the table
/// geometry, the SplitStream stripe ids and the tests all have to agree on it.
public struct DigitBase: Hashable, Sendable {
    /// Bits per digit (Pastry's b); 1...8 and a divisor of 128.
    public let bits: Int

    public init(bits: Int) {
        precondition(bits >= 1 && bits <= 8 && 128 % bits == 0, "b must divide 128 and be at most 8")
        self.bits = bits
    }

    public static let hex = DigitBase(bits: 4)

    /// Number of distinct digit values (2^b).
    public var radix: Int { 1 << bits }
    /// Digits in a 128-bit id.
    public var digitCount: Int { 128 / bits }

    /// The `index`-th digit, most significant first.
    public func digit(_ id: NodeID, _ index: Int) -> Int {
        let bitOffset = index * bits
        let word = bitOffset < 64 ? id.high : id.low
        let shift = 64 - (bitOffset % 64) - bits
        return Int((word >> UInt64(shift)) & UInt64(radix - 1))
    }

    /// How many leading digits two ids share.
    public func sharedPrefixLength(_ a: NodeID, _ b: NodeID) -> Int {
        let bitsShared: Int
        if a.high != b.high {
            bitsShared = (a.high ^ b.high).leadingZeroBitCount
        } else if a.low != b.low {
            bitsShared = 64 + (a.low ^ b.low).leadingZeroBitCount
        } else {
            return digitCount
        }
        return bitsShared / bits
    }

    /// `id` with digit `index` replaced by `value`.
    public func replacing(_ id: NodeID, digit index: Int, with value: Int) -> NodeID {
        let bitOffset = index * bits
        let shift = UInt64(64 - (bitOffset % 64) - bits)
        let mask = UInt64(radix - 1) << shift
        var out = id
        if bitOffset < 64 {
            out.high = (out.high & ~mask) | (UInt64(value) << shift)
        } else {
            out.low = (out.low & ~mask) | (UInt64(value) << shift)
        }
        return out
    }
}

/// Ring arithmetic on the 2^128 identifier circle.
extension NodeID {
    /// `self - other` modulo 2^128 (clockwise distance from `other` to `self`).
    public func subtracting(_ other: NodeID) -> NodeID {
        let (lo, borrow) = low.subtractingReportingOverflow(other.low)
        let hi = high &- other.high &- (borrow ? 1 : 0)
        return NodeID(high: hi, low: lo)
    }

    /// Clockwise distance from `self` to `other`.
    public func clockwiseDistance(to other: NodeID) -> NodeID {
        other.subtracting(self)
    }

    /// The shorter way round the ring between two ids.
    public func ringDistance(to other: NodeID) -> NodeID {
        let cw = clockwiseDistance(to: other)
        let ccw = subtracting(other)
        return min(cw, ccw)
    }

    /// True when `self` is numerically closer to `key` than `other` is; ties break
    /// toward the smaller id so that every node agrees on one closest node.
    public func isCloser(to key: NodeID, than other: NodeID) -> Bool {
        let a = ringDistance(to: key), b = other.ringDistance(to: key)
        return a != b ? a < b : self < other
    }

    /// The distance as a fraction of the ring, for approximate arithmetic (density estimates).
    public var ringFraction: Double {
        (Double(high) + Double(low) / 18446744073709551616.0) / 18446744073709551616.0
    }
}
