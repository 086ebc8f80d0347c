import XCTest
import NIOCore
import CanopyCore

/// Hostile input: random and mutated datagrams. None may trap; each must be a valid
/// message (that re-encodes to exactly the same bytes) or a counted rejection.
final class WireFuzzTests: XCTestCase {
    func testHundredThousandHostileDatagrams() throws {
        var rng = SeededRNG(seed: 0xF022)
        var seeds = WireFixtures.envelopes().map { $0.encoded() }
        seeds += try ProtocolVectors.load().map(\.bytes)
        var rejected: [String: Int] = [:]
        var accepted = 0
        let total = 120_000
        for i in 0..<total {
            let datagram = i % 4 == 0 ? randomDatagram(&rng) : mutate(seeds[Int(rng.next() % UInt64(seeds.count))], &rng)
            do {
                let envelope = try Envelope.decode(datagram)
                XCTAssertEqual(envelope.encoded(), datagram, "a decoded message must re-encode to the same bytes")
                accepted += 1
            } catch {
                rejected[error.reason, default: 0] += 1
            }
        }
        XCTAssertEqual(accepted + rejected.values.reduce(0, +), total)
        XCTAssertGreaterThan(accepted, 1_000, "mutations that stay valid are exercised too")
        XCTAssertGreaterThan(rejected["truncated", default: 0], 1_000)
        XCTAssertGreaterThan(rejected["bad_magic", default: 0], 1_000)
        XCTAssertGreaterThan(rejected["trailing_bytes", default: 0], 100)
    }

    private func randomDatagram(_ rng: inout SeededRNG) -> ByteBuffer {
        let length = Int(rng.next() % 1_300)
        var buffer = ByteBuffer()
        if rng.next() % 2 == 0 {   // a valid header makes the body parsers do the work
            buffer.writeInteger(WireHeader.magic)
            buffer.writeInteger(WireHeader.version)
            buffer.writeInteger(UInt8(truncatingIfNeeded: rng.next()))
        }
        while buffer.readableBytes < length { buffer.writeInteger(UInt8(truncatingIfNeeded: rng.next())) }
        return buffer
    }

    private func mutate(_ seed: ByteBuffer, _ rng: inout SeededRNG) -> ByteBuffer {
        var bytes = Array(seed.readableBytesView)
        switch rng.next() % 6 {
        case 0:   // flip a few bits
            for _ in 0...(rng.next() % 4) where !bytes.isEmpty {
                bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(1 << (rng.next() % 8))
            }
        case 1:   // truncate
            bytes.removeLast(Int(rng.next() % UInt64(bytes.count + 1)))
        case 2:   // extend with junk
            for _ in 0..<(1 + rng.next() % 64) { bytes.append(UInt8(truncatingIfNeeded: rng.next())) }
        case 3:   // overwrite a byte past the header with an extreme value (lengths and counts)
            if bytes.count > 20 { bytes[20 + Int(rng.next() % UInt64(bytes.count - 20))] = rng.next() % 2 == 0 ? 0xFF : 0 }
        case 4:   // change the type byte, keeping the body
            if bytes.count > 3 { bytes[3] = UInt8(truncatingIfNeeded: rng.next()) }
        default:  // leave valid: decoders must accept what encoders produce
            break
        }
        return ByteBuffer(bytes: bytes)
    }
}
