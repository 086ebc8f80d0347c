import XCTest
import NIOCore
import CanopyCore

/// Mesh messages: exact sizes, byte-for-byte round trips, and hostile bodies refused.
final class MeshWireTests: XCTestCase {
    private func samples() -> [MeshMessage] {
        let status = MeshFixtures.status(spare: 150, held: [3, 4, 9, 38], start: 2, count: 37)
        return [
            .join,
            .members([MeshFixtures.ref(1), MeshFixtures.ref(2)]),
            .members([]),
            .partnerRequest(status),
            .partnerAccept(MeshFixtures.status(spare: 0, held: [])),
            .partnerRefuse([MeshFixtures.ref(9)]),
            .status(MeshStatus(spareKbps: 7, level: 9, map: BufferMap(start: 100))),
            .have(spareKbps: 300, level: 12, sequences: [5, 6, 7]),
            .request([1, 2, 3, 4_000_000_000]),
            .refuse([9]),
            .data(MeshFixtures.chunk(17), status: status),
            .data(MeshFixtures.chunk(18), status: nil),
            .leave,
            .subscribe(0x8001, from: 77),
            .subscribe(0, from: 0),
            .declined(0x0300),
        ]
    }

    func testEveryMessageRoundTripsWithItsComputedSize() throws {
        for message in samples() {
            let envelope = Envelope(sender: MeshFixtures.ref(3).id, message: .mesh(message))
            var bytes = ByteBuffer()
            envelope.encode(into: &bytes)
            XCTAssertEqual(bytes.readableBytes, envelope.encodedSize, "\(message)")
            if bytes.readableBytes <= WireHeader.maxDatagram {
                let decoded = try Envelope.decode(bytes)
                XCTAssertEqual(decoded.encoded(), bytes, "\(message)")
                XCTAssertEqual(decoded.message.typeCode, 0xC0 + message.kind)
            }
        }
    }

    func testOnlyDataCountsAsData() {
        for message in samples() {
            if case .data(let chunk, _) = message {
                XCTAssertEqual(Message.mesh(message).dataPayloadBytes, chunk.payload.readableBytes)
            } else {
                XCTAssertNil(Message.mesh(message).dataPayloadBytes, "\(message)")
            }
        }
    }

    func testEveryTruncationIsRejected() {
        for message in samples() {
            let bytes = Envelope(sender: .zero, message: .mesh(message)).encoded()
            guard bytes.readableBytes <= WireHeader.maxDatagram else { continue }
            for cut in 0..<bytes.readableBytes {
                XCTAssertThrowsError(try Envelope.decode(bytes.getSlice(at: 0, length: cut)!), "\(message) cut at \(cut)")
            }
        }
    }

    private func body(kind: UInt8, _ write: (inout ByteBuffer) -> Void) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(WireHeader.magic)
        buffer.writeInteger(WireHeader.version)
        buffer.writeInteger(MeshMessage.typeBase + kind)
        buffer.writeNodeID(.zero)
        write(&buffer)
        return buffer
    }

    private func assertRejected(_ bytes: ByteBuffer, _ expected: WireError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Envelope.decode(bytes), file: file, line: line) { error in
            XCTAssertEqual(error as? WireError, expected, file: file, line: line)
        }
    }

    func testHostileBodiesAreRefused() {
        // A buffer map claiming more bits than allowed.
        assertRejected(body(kind: 0x06) { $0.writeInteger(UInt16(1)); $0.writeInteger(UInt8(8)); $0.writeInteger(UInt32(0)); $0.writeInteger(UInt16(60_000)) },
                       .invalidField("buffer_map.count"))
        // A buffer map whose bitmap is shorter than its count.
        assertRejected(body(kind: 0x06) { $0.writeInteger(UInt16(1)); $0.writeInteger(UInt8(8)); $0.writeInteger(UInt32(0)); $0.writeInteger(UInt16(64)); $0.writeInteger(UInt32(0)) },
                       .truncated)
        // Bits set past the count (two encodings of one map).
        assertRejected(body(kind: 0x06) { $0.writeInteger(UInt16(1)); $0.writeInteger(UInt8(8)); $0.writeInteger(UInt32(0)); $0.writeInteger(UInt16(3)); $0.writeInteger(UInt8(0xFF)) },
                       .invalidField("buffer_map.padding"))
        // Empty and oversized sequence lists.
        assertRejected(body(kind: 0x08) { $0.writeInteger(UInt8(0)) }, .invalidField("mesh.request"))
        assertRejected(body(kind: 0x08) { $0.writeInteger(UInt8(65)) }, .invalidField("mesh.request"))
        assertRejected(body(kind: 0x07) { $0.writeInteger(UInt16(1)); $0.writeInteger(UInt8(8)); $0.writeInteger(UInt8(200)) }, .invalidField("mesh.have"))
        // A request count that lies about what follows.
        assertRejected(body(kind: 0x09) { $0.writeInteger(UInt8(10)); $0.writeInteger(UInt32(1)) }, .truncated)
        // Too many members.
        assertRejected(body(kind: 0x02) { $0.writeInteger(UInt8(33)) }, .invalidField("mesh.members"))
        // A data message with an unknown flag.
        var small = MeshFixtures.chunk(1)
        small.payload = ByteBuffer(repeating: 1, count: 10)
        assertRejected(body(kind: 0x0A) { $0.writeChunk(small); $0.writeInteger(UInt8(2)) }, .invalidField("mesh.data.flags"))
        // Unknown kind, and trailing bytes after a bodiless message.
        assertRejected(body(kind: 0x3F) { _ in }, .unknownType(0xFF))
        assertRejected(body(kind: 0x01) { $0.writeInteger(UInt8(0)) }, .trailingBytes(1))
    }

    func testRandomBodiesNeverTrap() {
        var rng = SeededRNG(seed: 6)
        var accepted = 0
        for _ in 0..<20_000 {
            let kind = UInt8(rng.next() % 12)
            let bytes = body(kind: kind) { buffer in
                for _ in 0..<(rng.next() % 80) { buffer.writeInteger(UInt8(truncatingIfNeeded: rng.next() % 3 == 0 ? 0 : rng.next())) }
            }
            if let envelope = try? Envelope.decode(bytes) {
                XCTAssertEqual(envelope.encoded(), bytes)
                accepted += 1
            }
        }
        XCTAssertGreaterThan(accepted, 10, "some random bodies are valid and must re-encode exactly")
    }
}
