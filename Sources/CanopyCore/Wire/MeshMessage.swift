import NIOCore

/// Which chunks of a sliding window a mesh node holds: the window's first sequence number
/// and one bit per chunk. DONet's partners swap these instead of per-chunk notices, which
/// is why a 10-second window of 200 ms chunks costs 7 bytes of bitmap.
public struct BufferMap: Hashable, Sendable {
    /// Sequence number of bit 0.
    public private(set) var start: UInt32
    /// How many chunks the map describes, `start ..< start + count`.
    public private(set) var count: Int
    /// Bit `i` of word `i / 64` is chunk `start + i`.
    private var words: [UInt64]

    /// Largest window a map may describe (also the decode bound).
    public static let maxCount = 1024

    public init(start: UInt32, count: Int = 0) {
        precondition(count >= 0 && count <= Self.maxCount, "buffer map count out of range")
        self.start = start
        self.count = count
        words = Array(repeating: 0, count: (count + 63) / 64)
    }

    /// One past the last sequence number described.
    public var end: UInt64 { UInt64(start) + UInt64(count) }

    public func contains(_ sequence: UInt32) -> Bool {
        guard sequence >= start, UInt64(sequence) < end else { return false }
        let offset = Int(sequence - start)
        return words[offset >> 6] & (1 << UInt64(offset & 63)) != 0
    }

    /// Marks a chunk held. Outside `start ..< end` it is ignored; use `slide` to extend.
    public mutating func insert(_ sequence: UInt32) {
        guard sequence >= start, UInt64(sequence) < end else { return }
        let offset = Int(sequence - start)
        words[offset >> 6] |= 1 << UInt64(offset & 63)
    }

    /// Marks a chunk held, growing the map to include it and dropping its oldest bits so it
    /// never describes more than `capacity` chunks. Older sequence numbers are ignored.
    public mutating func slide(inserting sequence: UInt32, capacity: Int) {
        guard sequence >= start else { return }
        if UInt64(sequence) >= end {
            let newCount = Int(UInt64(sequence) - UInt64(start)) + 1
            if newCount <= capacity {
                count = newCount
                words.append(contentsOf: repeatElement(0, count: (count + 63) / 64 - words.count))
            } else {
                var moved = BufferMap(start: sequence - UInt32(capacity - 1), count: capacity)
                for s in moved.start..<sequence where contains(s) { moved.insert(s) }
                self = moved
            }
        }
        insert(sequence)
    }

    /// The highest sequence number marked held, nil if none.
    public var newest: UInt32? {
        for index in words.indices.reversed() where words[index] != 0 {
            return start + UInt32(index * 64 + 63 - words[index].leadingZeroBitCount)
        }
        return nil
    }

    /// How many chunks are marked held.
    public var heldCount: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// Wire size: start, count, then the bitmap bytes.
    public var encodedSize: Int { 4 + 2 + (count + 7) / 8 }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(start)
        buffer.writeInteger(UInt16(count))
        for byteIndex in 0..<(count + 7) / 8 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: words[byteIndex >> 3] >> UInt64((byteIndex & 7) * 8)))
        }
    }

    /// Reads a map; a count over `maxCount` or a set bit past `count` is refused, so every
    /// map has exactly one encoding.
    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> BufferMap {
        let start: UInt32 = try buffer.readChecked()
        let count = try buffer.readCount(UInt16.self, max: maxCount, minElementSize: 0, field: "buffer_map.count")
        let byteCount = (count + 7) / 8
        guard buffer.readableBytes >= byteCount else { throw .truncated }
        var map = BufferMap(start: start, count: count)
        for byteIndex in 0..<byteCount {
            let byte: UInt8 = try buffer.readChecked()
            if byteIndex == byteCount - 1, count % 8 != 0, byte >> UInt8(count % 8) != 0 {
                throw .invalidField("buffer_map.padding")
            }
            map.words[byteIndex >> 3] |= UInt64(byte) << UInt64((byteIndex & 7) * 8)
        }
        return map
    }
}

/// What a mesh node says about itself whenever it tells a partner its buffer map: spare
/// upload (so requesters steer toward idle suppliers; 0 means it uploads nothing at all),
/// its level (so substream pushes flow away from the source) and the map.
public struct MeshStatus: Hashable, Sendable {
    /// Upload it can still give, kbit/s; 0 only for a node with no upload capacity.
    public var spareKbps: UInt16
    /// How many hops from the source its chunks arrive, on average, in eighths of a hop
    /// (0 at the source, 255 before its first chunk).
    public var level: UInt8
    public var map: BufferMap

    public init(spareKbps: UInt16, level: UInt8, map: BufferMap) {
        self.spareKbps = spareKbps
        self.level = level
        self.map = map
    }

    public var encodedSize: Int { 3 + map.encodedSize }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(spareKbps)
        buffer.writeInteger(level)
        map.encode(into: &buffer)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> MeshStatus {
        let spare: UInt16 = try buffer.readChecked()
        let level: UInt8 = try buffer.readChecked()
        return MeshStatus(spareKbps: spare, level: level, map: try BufferMap.decode(from: &buffer))
    }
}

/// Pull mode (DONet / Chainsaw) messages, type bytes 0xC0–0xFF (docs/PROTOCOL.md).
public enum MeshMessage: MessageFamily, Sendable {
    /// A newcomer asks a bootstrap node for members (answered with `members` and the stream info).
    case join
    /// A sample of the sender's partial view (join answer and gossip).
    case members([NodeRef])
    /// "Be my partner", with the asker's status.
    case partnerRequest(MeshStatus)
    case partnerAccept(MeshStatus)
    /// No room; here are other members to try.
    case partnerRefuse([NodeRef])
    /// DONet's periodic buffer map (also a keep-alive).
    case status(MeshStatus)
    /// Chainsaw: chunks the sender just got, with its spare upload and level (as in
    /// `MeshStatus`).
    case have(spareKbps: UInt16, level: UInt8, sequences: [UInt32])
    /// Please send these chunks.
    case request([UInt32])
    /// These requested chunks will not come (no capacity or not held): ask elsewhere now.
    case refuse([UInt32])
    /// A chunk, optionally with the sender's status riding along (saves a status message).
    case data(Chunk, status: MeshStatus?)
    /// The partnership ends (graceful leave or refinement).
    case leave
    /// "Push me every chunk whose sequence number modulo `substreams` has its bit set, as
    /// soon as you get it": a standing request per substream, so a chunk on a settled path
    /// costs one transmission instead of a notice, a request and a transmission. The set
    /// replaces the previous one; 0 cancels. Substreams new to the set start at sequence
    /// `from` (the sender already has or has asked for everything before it).
    case subscribe(UInt16, from: UInt32)
    /// "I will not push you these substreams": the supplier's upload is committed, so the
    /// subscriber pulls them and asks another partner.
    case declined(UInt16)

    public static let typeBase: UInt8 = 0xC0
    /// Most members in one message.
    public static let maxMembers = 32
    /// Most sequence numbers in one request, refusal or HAVE.
    public static let maxSequences = 64
    /// Substreams a `subscribe` mask names: chunk `s` belongs to substream `s % substreams`.
    public static let substreams = 16

    public var kind: UInt8 {
        switch self {
        case .join: 0x01
        case .members: 0x02
        case .partnerRequest: 0x03
        case .partnerAccept: 0x04
        case .partnerRefuse: 0x05
        case .status: 0x06
        case .have: 0x07
        case .request: 0x08
        case .refuse: 0x09
        case .data: 0x0A
        case .leave: 0x0B
        case .subscribe: 0x0C
        case .declined: 0x0D
        }
    }

    public var bodySize: Int {
        switch self {
        case .join, .leave: 0
        case .subscribe: 6
        case .declined: 2
        case .members(let refs), .partnerRefuse(let refs): WireSize.nodeRefs(refs.count)
        case .partnerRequest(let s), .partnerAccept(let s), .status(let s): s.encodedSize
        case .have(_, _, let seqs): 2 + 1 + 1 + 4 * seqs.count
        case .request(let seqs), .refuse(let seqs): 1 + 4 * seqs.count
        case .data(let chunk, let status):
            StreamMessage.chunkBodySize(payloadBytes: chunk.payload.readableBytes) + 1 + (status?.encodedSize ?? 0)
        }
    }

    public var dataPayloadBytes: Int? {
        if case .data(let chunk, _) = self { return chunk.payload.readableBytes }
        return nil
    }

    /// Only the messages that introduce a node name it: a partner is known by its address
    /// from `partner_request`/`partner_accept` on, so everything partners exchange (maps,
    /// requests, data, subscriptions) takes the short header.
    public var namesSender: Bool {
        switch self {
        case .join, .members, .partnerRequest, .partnerAccept, .partnerRefuse: true
        case .status, .have, .request, .refuse, .data, .leave, .subscribe, .declined: false
        }
    }

    public func encodeBody(into buffer: inout ByteBuffer) {
        switch self {
        case .join, .leave: break
        case .subscribe(let mask, let from):
            buffer.writeInteger(mask)
            buffer.writeInteger(from)
        case .declined(let mask): buffer.writeInteger(mask)
        case .members(let refs), .partnerRefuse(let refs): buffer.writeNodeRefs(refs)
        case .partnerRequest(let s), .partnerAccept(let s), .status(let s): s.encode(into: &buffer)
        case .have(let spare, let level, let seqs):
            buffer.writeInteger(spare)
            buffer.writeInteger(level)
            Self.writeSequences(seqs, into: &buffer)
        case .request(let seqs), .refuse(let seqs):
            Self.writeSequences(seqs, into: &buffer)
        case .data(let chunk, let status):
            buffer.writeChunk(chunk)
            buffer.writeInteger(UInt8(status == nil ? 0 : 1))
            status?.encode(into: &buffer)
        }
    }

    public static func decodeBody(kind: UInt8, from buffer: inout ByteBuffer) throws(WireError) -> MeshMessage {
        switch kind {
        case 0x01: return .join
        case 0x02: return .members(try buffer.readNodeRefs(max: maxMembers, field: "mesh.members"))
        case 0x03: return .partnerRequest(try MeshStatus.decode(from: &buffer))
        case 0x04: return .partnerAccept(try MeshStatus.decode(from: &buffer))
        case 0x05: return .partnerRefuse(try buffer.readNodeRefs(max: maxMembers, field: "mesh.refuse_members"))
        case 0x06: return .status(try MeshStatus.decode(from: &buffer))
        case 0x07:
            let spare: UInt16 = try buffer.readChecked()
            let level: UInt8 = try buffer.readChecked()
            return .have(spareKbps: spare, level: level, sequences: try readSequences(from: &buffer, field: "mesh.have"))
        case 0x08: return .request(try readSequences(from: &buffer, field: "mesh.request"))
        case 0x09: return .refuse(try readSequences(from: &buffer, field: "mesh.refuse"))
        case 0x0A:
            let chunk = try buffer.readChunk()
            let flag: UInt8 = try buffer.readChecked()
            switch flag {
            case 0: return .data(chunk, status: nil)
            case 1: return .data(chunk, status: try MeshStatus.decode(from: &buffer))
            default: throw .invalidField("mesh.data.flags")
            }
        case 0x0B: return .leave
        case 0x0C: return .subscribe(try buffer.readChecked(), from: try buffer.readChecked())
        case 0x0D: return .declined(try buffer.readChecked())
        default: throw .unknownType(typeBase + kind)
        }
    }

    /// Callers send 1...`maxSequences` numbers per message (batching longer lists, sending
    /// none when empty): any other list would go out as bytes every receiver refuses, so it
    /// traps here, at the bug, rather than failing silently downstream.
    private static func writeSequences(_ seqs: [UInt32], into buffer: inout ByteBuffer) {
        precondition(!seqs.isEmpty && seqs.count <= maxSequences, "mesh sequence lists hold 1...\(maxSequences) numbers")
        buffer.writeList(seqs) { $0.writeInteger($1) }
    }

    /// A non-empty list of at most `maxSequences` sequence numbers.
    private static func readSequences(from buffer: inout ByteBuffer, field: String) throws(WireError) -> [UInt32] {
        let seqs = try buffer.readList(max: maxSequences, elementSize: 4, field: field) { (b: inout ByteBuffer) throws(WireError) in
            try b.readChecked(UInt32.self)
        }
        guard !seqs.isEmpty else { throw .invalidField(field) }
        return seqs
    }
}
