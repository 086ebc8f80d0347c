import NIOCore

/// Splits messages larger than one datagram into `Fragment`s and puts them back together,
/// with hard bounds: a hostile peer can hold at most `maxPending` reassemblies, each at
/// most `Fragment.maxCount` pieces, and stale ones are dropped.
public struct Fragmenter: Sendable {
    /// Bytes of an encoded envelope a single fragment can carry.
    public static let piece = WireHeader.maxDatagram - WireHeader.shortSize - Fragment.overhead
    /// The largest message that can arrive in fragments.
    public static let maxReassembled = piece * Int(Fragment.maxCount)

    /// How many datagrams and wire bytes an envelope of `size` bytes takes, fragments included.
    /// The simulator charges exactly this.
    public static func wireCost(envelopeSize size: Int) -> (datagrams: Int, bytes: Int) {
        guard size > WireHeader.maxDatagram else { return (1, size) }
        let count = (size + piece - 1) / piece
        return (count, size + count * (WireHeader.shortSize + Fragment.overhead))
    }

    /// The datagrams for one envelope: itself, or its fragments. Nil if it is too large
    /// even for `Fragment.maxCount` pieces.
    public static func datagrams(for envelope: Envelope, messageID: UInt32) -> [ByteBuffer]? {
        let whole = envelope.encoded()
        guard whole.readableBytes > WireHeader.maxDatagram else { return [whole] }
        let count = (whole.readableBytes + piece - 1) / piece
        guard count <= Int(Fragment.maxCount) else { return nil }
        var rest = whole
        return (0..<count).map { index in
            let bytes = rest.readSlice(length: min(piece, rest.readableBytes))!
            let fragment = Fragment(messageID: messageID, index: UInt8(index), count: UInt8(count), bytes: bytes)
            return Envelope(sender: nil, message: .stream(.fragment(fragment))).encoded()
        }
    }

    private struct Pending {
        var pieces: [ByteBuffer?]
        var received: Int
        var startedAt: Instant
    }

    private var pending: [Key: Pending] = [:]
    private struct Key: Hashable { var from: PeerAddress; var id: UInt32 }

    public let maxPending: Int
    public let timeout: TimeSpan

    public init(maxPending: Int = 256, timeout: TimeSpan = .seconds(2)) {
        self.maxPending = maxPending
        self.timeout = timeout
    }

    /// Adds one fragment; returns the reassembled datagram when the last piece arrives.
    public mutating func add(_ fragment: Fragment, from: PeerAddress, now: Instant) -> ByteBuffer? {
        let key = Key(from: from, id: fragment.messageID)
        if pending[key] == nil {
            if pending.count >= maxPending { expire(now: now) }
            guard pending.count < maxPending else { return nil }
            pending[key] = Pending(pieces: Array(repeating: nil, count: Int(fragment.count)), received: 0, startedAt: now)
        }
        guard var entry = pending[key], entry.pieces.count == Int(fragment.count) else {
            pending[key] = nil
            return nil
        }
        let index = Int(fragment.index)
        if entry.pieces[index] == nil {
            entry.pieces[index] = fragment.bytes
            entry.received += 1
        }
        guard entry.received == entry.pieces.count else {
            pending[key] = entry
            return nil
        }
        pending[key] = nil
        var whole = ByteBuffer()
        for piece in entry.pieces { whole.writeImmutableBuffer(piece!) }
        return whole
    }

    /// Drops reassemblies older than the timeout.
    public mutating func expire(now: Instant) {
        pending = pending.filter { now - $0.value.startedAt < timeout }
    }

    public var pendingCount: Int { pending.count }
}
