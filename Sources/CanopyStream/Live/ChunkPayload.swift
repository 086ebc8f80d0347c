import NIOCore
import CanopyCore

/// A chunk's payload: one or more Opus packets, each behind its 16-bit length, so a chunk
/// can carry 20 ms (one frame) up to several hundred ms (mesh mode) of audio.
public enum ChunkPayload {
    public static func pack(_ packets: [[UInt8]]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(packets.reduce(0) { $0 + 2 + $1.count })
        for packet in packets {
            buffer.writeInteger(UInt16(packet.count))
            buffer.writeBytes(packet)
        }
        return buffer
    }

    /// The packets, or nil if the lengths do not add up (a verified chunk always does;
    /// this guards the decoder anyway).
    public static func unpack(_ payload: ByteBuffer) -> [[UInt8]]? {
        var rest = payload
        var packets: [[UInt8]] = []
        while rest.readableBytes > 0 {
            guard let length = rest.readInteger(as: UInt16.self), let bytes = rest.readBytes(length: Int(length)) else {
                return nil
            }
            packets.append(bytes)
        }
        return packets
    }
}

/// Cuts the source's frames into numbered, timestamped, signed chunks.
public struct LiveChunker: Sendable {
    public let key: SourceKey
    public let framesPerChunk: Int
    public private(set) var nextSequence: UInt32 = 0
    private var pending: [[UInt8]] = []
    private var firstFrameAt: Int64 = 0

    public init(key: SourceKey, framesPerChunk: Int) {
        precondition(framesPerChunk >= 1)
        self.key = key
        self.framesPerChunk = framesPerChunk
    }

    /// Adds one encoded frame captured at `now` (the source's clock, µs); returns a signed
    /// chunk when enough frames have gathered. The chunk's generation time is its first
    /// frame's capture time.
    public mutating func add(frame: [UInt8], now: Int64) throws -> Chunk? {
        if pending.isEmpty { firstFrameAt = now }
        pending.append(frame)
        guard pending.count == framesPerChunk else { return nil }
        var chunk = Chunk(streamID: key.streamID, sequence: nextSequence, generatedAt: firstFrameAt,
                          payload: ChunkPayload.pack(pending), signature: ByteBuffer())
        try key.sign(&chunk)
        pending.removeAll(keepingCapacity: true)
        nextSequence &+= 1
        return chunk
    }
}
