import XCTest
import CanopyCore
import NIOCore

final class TreeWireTests: XCTestCase {
    private let a = NodeRef(id: NodeID(high: 0xA1, low: 0xA2), address: PeerAddress(host: 0x7F00_0001, port: 7070))
    private let b = NodeRef(id: NodeID(high: 0xB1, low: 0xB2), address: PeerAddress(host: 0x0A00_0002, port: 9))
    private let topic = NodeID(high: 0x3000_0000_0000_0001, low: 42)

    private var samples: [TreeMessage] {
        [
            .join(TreeJoin(topic: topic, joiner: a, budget: 6, spare: 300, children: 4)),
            .accept(topic: topic, path: [a.id, b.id]),
            .accept(topic: topic, path: []),
            .reject(topic: topic, handedDown: true),
            .reject(topic: topic, handedDown: false),
            .leave(topic: topic),
            .heartbeat(topics: [topic, a.id]),
            .refresh(TreeRefresh(spare: 12, topics: [TreeTopicLoad(topic: topic, children: 3)])),
            .anycast(TreeAnycast(group: a.id, target: topic, requester: b, visited: [a.id], stack: [a, b])),
            .anycastFailed(group: a.id, target: topic),
            .fill(topic: topic, from: 0xDEAD_BEEF),
            .move(topic: topic),
            .promote(TreeJoin(topic: topic, joiner: b, budget: 1, spare: 2, children: 9)),
        ]
    }

    private func roundTrip(_ message: TreeMessage) throws -> TreeMessage {
        let envelope = Envelope(sender: a.id, message: .tree(message))
        let bytes = envelope.encoded()
        XCTAssertEqual(bytes.readableBytes, envelope.encodedSize, "bodySize is exact for \(message)")
        XCTAssertLessThanOrEqual(bytes.readableBytes, WireHeader.maxDatagram)
        let decoded = try Envelope.decode(bytes)
        XCTAssertEqual(decoded.sender, a.id)
        guard case .tree(let back) = decoded.message else {
            XCTFail("decoded into another family")
            return message
        }
        return back
    }

    func testEveryMessageRoundTripsByteForByte() throws {
        for message in samples {
            XCTAssertEqual(try roundTrip(message), message)
            XCTAssertNil(Message.tree(message).dataPayloadBytes, "tree messages are control traffic")
        }
    }

    func testLargestAnycastStillFitsOneDatagram() throws {
        let walk = TreeAnycast(group: a.id, target: topic, requester: b,
                               visited: Array(repeating: a.id, count: TreeAnycast.maxVisited),
                               stack: Array(repeating: b, count: TreeAnycast.maxStack))
        XCTAssertEqual(try roundTrip(.anycast(walk)), .anycast(walk))
    }

    /// Lists longer than decoding accepts are cut when encoding (the size agrees), so no
    /// node ever sends a datagram every receiver drops as malformed.
    func testOverlongListsAreCutToWhatDecodingAccepts() throws {
        let loads = (0..<(TreeMessage.maxTopics + 20)).map {
            TreeTopicLoad(topic: NodeID(high: UInt64($0), low: 1), children: UInt8($0 % 7))
        }
        XCTAssertEqual(try roundTrip(.refresh(TreeRefresh(spare: 3, topics: loads))),
                       .refresh(TreeRefresh(spare: 3, topics: Array(loads.prefix(TreeMessage.maxTopics)))))
        let topics = loads.map(\.topic)
        XCTAssertEqual(try roundTrip(.heartbeat(topics: topics)), .heartbeat(topics: Array(topics.prefix(TreeMessage.maxTopics))))
        let path = Array(repeating: b.id, count: TreeMessage.maxPath + 5)
        XCTAssertEqual(try roundTrip(.accept(topic: topic, path: path)),
                       .accept(topic: topic, path: Array(path.prefix(TreeMessage.maxPath))))
        let walk = TreeAnycast(group: a.id, target: topic, requester: b,
                               visited: Array(repeating: a.id, count: TreeAnycast.maxVisited + 3),
                               stack: Array(repeating: b, count: TreeAnycast.maxStack + 3))
        guard case .anycast(let back) = try roundTrip(.anycast(walk)) else { return XCTFail("not an anycast") }
        XCTAssertEqual(back.visited.count, TreeAnycast.maxVisited)
        XCTAssertEqual(back.stack.count, TreeAnycast.maxStack)
    }

    func testEveryTruncationIsRejected() {
        for message in samples {
            let whole = Envelope(sender: a.id, message: .tree(message)).encoded()
            for length in 0..<whole.readableBytes {
                XCTAssertThrowsError(try Envelope.decode(whole.getSlice(at: 0, length: length)!),
                                     "\(message) cut to \(length) bytes")
            }
        }
    }

    func testLyingCountsAndBadFlagsAreRejected() {
        var header = ByteBuffer()
        header.writeInteger(WireHeader.magic)
        header.writeInteger(WireHeader.version)

        var overlong = header
        overlong.writeInteger(TreeMessage.typeBase + 0x05)
        overlong.writeNodeID(a.id)
        overlong.writeInteger(UInt8(TreeMessage.maxTopics + 1))
        XCTAssertThrowsError(try Envelope.decode(overlong)) { XCTAssertEqual($0 as? WireError, .invalidField("heartbeat.topics")) }

        var short = header
        short.writeInteger(TreeMessage.typeBase + 0x02)
        short.writeNodeID(a.id)
        short.writeNodeID(topic)
        short.writeInteger(UInt8(40))
        XCTAssertThrowsError(try Envelope.decode(short)) { XCTAssertEqual($0 as? WireError, .truncated) }

        var flag = header
        flag.writeInteger(TreeMessage.typeBase + 0x03)
        flag.writeNodeID(a.id)
        flag.writeNodeID(topic)
        flag.writeInteger(UInt8(7))
        XCTAssertThrowsError(try Envelope.decode(flag)) { XCTAssertEqual($0 as? WireError, .invalidField("reject.handed_down")) }

        var unknown = header
        unknown.writeInteger(TreeMessage.typeBase + 0x3F)
        unknown.writeNodeID(a.id)
        XCTAssertThrowsError(try Envelope.decode(unknown)) { XCTAssertEqual($0 as? WireError, .unknownType(0xBF)) }
    }

    func testRandomBodiesNeverCrash() {
        var rng = SeededRNG(seed: 9)
        for _ in 0..<5_000 {
            var buffer = ByteBuffer()
            buffer.writeInteger(WireHeader.magic)
            buffer.writeInteger(WireHeader.version)
            buffer.writeInteger(TreeMessage.typeBase + UInt8(rng.next() % 10))
            buffer.writeNodeID(a.id)
            let length = Int(rng.next() % 200)
            for _ in 0..<length { buffer.writeInteger(UInt8(truncatingIfNeeded: rng.next())) }
            if let envelope = try? Envelope.decode(buffer) {
                XCTAssertEqual(envelope.encodedSize, buffer.readableBytes, "whatever decodes re-encodes to its size")
            }
        }
    }
}
