import NIOCore

/// The header of every Canopy datagram (docs/PROTOCOL.md §2): magic, version, message type
/// and, in the full form, the sender's node id.
///
/// Messages that only flow between peers that already know each other by address (mesh
/// partners, fragments of one message) take the short form without the id: it is 16 of
/// the 20 bytes, and a buffer map or a request is barely longer than its header, so the
/// id alone was half of the mesh's control traffic. The id proves nothing either way (a
/// datagram's header is not authenticated); only messages that introduce a node carry it.
public enum WireHeader {
    public static let magic: UInt16 = 0xCA70
    /// The short form's magic: no sender id follows the type byte.
    public static let shortMagic: UInt16 = 0xCA71
    public static let version: UInt8 = 1
    /// The full form, with the sender id.
    public static let size = 20
    /// The short form.
    public static let shortSize = 4
    /// The largest datagram Canopy sends or accepts; fits every path MTU in practice.
    public static let maxDatagram = 1200
}

/// A decoded datagram: who says they sent it (if its type names the sender), and what.
public struct Envelope: Sendable {
    /// Nil exactly when the message takes the short header (`Message.namesSender` false).
    public let sender: NodeID?
    public let message: Message

    /// `sender` is written only if the message's type names its sender; a type that does
    /// needs one (a programming error otherwise, never a property of received input).
    public init(sender: NodeID?, message: Message) {
        precondition(sender != nil || !message.namesSender, "this message type names its sender")
        self.sender = message.namesSender ? sender : nil
        self.message = message
    }

    /// Header plus body, in bytes.
    public var encodedSize: Int { message.envelopeSize }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(sender == nil ? WireHeader.shortMagic : WireHeader.magic)
        buffer.writeInteger(WireHeader.version)
        buffer.writeInteger(message.typeCode)
        if let sender { buffer.writeNodeID(sender) }
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
        guard magic == WireHeader.magic || magic == WireHeader.shortMagic else { throw .badMagic }
        let version: UInt8 = try buffer.readChecked()
        guard version == WireHeader.version else { throw .unsupportedVersion(version) }
        let type: UInt8 = try buffer.readChecked()
        let sender = magic == WireHeader.magic ? try buffer.readNodeID() : nil
        let message = try Message.decodeBody(type: type, from: &buffer)
        // One form per type, so every message has exactly one encoding.
        guard message.namesSender == (sender != nil) else { throw .invalidField("header.form") }
        if maxSize > WireHeader.maxDatagram, case .stream(.fragment) = message { throw .invalidField("fragment.nested") }
        guard buffer.readableBytes == 0 else { throw .trailingBytes(buffer.readableBytes) }
        return Envelope(sender: sender, message: message)
    }
}
