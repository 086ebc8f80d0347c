import NIOCore

/// Every message Canopy puts on the wire, grouped by the layer that owns it.
///
/// The type byte says the family by its range (docs/PROTOCOL.md §3): stream and direct
/// mode 0x00–0x3F, Pastry 0x40–0x7F, Scribe/SplitStream 0x80–0xBF, mesh 0xC0–0xFF.
/// Each family encodes its own bodies in its own file.
public enum Message: Sendable {
    case stream(StreamMessage)
    case pastry(PastryMessage)
    case tree(TreeMessage)
    case mesh(MeshMessage)

    /// The full type byte: family base + kind.
    public var typeCode: UInt8 {
        switch self {
        case .stream(let m): StreamMessage.typeBase + m.kind
        case .pastry(let m): PastryMessage.typeBase + m.kind
        case .tree(let m): TreeMessage.typeBase + m.kind
        case .mesh(let m): MeshMessage.typeBase + m.kind
        }
    }

    /// True when the header carries the sender's id (the full form, docs/PROTOCOL.md §2):
    /// for every message that can reach a node that does not know the sender yet.
    public var namesSender: Bool {
        switch self {
        case .stream(let m): m.namesSender
        case .pastry(let m): m.namesSender
        case .tree(let m): m.namesSender
        case .mesh(let m): m.namesSender
        }
    }

    /// Header plus body: the datagram's size before any fragmentation.
    public var envelopeSize: Int { (namesSender ? WireHeader.size : WireHeader.shortSize) + bodySize }

    /// Bytes after the header, computed without encoding.
    public var bodySize: Int {
        switch self {
        case .stream(let m): m.bodySize
        case .pastry(let m): m.bodySize
        case .tree(let m): m.bodySize
        case .mesh(let m): m.bodySize
        }
    }

    public func encodeBody(into buffer: inout ByteBuffer) {
        switch self {
        case .stream(let m): m.encodeBody(into: &buffer)
        case .pastry(let m): m.encodeBody(into: &buffer)
        case .tree(let m): m.encodeBody(into: &buffer)
        case .mesh(let m): m.encodeBody(into: &buffer)
        }
    }

    static func decodeBody(type: UInt8, from buffer: inout ByteBuffer) throws(WireError) -> Message {
        let kind = type & 0x3F
        switch type & 0xC0 {
        case StreamMessage.typeBase: return .stream(try StreamMessage.decodeBody(kind: kind, from: &buffer))
        case PastryMessage.typeBase: return .pastry(try PastryMessage.decodeBody(kind: kind, from: &buffer))
        case TreeMessage.typeBase: return .tree(try TreeMessage.decodeBody(kind: kind, from: &buffer))
        case MeshMessage.typeBase: return .mesh(try MeshMessage.decodeBody(kind: kind, from: &buffer))
        default: throw .unknownType(type)
        }
    }

    /// True for messages that carry stream data; everything else is control traffic
    /// (DESIGN.md: `control_overhead` and `header_overhead`).
    public var isData: Bool { dataPayloadBytes != nil }

    /// Payload bytes when this is a data message, for the header-overhead metric.
    public var dataPayloadBytes: Int? {
        switch self {
        case .stream(let m): m.dataPayloadBytes
        case .pastry(let m): m.dataPayloadBytes
        case .tree(let m): m.dataPayloadBytes
        case .mesh(let m): m.dataPayloadBytes
        }
    }
}

/// What one family of messages must provide to take part in `Message`.
public protocol MessageFamily: Sendable {
    /// First type byte of the family's range.
    static var typeBase: UInt8 { get }
    /// Kind within the family, 0...63.
    var kind: UInt8 { get }
    var bodySize: Int { get }
    func encodeBody(into buffer: inout ByteBuffer)
    static func decodeBody(kind: UInt8, from buffer: inout ByteBuffer) throws(WireError) -> Self
    /// Payload bytes if the message carries stream data, nil for control messages.
    var dataPayloadBytes: Int? { get }
    /// Whether the header names the sender (see `Message.namesSender`).
    var namesSender: Bool { get }
}

extension MessageFamily {
    public var namesSender: Bool { true }
}
