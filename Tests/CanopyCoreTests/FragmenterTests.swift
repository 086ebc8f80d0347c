import XCTest
import NIOCore
import CanopyCore

final class FragmenterTests: XCTestCase {
    func bigChunkEnvelope(payload: Int) -> Envelope {
        let chunk = Chunk(streamID: NodeID(high: 1, low: 2), sequence: 9, generatedAt: 1234,
                          payload: ByteBuffer(bytes: (0..<payload).map { UInt8(truncatingIfNeeded: $0) }),
                          signature: ByteBuffer(repeating: 7, count: 64))
        return Envelope(sender: NodeID(high: 3, low: 4), message: .stream(.chunk(chunk)))
    }

    func testSplitAndReassemble() throws {
        let envelope = bigChunkEnvelope(payload: 3000)
        let datagrams = try XCTUnwrap(Fragmenter.datagrams(for: envelope, messageID: 77))
        XCTAssertEqual(datagrams.count, 3)
        XCTAssertTrue(datagrams.allSatisfy { $0.readableBytes <= WireHeader.maxDatagram })
        XCTAssertEqual(Fragmenter.wireCost(envelopeSize: envelope.encodedSize).bytes,
                       datagrams.reduce(0) { $0 + $1.readableBytes })
        var reassembler = Fragmenter()
        let from = PeerAddress(host: 1, port: 2)
        var whole: ByteBuffer?
        for datagram in datagrams.reversed() {
            guard case .stream(.fragment(let f)) = try Envelope.decode(datagram).message else { return XCTFail() }
            whole = reassembler.add(f, from: from, now: .zero)
        }
        XCTAssertEqual(whole, envelope.encoded())
        XCTAssertEqual(reassembler.pendingCount, 0)
    }

    func testSmallMessageIsOneDatagram() throws {
        let envelope = bigChunkEnvelope(payload: 160)
        XCTAssertEqual(Fragmenter.datagrams(for: envelope, messageID: 1)?.count, 1)
        XCTAssertEqual(Fragmenter.wireCost(envelopeSize: envelope.encodedSize).bytes, envelope.encodedSize)
    }

    func testPendingReassembliesAreBounded() {
        var reassembler = Fragmenter(maxPending: 8, timeout: .seconds(1))
        let piece = ByteBuffer(bytes: [1, 2, 3])
        for id in 0..<100 {
            _ = reassembler.add(Fragment(messageID: UInt32(id), index: 0, count: 4, bytes: piece),
                                from: PeerAddress(host: 9, port: 9), now: .zero)
        }
        XCTAssertEqual(reassembler.pendingCount, 8)
        _ = reassembler.add(Fragment(messageID: 1000, index: 0, count: 4, bytes: piece),
                            from: PeerAddress(host: 9, port: 9), now: Instant(micros: 2_000_000))
        XCTAssertEqual(reassembler.pendingCount, 1, "stale reassemblies expire to make room")
    }

    func testInconsistentFragmentCountIsDropped() {
        var reassembler = Fragmenter()
        let from = PeerAddress(host: 1, port: 1)
        let piece = ByteBuffer(bytes: [0])
        XCTAssertNil(reassembler.add(Fragment(messageID: 5, index: 0, count: 3, bytes: piece), from: from, now: .zero))
        XCTAssertNil(reassembler.add(Fragment(messageID: 5, index: 1, count: 2, bytes: piece), from: from, now: .zero))
        XCTAssertEqual(reassembler.pendingCount, 0)
    }
}

extension FragmenterTests {
    func testReassembledMessageDecodesWithTheLargerLimitOnly() throws {
        let envelope = bigChunkEnvelope(payload: 3000)
        let whole = envelope.encoded()
        XCTAssertThrowsError(try Envelope.decode(whole)) { XCTAssertEqual($0 as? WireError, .oversized(whole.readableBytes)) }
        XCTAssertEqual(try Envelope.decode(whole, maxSize: Fragmenter.maxReassembled).encoded(), whole)
        let nested = Envelope(sender: .zero, message: .stream(.fragment(Fragment(messageID: 1, index: 0, count: 2,
                                                                               bytes: ByteBuffer(bytes: [1])))))
        XCTAssertThrowsError(try Envelope.decode(nested.encoded(), maxSize: Fragmenter.maxReassembled))
    }
}
