import NIOCore

/// Checked readers and the shared field writers of the wire format. Every read checks
/// what is left and throws `.truncated` instead of trapping; every count is bounded
/// before anything is allocated for it.
extension ByteBuffer {
    @inlinable
    public mutating func readChecked<T: FixedWidthInteger>(_: T.Type = T.self) throws(WireError) -> T {
        guard let v = readInteger(as: T.self) else { throw .truncated }
        return v
    }

    public mutating func readNodeID() throws(WireError) -> NodeID {
        let high: UInt64 = try readChecked()
        let low: UInt64 = try readChecked()
        return NodeID(high: high, low: low)
    }

    public mutating func writeNodeID(_ id: NodeID) {
        writeInteger(id.high)
        writeInteger(id.low)
    }

    public mutating func readPeerAddress() throws(WireError) -> PeerAddress {
        let host: UInt32 = try readChecked()
        let port: UInt16 = try readChecked()
        return PeerAddress(host: host, port: port)
    }

    public mutating func writePeerAddress(_ address: PeerAddress) {
        writeInteger(address.host)
        writeInteger(address.port)
    }

    public mutating func readNodeRef() throws(WireError) -> NodeRef {
        let id = try readNodeID()
        return NodeRef(id: id, address: try readPeerAddress())
    }

    public mutating func writeNodeRef(_ ref: NodeRef) {
        writeNodeID(ref.id)
        writePeerAddress(ref.address)
    }

    /// A yes/no field: one byte, 0 or 1; any other value makes the datagram malformed.
    public mutating func readFlag(field: String) throws(WireError) -> Bool {
        let raw: UInt8 = try readChecked()
        guard raw <= 1 else { throw .invalidField(field) }
        return raw == 1
    }

    public mutating func writeFlag(_ flag: Bool) {
        writeInteger(UInt8(flag ? 1 : 0))
    }

    /// Reads exactly `length` bytes as a slice (no copy).
    public mutating func readSliceChecked(length: Int) throws(WireError) -> ByteBuffer {
        guard length >= 0, let slice = readSlice(length: length) else { throw .truncated }
        return slice
    }

    /// Reads an element count and checks it against `max` and against the bytes left
    /// (`minElementSize` each), so a lying count cannot make us allocate.
    public mutating func readCount<T: FixedWidthInteger>(_: T.Type, max: Int, minElementSize: Int, field: String) throws(WireError) -> Int {
        let raw: T = try readChecked()
        let count = Int(raw)
        guard count <= max else { throw .invalidField(field) }
        guard count * minElementSize <= readableBytes else { throw .truncated }
        return count
    }

    /// A list with a 1-byte count, bounded by `max` (and by the bytes left) before
    /// anything is allocated.
    public mutating func readList<T>(max: Int, elementSize: Int, field: String,
                                     _ element: (inout ByteBuffer) throws(WireError) -> T) throws(WireError) -> [T] {
        let count = try readCount(UInt8.self, max: max, minElementSize: elementSize, field: field)
        var items: [T] = []
        items.reserveCapacity(count)
        for _ in 0..<count { items.append(try element(&self)) }
        return items
    }

    /// Writes a list with a 1-byte count. A longer list is cut at `WireSize.maxListCount`
    /// items (the sizes in `WireSize` count the same), so no configuration can make an
    /// encoder trap: a leaf set or neighbourhood configured larger simply sends its first 255.
    public mutating func writeList<Items: Collection>(_ items: Items, _ element: (inout ByteBuffer, Items.Element) -> Void) {
        let kept = items.prefix(WireSize.maxListCount)
        writeInteger(UInt8(kept.count))
        for item in kept { element(&self, item) }
    }

    /// A list of node references with a 1-byte count.
    public mutating func readNodeRefs(max: Int, field: String) throws(WireError) -> [NodeRef] {
        try readList(max: max, elementSize: WireSize.nodeRef, field: field) { (b: inout ByteBuffer) throws(WireError) in try b.readNodeRef() }
    }

    public mutating func writeNodeRefs(_ refs: some Collection<NodeRef>) {
        writeList(refs) { $0.writeNodeRef($1) }
    }
}

/// Sizes of shared wire fields, so `encodedSize` is computed, not measured by encoding.
public enum WireSize {
    public static let nodeID = 16
    public static let address = 6
    public static let nodeRef = 22
    /// Most items a list with a 1-byte count carries.
    public static let maxListCount = Int(UInt8.max)
    public static func nodeRefs(_ count: Int) -> Int { 1 + min(count, maxListCount) * nodeRef }
}
