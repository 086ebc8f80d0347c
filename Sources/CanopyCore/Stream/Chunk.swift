import NIOCore

/// A stream is named by the hash of its source's Ed25519 public key, so a listener that
/// knows the id can check that a public key really is the source's.
public typealias StreamID = NodeID

/// One piece of the live stream: one or more Opus frames, numbered and timestamped by
/// the source, and signed by it.
public struct Chunk: Hashable, Sendable {
    public var streamID: StreamID
    /// Sequence number, from 0 at the start of the stream.
    public var sequence: UInt32
    /// When the source generated it, in microseconds on the source's clock.
    public var generatedAt: Int64
    /// Opus packets, each prefixed by its 16-bit length (see docs/PROTOCOL.md).
    public var payload: ByteBuffer
    /// Ed25519 signature over `signedBytes` (64 bytes).
    public var signature: ByteBuffer

    public static let signatureSize = 64

    public init(streamID: StreamID, sequence: UInt32, generatedAt: Int64, payload: ByteBuffer, signature: ByteBuffer) {
        self.streamID = streamID
        self.sequence = sequence
        self.generatedAt = generatedAt
        self.payload = payload
        self.signature = signature
    }

    /// The bytes the source signs: stream id, sequence, generation time, payload.
    public var signedBytes: [UInt8] {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(28 + payload.readableBytes)
        buffer.writeNodeID(streamID)
        buffer.writeInteger(sequence)
        buffer.writeInteger(generatedAt)
        buffer.writeImmutableBuffer(payload)
        return Array(buffer.readableBytesView)
    }
}
