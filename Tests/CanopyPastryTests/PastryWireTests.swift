import CanopyCore
import NIOCore
import XCTest

/// Every Pastry message round-trips byte for byte with an exact `bodySize`; hostile bodies
/// are rejected, never trapped on.
final class PastryWireTests: XCTestCase {
    static let a = NodeRef(id: NodeID(hex: "0123456789abcdef0123456789abcdef")!, address: PeerAddress(host: 0x7F00_0001, port: 7070))
    static let b = NodeRef(id: NodeID(hex: "fedcba9876543210fedcba9876543210")!, address: PeerAddress(host: 0x0A00_0002, port: 9))

    static let messages: [PastryMessage] = [
        .route(RouteEnvelope(seq: 7, key: b.id, origin: a, hops: 3, payload: .pastry(.lookup(tag: 99, issuedAt: 123_456)))),
        .route(RouteEnvelope(seq: 0, key: a.id, origin: a, hops: 0, payload: .pastry(.join))),
        .route(RouteEnvelope(seq: 1, key: a.id, origin: b, hops: 1, payload: .stream(.clockProbe(sentAt: 5)))),
        .routeAck(seq: 0xFFFF_FFFF),
        .join,
        .lookup(tag: 1, issuedAt: -1),
        .joinReply(leafSet: [a, b]),
        .rowRequest(row: 3),
        .rowReply(row: 2, entries: [b]),
        .rowReply(row: 0, entries: []),
        .leafProbe(sentAt: 42, leafSet: [a]),
        .leafReply(echo: 42, leafSet: [a, b, a]),
        .ping(sentAt: 1),
        .pong(echo: 1),
        .leave(leafSet: []),
        .neighbourRequest,
        .neighbourReply(entries: [b, a]),
    ]

    func testRoundTripsAndExactSizes() throws {
        for message in Self.messages {
            let envelope = Envelope(sender: Self.a.id, message: .pastry(message))
            let bytes = envelope.encoded()
            XCTAssertEqual(bytes.readableBytes, envelope.encodedSize, "\(message)")
            XCTAssertEqual(bytes.getInteger(at: 3, as: UInt8.self).map { $0 & 0xC0 }, PastryMessage.typeBase)
            let decoded = try Envelope.decode(bytes)
            XCTAssertEqual(decoded.encoded(), bytes, "\(message)")
        }
    }

    /// `neighbourhood` and `leaf_set` may be configured past what a 1-byte count names: the
    /// message carries the first 255, sized exactly, instead of trapping in the encoder.
    func testOverlongListsAreCutAtTheCountsLimit() throws {
        let many = (0..<300).map { NodeRef(id: NodeID(high: 0, low: UInt64($0)), address: PeerAddress(host: 0x7F00_0001, port: UInt16(1000 + $0))) }
        for message: PastryMessage in [.neighbourReply(entries: many), .leafReply(echo: 1, leafSet: many), .rowReply(row: 0, entries: many)] {
            let envelope = Envelope(sender: Self.a.id, message: .pastry(message))
            let bytes = envelope.encoded()
            XCTAssertEqual(bytes.readableBytes, envelope.encodedSize, "\(message)")
            guard case .pastry(let decoded) = try Envelope.decode(bytes, maxSize: Fragmenter.maxReassembled).message else { return XCTFail("not pastry") }
            switch decoded {
            case .neighbourReply(let refs), .leafReply(_, let refs), .rowReply(_, let refs):
                XCTAssertEqual(refs, Array(many.prefix(255)))
            default: XCTFail("decoded as \(decoded)")
            }
        }
    }

    func testRouteCarriesItsPayloadsDataSize() {
        let chunk = Chunk(streamID: Self.a.id, sequence: 1, generatedAt: 0, payload: ByteBuffer(repeating: 1, count: 100),
                          signature: ByteBuffer(repeating: 2, count: Chunk.signatureSize))
        let routed = Message.pastry(.route(RouteEnvelope(seq: 1, key: Self.a.id, origin: Self.b, hops: 0,
                                                         payload: .stream(.chunk(chunk)))))
        XCTAssertEqual(routed.dataPayloadBytes, 100)
        XCTAssertNil(Message.pastry(.ping(sentAt: 0)).dataPayloadBytes)
    }

    func testEveryTruncationIsRejected() {
        for message in Self.messages {
            let bytes = Envelope(sender: Self.a.id, message: .pastry(message)).encoded()
            for length in WireHeader.size..<bytes.readableBytes {
                XCTAssertThrowsError(try Envelope.decode(bytes.getSlice(at: 0, length: length)!), "\(message) cut at \(length)")
            }
        }
    }

    func testHostileBodies() {
        func decode(_ type: UInt8, _ body: [UInt8]) -> WireError? {
            var buffer = ByteBuffer()
            buffer.writeInteger(WireHeader.magic)
            buffer.writeInteger(WireHeader.version)
            buffer.writeInteger(type)
            buffer.writeNodeID(Self.a.id)
            buffer.writeBytes(body)
            do { _ = try Envelope.decode(buffer); return nil } catch { return error }
        }
        // A leaf set claiming 200 entries with no bytes behind it.
        XCTAssertEqual(decode(0x45, [200]), .truncated)
        // A route nested in a route.
        var nested = ByteBuffer()
        Message.pastry(.route(RouteEnvelope(seq: 1, key: Self.a.id, origin: Self.a, hops: 0, payload: .pastry(.join))))
            .encodeBody(into: &nested)
        var outer = ByteBuffer()
        outer.writeInteger(UInt32(1))
        outer.writeNodeID(Self.a.id)
        outer.writeNodeRef(Self.a)
        outer.writeInteger(UInt8(0))
        outer.writeInteger(UInt8(0x41))
        outer.writeImmutableBuffer(nested)
        XCTAssertEqual(decode(0x41, Array(outer.readableBytesView)), .invalidField("route.payload"))
        // Too many hops: a loop.
        var looping = ByteBuffer()
        Message.pastry(.route(RouteEnvelope(seq: 1, key: Self.a.id, origin: Self.a, hops: 200, payload: .pastry(.join))))
            .encodeBody(into: &looping)
        XCTAssertEqual(decode(0x41, Array(looping.readableBytesView)), .invalidField("route.hops"))
        // Unknown Pastry kind, trailing bytes.
        XCTAssertEqual(decode(0x7F, []), .unknownType(0x7F))
        XCTAssertEqual(decode(0x4A, [0, 0, 0, 0, 0, 0, 0, 1, 0xEE]), .trailingBytes(1))
    }

    func testRandomBodiesNeverTrap() {
        var rng = SeededRNG(seed: 0x9A57)
        var accepted = 0
        for _ in 0..<20_000 {
            var buffer = ByteBuffer()
            buffer.writeInteger(WireHeader.magic)
            buffer.writeInteger(WireHeader.version)
            buffer.writeInteger(UInt8(0x40 + rng.next() % 16))
            buffer.writeNodeID(Self.b.id)
            for _ in 0..<(rng.next() % 120) { buffer.writeInteger(UInt8(truncatingIfNeeded: rng.next() % 4 == 0 ? 0 : rng.next())) }
            if let envelope = try? Envelope.decode(buffer) {
                XCTAssertEqual(envelope.encoded(), buffer)
                accepted += 1
            }
        }
        XCTAssertGreaterThan(accepted, 0)
    }
}
