import XCTest
import NIOCore
import Foundation
import CanopyCore

final class WireCodecTests: XCTestCase {
    func testEveryMessageRoundTripsAndSizeIsExact() throws {
        for envelope in WireFixtures.envelopes() {
            let bytes = envelope.encoded()
            XCTAssertEqual(bytes.readableBytes, envelope.encodedSize, "\(envelope.message)")
            let decoded = try Envelope.decode(bytes)
            XCTAssertEqual(decoded.sender, envelope.sender)
            XCTAssertEqual(decoded.encoded(), bytes)
        }
    }

    /// Only messages that carry a chunk are data, a route included when its payload is one.
    func testDataClassification() {
        XCTAssertEqual(WireFixtures.messages.filter(\.message.isData).map(\.name), ["stream.chunk", "mesh.data"])
        XCTAssertEqual(Message.stream(.chunk(WireFixtures.chunk)).dataPayloadBytes, 5)
        XCTAssertEqual(Message.mesh(.data(WireFixtures.chunk, status: nil)).dataPayloadBytes, 5)
        let routed = RouteEnvelope(seq: 0, key: WireFixtures.topic, origin: WireFixtures.peerA, hops: 0,
                                   payload: .stream(.chunk(WireFixtures.chunk)))
        XCTAssertEqual(Message.pastry(.route(routed)).dataPayloadBytes, 5)
    }

    func testSpecificRejections() {
        var good = Envelope(sender: WireFixtures.sender, message: .stream(.clockProbe(sentAt: 1))).encoded()
        XCTAssertThrowsError(try Envelope.decode(ByteBuffer(bytes: [0xCA]))) { XCTAssertEqual($0 as? WireError, .truncated) }
        var badMagic = good
        badMagic.setInteger(UInt16(0xBEEF), at: 0)
        XCTAssertThrowsError(try Envelope.decode(badMagic)) { XCTAssertEqual($0 as? WireError, .badMagic) }
        var badVersion = good
        badVersion.setInteger(UInt8(9), at: 2)
        XCTAssertThrowsError(try Envelope.decode(badVersion)) { XCTAssertEqual($0 as? WireError, .unsupportedVersion(9)) }
        var badType = good
        badType.setInteger(UInt8(0x3E), at: 3)
        XCTAssertThrowsError(try Envelope.decode(badType)) { XCTAssertEqual($0 as? WireError, .unknownType(0x3E)) }
        good.writeInteger(UInt8(0))
        XCTAssertThrowsError(try Envelope.decode(good)) { XCTAssertEqual($0 as? WireError, .trailingBytes(1)) }
        let huge = ByteBuffer(repeating: 0, count: 1201)
        XCTAssertThrowsError(try Envelope.decode(huge)) { XCTAssertEqual($0 as? WireError, .oversized(1201)) }
    }

    /// docs/PROTOCOL.md's test vectors: each decodes, and re-encodes byte for byte.
    func testProtocolDocumentVectors() throws {
        let vectors = try ProtocolVectors.load()
        XCTAssertGreaterThanOrEqual(vectors.count, WireFixtures.messages.count)
        for (name, bytes) in vectors {
            let envelope = try Envelope.decode(bytes)
            XCTAssertEqual(envelope.encoded().hexString, bytes.hexString, name)
        }
        let chunk = try Envelope.decode(XCTUnwrap(vectors.first { $0.name == "stream.chunk" }).bytes)
        guard case .stream(.chunk(let c)) = chunk.message else { return XCTFail("stream.chunk is not a chunk") }
        XCTAssertEqual(c, WireFixtures.chunk)
        XCTAssertEqual(chunk.sender, WireFixtures.sender)
        let info = try Envelope.decode(XCTUnwrap(vectors.first { $0.name == "stream.info" }).bytes)
        guard case .stream(.info(let i)) = info.message else { return XCTFail("stream.info is not info") }
        XCTAssertEqual(i, WireFixtures.info)
    }

    /// Every fixture's vector is in the document under its name, so the document cannot
    /// fall behind the code.
    func testDocumentHasTheVectorOfEveryFixture() throws {
        let vectors = try ProtocolVectors.load()
        XCTAssertEqual(Set(vectors.map(\.name)).count, vectors.count, "vector names are unique")
        for (name, message) in WireFixtures.messages {
            let bytes = Envelope(sender: WireFixtures.sender, message: message).encoded().hexString
            guard let vector = vectors.first(where: { $0.name == name }) else {
                XCTFail("docs/PROTOCOL.md lacks `Vector: \(name)`: \(bytes)")
                continue
            }
            XCTAssertEqual(vector.bytes.hexString, bytes, name)
        }
    }

    /// Exactly one fixture per type byte the decoder knows: a message type added to any
    /// family fails here until it has a fixture, and so (above) a vector in the document.
    func testFixturesCoverEveryMessageType() {
        let fixtureTypes = WireFixtures.messages.map(\.message.typeCode)
        XCTAssertEqual(Set(fixtureTypes).count, fixtureTypes.count, "one fixture per type")
        let known = (UInt8.min...UInt8.max).filter { type in
            var datagram = ByteBuffer()
            datagram.writeInteger(WireHeader.magic)
            datagram.writeInteger(WireHeader.version)
            datagram.writeInteger(type)
            datagram.writeNodeID(WireFixtures.sender)
            do throws(WireError) {
                _ = try Envelope.decode(datagram)
                return true
            } catch {
                return error != .unknownType(type)
            }
        }
        XCTAssertEqual(fixtureTypes.sorted(), known, "types without a fixture: "
                       + Set(known).subtracting(fixtureTypes).sorted().map { String(format: "0x%02X", $0) }.joined(separator: " "))
    }

    /// `info.mode_parameter` (docs/PROTOCOL.md §4.2) is what each mode defines and nothing
    /// else: a tree stream's stripe count above 16 would crash the listener that adopts it.
    func testInfoModeParameterIsBoundedPerMode() throws {
        let defined: [StreamMode: ClosedRange<Int>] = [.direct: 0...0, .tree: 1...16, .mesh: 0...1]
        for mode in StreamMode.allCases {
            let range = try XCTUnwrap(defined[mode])
            for parameter in 0...255 {
                var datagram = Envelope(sender: WireFixtures.sender, message: .stream(.info(WireFixtures.info))).encoded()
                datagram.setBytes([mode.rawValue, UInt8(parameter)], at: WireHeader.size + 48)
                let label = "\(mode) mode, parameter \(parameter)"
                if range.contains(parameter) {
                    guard case .stream(.info(let info)) = try Envelope.decode(datagram).message else { return XCTFail(label) }
                    XCTAssertTrue(info.hasValidParameter, label)
                } else {
                    XCTAssertThrowsError(try Envelope.decode(datagram), label) {
                        XCTAssertEqual($0 as? WireError, .invalidField("info.mode_parameter"), label)
                    }
                }
            }
        }
    }

    /// A fragment is never routed (docs/PROTOCOL.md §5.1): one inside a `route` is refused,
    /// in a datagram and in a reassembled one alike, so it reaches neither Pastry nor the
    /// application.
    func testRouteRefusesAFragmentPayload() throws {
        let fragment = try WireFixtures.message("stream.fragment")
        let routed = RouteEnvelope(seq: 1, key: WireFixtures.topic, origin: WireFixtures.peerA, hops: 0, payload: fragment)
        let datagram = Envelope(sender: WireFixtures.sender, message: .pastry(.route(routed))).encoded()
        for maxSize in [WireHeader.maxDatagram, Fragmenter.maxReassembled] {
            XCTAssertThrowsError(try Envelope.decode(datagram, maxSize: maxSize), "limit \(maxSize)") {
                XCTAssertEqual($0 as? WireError, .invalidField("route.payload"))
            }
        }
        var chunk = routed
        chunk.payload = try WireFixtures.message("stream.chunk")
        XCTAssertNoThrow(try Envelope.decode(Envelope(sender: WireFixtures.sender, message: .pastry(.route(chunk))).encoded()),
                         "other stream messages may still be routed")
    }

    /// docs/PROTOCOL.md §2: each type has one header form. Partners' messages and fragments
    /// take the short header (4 bytes, no sender id); a datagram in the other form is refused,
    /// so no message has two encodings.
    func testEachTypeTakesExactlyOneHeaderForm() throws {
        for name in ["mesh.status", "mesh.request", "mesh.data", "stream.fragment"] {
            let message = try WireFixtures.message(name)
            let short = Envelope(sender: WireFixtures.sender, message: message).encoded()
            XCTAssertEqual(short.readableBytes, WireHeader.shortSize + message.bodySize, name)
            XCTAssertNil(try Envelope.decode(short).sender, name)
            var long = ByteBuffer()
            long.writeInteger(WireHeader.magic)
            long.writeBytes(short.getBytes(at: 2, length: 2)!)
            long.writeNodeID(WireFixtures.sender)
            long.writeBytes(short.getBytes(at: WireHeader.shortSize, length: message.bodySize)!)
            XCTAssertThrowsError(try Envelope.decode(long), name) { XCTAssertEqual($0 as? WireError, .invalidField("header.form")) }
        }
        for name in ["mesh.join", "mesh.partner_request", "stream.chunk", "pastry.route"] {
            let message = try WireFixtures.message(name)
            let long = Envelope(sender: WireFixtures.sender, message: message).encoded()
            XCTAssertEqual(try Envelope.decode(long).sender, WireFixtures.sender, name)
            var short = ByteBuffer()
            short.writeInteger(WireHeader.shortMagic)
            short.writeBytes(long.getBytes(at: 2, length: 2)!)
            short.writeBytes(long.getBytes(at: WireHeader.size, length: message.bodySize)!)
            XCTAssertThrowsError(try Envelope.decode(short), name) { XCTAssertEqual($0 as? WireError, .invalidField("header.form")) }
        }
    }

    /// The bounds docs/PROTOCOL.md §4–§7 state are the decoder's: each fixture, with the
    /// bytes at `offset` into its body (per the document's layouts) replaced, is refused
    /// for the stated reason.
    func testFamilyBoundsAreEnforced() throws {
        let cases: [(name: String, offset: Int, bytes: [UInt8], error: WireError)] = [
            ("stream.info", 49, [17], .invalidField("info.mode_parameter")),
            ("pastry.route", 42, [65], .invalidField("route.hops")),
            ("pastry.route", 43, [0x41], .invalidField("route.payload")),
            ("pastry.route", 43, [0x4F], .unknownType(0x4F)),
            ("pastry.join_reply", 0, [3], .truncated),
            ("tree.accept", 16, [49], .invalidField("accept.path")),
            ("tree.reject", 16, [2], .invalidField("reject.handed_down")),
            ("tree.heartbeat", 0, [65], .invalidField("heartbeat.topics")),
            ("tree.refresh", 2, [65], .invalidField("refresh.topics")),
            ("tree.anycast", 54, [2], .invalidField("anycast.move")),
            ("tree.anycast", 55, [17], .invalidField("anycast.visited")),
            ("tree.anycast", 72, [17], .invalidField("anycast.stack")),
            ("mesh.members", 0, [33], .invalidField("mesh.members")),
            ("mesh.partner_refuse", 0, [33], .invalidField("mesh.refuse_members")),
            ("mesh.have", 3, [0], .invalidField("mesh.have")),
            ("mesh.request", 0, [65], .invalidField("mesh.request")),
            ("mesh.refuse", 0, [0], .invalidField("mesh.refuse")),
            ("mesh.partner_request", 7, [0x04, 0x01], .invalidField("buffer_map.count")),
            ("mesh.partner_request", 10, [0x06], .invalidField("buffer_map.padding")),
            ("mesh.data", 99, [2], .invalidField("mesh.data.flags")),
        ]
        for (name, offset, bytes, error) in cases {
            let message = try WireFixtures.message(name)
            var datagram = Envelope(sender: WireFixtures.sender, message: message).encoded()
            datagram.setBytes(bytes, at: message.envelopeSize - message.bodySize + offset)
            XCTAssertThrowsError(try Envelope.decode(datagram), name) { XCTAssertEqual($0 as? WireError, error, name) }
        }
        var longest = Envelope(sender: WireFixtures.sender, message: try WireFixtures.message("pastry.route")).encoded()
        longest.setBytes([64], at: WireHeader.size + 42)
        XCTAssertNoThrow(try Envelope.decode(longest), "64 hops is the limit, not past it")
    }
}

/// Reads the ```hex blocks that follow "Vector: NAME" lines in docs/PROTOCOL.md.
enum ProtocolVectors {
    static func load() throws -> [(name: String, bytes: ByteBuffer)] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/PROTOCOL.md"), encoding: .utf8)
        var result: [(String, ByteBuffer)] = []
        var name: String?
        var hex: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let range = line.range(of: "Vector: ") {
                let rest = line[range.upperBound...]
                name = rest.split(separator: "`", omittingEmptySubsequences: true).first.map(String.init)
            } else if line.hasPrefix("```hex") {
                hex = ""
            } else if line.hasPrefix("```"), let collected = hex {
                guard let name, let bytes = ByteBuffer(hex: collected) else {
                    throw NSError(domain: "PROTOCOL.md", code: 1, userInfo: [NSLocalizedDescriptionKey: "bad vector block"])
                }
                result.append((name, bytes))
                hex = nil
            } else if hex != nil {
                hex! += line
            }
        }
        return result
    }
}
