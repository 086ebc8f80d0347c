import NIOCore

/// How a stream is spread; a listener learns it from the overlay, not from a flag.
public enum StreamMode: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case direct = 0, tree = 1, mesh = 2
    public var description: String {
        switch self {
        case .direct: "direct"
        case .tree: "tree"
        case .mesh: "mesh"
        }
    }

    /// The `StreamInfo.modeParameter` values the mode defines: a stripe count of 1...16 (one
    /// stripe per first hex digit of a topic id), a mesh scheduler (0 DONet, 1 Chainsaw), or
    /// 0. The decoder refuses any other, so a core never builds a stream it cannot run.
    public var parameterRange: ClosedRange<UInt8> {
        switch self {
        case .direct: 0...0
        case .tree: 1...UInt8(DigitBase.hex.radix)
        case .mesh: 0...1
        }
    }
}

/// What a listener must know before it can verify and play a stream.
public struct StreamInfo: Hashable, Sendable {
    public var streamID: StreamID
    /// The source's Ed25519 public key; `streamID` is its hash.
    public var publicKey: ByteBuffer
    public var mode: StreamMode
    /// Mode parameter: stripe count in tree mode, scheduler in mesh mode, 0 otherwise.
    public var modeParameter: UInt8
    /// Duration of one chunk in microseconds.
    public var chunkMicros: UInt32
    public var bitrateKbps: UInt16
    /// Opus pre-skip of the source's encoder, for Ogg Opus output.
    public var preSkip: UInt16
    /// The source itself.
    public var source: NodeRef

    /// False for a parameter outside `mode.parameterRange`, which the decoder never returns.
    public var hasValidParameter: Bool { mode.parameterRange.contains(modeParameter) }

    public static let publicKeySize = 32
    static let size = 16 + publicKeySize + 1 + 1 + 4 + 2 + 2 + WireSize.nodeRef

    public init(streamID: StreamID, publicKey: ByteBuffer, mode: StreamMode, modeParameter: UInt8,
                chunkMicros: UInt32, bitrateKbps: UInt16, preSkip: UInt16, source: NodeRef) {
        self.streamID = streamID
        self.publicKey = publicKey
        self.mode = mode
        self.modeParameter = modeParameter
        self.chunkMicros = chunkMicros
        self.bitrateKbps = bitrateKbps
        self.preSkip = preSkip
        self.source = source
    }
}

/// One piece of a message too large for a single datagram (a long chunk). The UDP driver
/// splits and reassembles; cores never see fragments.
public struct Fragment: Hashable, Sendable {
    public var messageID: UInt32
    public var index: UInt8
    public var count: UInt8
    public var bytes: ByteBuffer

    public static let maxCount: UInt8 = 16
    static let overhead = 4 + 1 + 1 + 2

    public init(messageID: UInt32, index: UInt8, count: UInt8, bytes: ByteBuffer) {
        self.messageID = messageID
        self.index = index
        self.count = count
        self.bytes = bytes
    }
}

/// Stream-level messages shared by every mode, and direct mode's own.
public enum StreamMessage: MessageFamily, Sendable {
    /// A signed chunk of the stream (data).
    case chunk(Chunk)
    /// "Which stream is this, and how is it spread?" — answered with `info`.
    case infoRequest
    case info(StreamInfo)
    /// Direct mode: a listener asks the source for the stream (and refreshes the ask).
    case directJoin
    /// Direct mode: a listener says goodbye.
    case directLeave
    /// Clock-offset probe: the asker's send time (its own clock, µs).
    case clockProbe(sentAt: Int64)
    /// Answer: the probe's send time echoed, and the answerer's clock when it answered.
    case clockReply(probeSentAt: Int64, answeredAt: Int64)
    /// A piece of a message larger than one datagram.
    case fragment(Fragment)

    public static let typeBase: UInt8 = 0x00
    /// Largest payload accepted in a chunk (after reassembly).
    public static let maxChunkPayload = 16 * 1024
    static let chunkFixedSize = 16 + 4 + 8 + 2 + Chunk.signatureSize

    public var kind: UInt8 {
        switch self {
        case .chunk: 0x01
        case .infoRequest: 0x02
        case .info: 0x03
        case .directJoin: 0x04
        case .directLeave: 0x05
        case .clockProbe: 0x06
        case .clockReply: 0x07
        case .fragment: 0x08
        }
    }

    public var bodySize: Int {
        switch self {
        case .chunk(let c): StreamMessage.chunkBodySize(payloadBytes: c.payload.readableBytes)
        case .infoRequest, .directJoin, .directLeave: 0
        case .info: StreamInfo.size
        case .clockProbe: 8
        case .clockReply: 16
        case .fragment(let f): Fragment.overhead + f.bytes.readableBytes
        }
    }

    /// A fragment takes the short header: its pieces are matched by address and message id,
    /// and the message they rebuild carries its own header.
    public var namesSender: Bool {
        if case .fragment = self { return false }
        return true
    }

    /// The body size of a chunk message with this much payload.
    public static func chunkBodySize(payloadBytes: Int) -> Int { chunkFixedSize + payloadBytes }

    public var dataPayloadBytes: Int? {
        if case .chunk(let c) = self { return c.payload.readableBytes }
        return nil
    }

    public func encodeBody(into buffer: inout ByteBuffer) {
        switch self {
        case .chunk(let c): buffer.writeChunk(c)
        case .infoRequest, .directJoin, .directLeave: break
        case .info(let i):
            buffer.writeNodeID(i.streamID)
            buffer.writeImmutableBuffer(i.publicKey)
            buffer.writeInteger(i.mode.rawValue)
            buffer.writeInteger(i.modeParameter)
            buffer.writeInteger(i.chunkMicros)
            buffer.writeInteger(i.bitrateKbps)
            buffer.writeInteger(i.preSkip)
            buffer.writeNodeRef(i.source)
        case .clockProbe(let t):
            buffer.writeInteger(t)
        case .clockReply(let t1, let t2):
            buffer.writeInteger(t1)
            buffer.writeInteger(t2)
        case .fragment(let f):
            buffer.writeInteger(f.messageID)
            buffer.writeInteger(f.index)
            buffer.writeInteger(f.count)
            buffer.writeInteger(UInt16(f.bytes.readableBytes))
            buffer.writeImmutableBuffer(f.bytes)
        }
    }

    public static func decodeBody(kind: UInt8, from buffer: inout ByteBuffer) throws(WireError) -> StreamMessage {
        switch kind {
        case 0x01: return .chunk(try buffer.readChunk())
        case 0x02: return .infoRequest
        case 0x03:
            let id = try buffer.readNodeID()
            let key = try buffer.readSliceChecked(length: StreamInfo.publicKeySize)
            guard let mode = StreamMode(rawValue: try buffer.readChecked()) else { throw .invalidField("info.mode") }
            let parameter: UInt8 = try buffer.readChecked()
            guard mode.parameterRange.contains(parameter) else { throw .invalidField("info.mode_parameter") }
            let chunkMicros: UInt32 = try buffer.readChecked()
            guard chunkMicros >= 2_500, chunkMicros <= 5_000_000 else { throw .invalidField("info.chunk_micros") }
            let bitrate: UInt16 = try buffer.readChecked()
            let preSkip: UInt16 = try buffer.readChecked()
            let source = try buffer.readNodeRef()
            return .info(StreamInfo(streamID: id, publicKey: key, mode: mode, modeParameter: parameter,
                                    chunkMicros: chunkMicros, bitrateKbps: bitrate, preSkip: preSkip, source: source))
        case 0x04: return .directJoin
        case 0x05: return .directLeave
        case 0x06: return .clockProbe(sentAt: try buffer.readChecked())
        case 0x07:
            let t1: Int64 = try buffer.readChecked()
            return .clockReply(probeSentAt: t1, answeredAt: try buffer.readChecked())
        case 0x08:
            let id: UInt32 = try buffer.readChecked()
            let index: UInt8 = try buffer.readChecked()
            let count: UInt8 = try buffer.readChecked()
            guard count >= 2, count <= Fragment.maxCount, index < count else { throw .invalidField("fragment.index") }
            let length: UInt16 = try buffer.readChecked()
            let bytes = try buffer.readSliceChecked(length: Int(length))
            return .fragment(Fragment(messageID: id, index: index, count: count, bytes: bytes))
        default:
            throw .unknownType(typeBase + kind)
        }
    }
}

extension ByteBuffer {
    /// Chunk layout: stream id, sequence, generation time, payload length + payload, signature.
    public mutating func writeChunk(_ c: Chunk) {
        writeNodeID(c.streamID)
        writeInteger(c.sequence)
        writeInteger(c.generatedAt)
        writeInteger(UInt16(c.payload.readableBytes))
        writeImmutableBuffer(c.payload)
        writeImmutableBuffer(c.signature)
    }

    public mutating func readChunk() throws(WireError) -> Chunk {
        let id = try readNodeID()
        let sequence: UInt32 = try readChecked()
        let generatedAt: Int64 = try readChecked()
        let length: UInt16 = try readChecked()
        guard Int(length) <= StreamMessage.maxChunkPayload else { throw .invalidField("chunk.payload_length") }
        let payload = try readSliceChecked(length: Int(length))
        let signature = try readSliceChecked(length: Chunk.signatureSize)
        return Chunk(streamID: id, sequence: sequence, generatedAt: generatedAt, payload: payload, signature: signature)
    }
}
