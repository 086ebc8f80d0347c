import NIOCore

/// The fixed header of every Canopy datagram (docs/PROTOCOL.md §2):
/// magic `0xCA 0x70`, version, message type, sender node id — 20 bytes.
public enum WireHeader {
    public static let magic: UInt16 = 0xCA70
    public static let version: UInt8 = 1
    public static let size = 20
    /// The largest datagram Canopy sends or accepts; fits every path MTU in practice.
    public static let maxDatagram = 1200
}

/// A decoded datagram: who says they sent it, and what.
public struct Envelope: Sendable {
    public var sender: NodeID
    public var message: Message

    public init(sender: NodeID, message: Message) {
        self.sender = sender
        self.message = message
    }

    /// Header plus body, in bytes.
    public var encodedSize: Int { WireHeader.size + message.bodySize }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(WireHeader.magic)
        buffer.writeInteger(WireHeader.version)
        buffer.writeInteger(message.typeCode)
        buffer.writeNodeID(sender)
        message.encodeBody(into: &buffer)
    }

    public func encoded() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(encodedSize)
        encode(into: &buffer)
        return buffer
    }

    /// Decodes one datagram. Anything but a whole, well-formed message throws.
    /// `maxSize` is the datagram limit; a message put back together from fragments may be
    /// up to `Fragmenter.maxReassembled`, and a fragment inside it is refused.
    public static func decode(_ datagram: ByteBuffer, maxSize: Int = WireHeader.maxDatagram) throws(WireError) -> Envelope {
        guard datagram.readableBytes <= maxSize else { throw .oversized(datagram.readableBytes) }
        var buffer = datagram
        let magic: UInt16 = try buffer.readChecked()
        guard magic == WireHeader.magic else { throw .badMagic }
        let version: UInt8 = try buffer.readChecked()
        guard version == WireHeader.version else { throw .unsupportedVersion(version) }
        let type: UInt8 = try buffer.readChecked()
        let sender = try buffer.readNodeID()
        let message = try Message.decodeBody(type: type, from: &buffer)
        if maxSize > WireHeader.maxDatagram, case .stream(.fragment) = message { throw .invalidField("fragment.nested") }
        guard buffer.readableBytes == 0 else { throw .trailingBytes(buffer.readableBytes) }
        return Envelope(sender: sender, message: message)
    }
}
