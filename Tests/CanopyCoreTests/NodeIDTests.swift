import XCTest
import CanopyCore

final class NodeIDTests: XCTestCase {
    func testDigitsAndPrefix() {
        let id = NodeID(hex: "0123456789abcdef0123456789abcdef")!
        let hex = DigitBase.hex
        XCTAssertEqual((0..<16).map { hex.digit(id, $0) }, Array(0..<16))
        XCTAssertEqual(hex.digit(id, 31), 15)
        let other = NodeID(hex: "0123456789abcdef0123456789abcdee")!
        XCTAssertEqual(hex.sharedPrefixLength(id, other), 31)
        XCTAssertEqual(hex.sharedPrefixLength(id, id), 32)
        XCTAssertEqual(DigitBase(bits: 2).sharedPrefixLength(id, other), 63)
        let replaced = hex.replacing(id, digit: 0, with: 0xF)
        XCTAssertEqual(replaced.description, "f123456789abcdef0123456789abcdef")
        let replacedLow = hex.replacing(id, digit: 17, with: 0)
        XCTAssertEqual(replacedLow.description, "0123456789abcdef0023456789abcdef")
    }

    func testRingDistanceWrapsAround() {
        let a = NodeID(high: 0, low: 5)
        let b = NodeID(high: .max, low: .max - 4)   // 2^128 - 5
        XCTAssertEqual(a.ringDistance(to: b), NodeID(high: 0, low: 10))
        XCTAssertEqual(b.ringDistance(to: a), NodeID(high: 0, low: 10))
        XCTAssertEqual(a.clockwiseDistance(to: b), NodeID(high: .max, low: .max - 9))
        let c = NodeID(high: 1, low: 0)
        XCTAssertEqual(c.subtracting(a), NodeID(high: 0, low: .max - 4))
    }

    func testClosenessTieBreaksTowardSmallerID() {
        let key = NodeID(high: 0, low: 10)
        let below = NodeID(high: 0, low: 8), above = NodeID(high: 0, low: 12)
        XCTAssertTrue(below.isCloser(to: key, than: above))
        XCTAssertFalse(above.isCloser(to: key, than: below))
        XCTAssertTrue(NodeID(high: 0, low: 11).isCloser(to: key, than: below))
    }

    func testHashBytesAndRoundTrips() {
        let bytes: [UInt8] = Array(0..<20)
        let id = NodeID(hashBytes: bytes)
        XCTAssertEqual(id.bytes, Array(0..<16))
        XCTAssertEqual(NodeID(hex: id.description), id)
        XCTAssertNil(NodeID(hex: "xyz"))
    }

    func testSeededRNGIsReproducibleAndSpreads() {
        var a = SeededRNG(seed: 42), b = SeededRNG(seed: 42), c = SeededRNG(seed: 43)
        let seqA = (0..<100).map { _ in a.next() }
        XCTAssertEqual(seqA, (0..<100).map { _ in b.next() })
        XCTAssertNotEqual(seqA, (0..<100).map { _ in c.next() })
        var rng = SeededRNG(seed: 1)
        var buckets = [Int](repeating: 0, count: 10)
        for _ in 0..<100_000 { buckets[Int(rng.unit() * 10)] += 1 }
        XCTAssertTrue(buckets.allSatisfy { $0 > 9_500 && $0 < 10_500 }, "\(buckets)")
        let mean = (0..<100_000).reduce(0.0) { acc, _ in acc + rng.exponential(mean: 3) } / 100_000
        XCTAssertEqual(mean, 3, accuracy: 0.05)
    }

    func testPeerAddressParsing() {
        XCTAssertEqual(PeerAddress(parsing: "127.0.0.1:7070"), PeerAddress(host: 0x7F00_0001, port: 7070))
        XCTAssertEqual(PeerAddress(parsing: "localhost:1")?.description, "127.0.0.1:1")
        for bad in ["127.0.0.1", "1.2.3:5", "256.1.1.1:5", "a.b.c.d:1", "1.2.3.4:70000", ":80", "1.2.3.4:"] {
            XCTAssertNil(PeerAddress(parsing: bad), bad)
        }
    }
}
