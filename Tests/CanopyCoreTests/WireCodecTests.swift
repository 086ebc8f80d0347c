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

    func testDataClassification() {
        XCTAssertEqual(Message.stream(.chunk(WireFixtures.chunk)).dataPayloadBytes, 5)
        XCTAssertTrue(Message.stream(.chunk(WireFixtures.chunk)).isData)
        XCTAssertFalse(Message.stream(.infoRequest).isData)
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

    /// Every fixture appears in the document, so the document cannot fall behind the code.
    func testDocumentCoversEveryStreamMessage() throws {
        let documented = Set(try ProtocolVectors.load().map(\.bytes.hexString))
        for envelope in WireFixtures.envelopes() {
            XCTAssertTrue(documented.contains(envelope.encoded().hexString),
                          "docs/PROTOCOL.md lacks a vector for \(envelope.message): \(envelope.encoded().hexString)")
        }
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
