import XCTest
@testable import CanopyAudio

final class OpusCodecTests: XCTestCase {
    /// Encodes and decodes `pcm` frame by frame.
    private func roundTrip(_ pcm: [Int16], bitrate: Int = 64_000) throws -> (decoded: [Int16], preSkip: Int, bytes: Int) {
        let encoder = try OpusEncoder(bitrate: bitrate)
        let decoder = try OpusDecoder()
        var decoded: [Int16] = []
        var packet: [UInt8] = []
        var frame: [Int16] = []
        var bytes = 0
        var start = 0
        while start < pcm.count {
            try encoder.encode(Array(pcm[start..<(start + AudioFormat.samplesPerFrame)]), into: &packet)
            bytes += packet.count
            try decoder.decode(packet, into: &frame)
            decoded.append(contentsOf: frame)
            start += AudioFormat.samplesPerFrame
        }
        return (decoded, encoder.preSkip, bytes)
    }

    func testEncodeDecodeCorrelatesWithInputAt64k() throws {
        let input = try testMusic(seconds: 8)
        let (decoded, preSkip, bytes) = try roundTrip(input)
        XCTAssertEqual(preSkip, AudioFormat.defaultPreSkip)
        let aligned = Correlation.coefficient(reference: input, signal: decoded, lag: preSkip)
        let best = Correlation.best(reference: input, signal: decoded, maxLag: 2_000)
        print("opus 64k round trip: aligned at pre-skip \(preSkip): \(aligned); best \(best); \(Double(bytes * 8) / 8) bit/s")
        XCTAssertEqual(best.lag, preSkip)
        XCTAssertGreaterThanOrEqual(aligned, 0.99)
        // 64 kbit/s VBR: within 25 % of the target over 8 s.
        XCTAssertEqual(Double(bytes * 8) / 8, 64_000, accuracy: 16_000)
    }

    func testFECAndConcealmentProduceOneFrame() throws {
        let input = try testMusic(seconds: 1)
        let encoder = try OpusEncoder()
        let decoder = try OpusDecoder()
        var packets: [[UInt8]] = []
        for i in 0..<(input.count / AudioFormat.samplesPerFrame) {
            let start = i * AudioFormat.samplesPerFrame
            packets.append(try encoder.encode(Array(input[start..<(start + AudioFormat.samplesPerFrame)])))
        }
        var out: [[Int16]] = []
        for (i, packet) in packets.enumerated() {
            switch i {
            case 10: continue                                   // lost, rebuilt from packet 11's FEC
            case 11: out.append(try decoder.decodeFEC(packet)); out.append(try decoder.decode(packet))
            case 20, 21: out.append(try decoder.conceal())       // lost, concealed
            default: out.append(try decoder.decode(packet))
            }
        }
        XCTAssertEqual(out.count, packets.count)
        for frame in out { XCTAssertEqual(frame.count, AudioFormat.samplesPerFrame) }
        // The rebuilt and concealed audio still resembles the input overall.
        let flat = out.flatMap { $0 }
        let c = Correlation.coefficient(reference: input, signal: flat, lag: encoder.preSkip)
        print("with 1 FEC-recovered + 2 concealed frames out of 50: correlation \(c)")
        XCTAssertGreaterThan(c, 0.9)
    }

    func testEncoderRejectsWrongFrameLength() throws {
        let encoder = try OpusEncoder()
        XCTAssertThrowsError(try encoder.encode([Int16](repeating: 0, count: 100))) { error in
            XCTAssertEqual(error as? OpusError, .wrongFrameLength(expected: 1920, actual: 100))
        }
    }

    func testDecoderRejectsGarbageWithLibopusMessage() throws {
        let decoder = try OpusDecoder()
        XCTAssertThrowsError(try decoder.decode([])) { error in
            XCTAssertTrue("\(error)".contains("corrupted"), "\(error)")
        }
        // TOC code 3 with a frame count of 0 is invalid.
        XCTAssertThrowsError(try decoder.decode([0xFF, 0x00]))
        // A 40 ms packet (code 1: two empty 20 ms frames) is valid Opus but not a Canopy frame.
        XCTAssertThrowsError(try decoder.decode([0xFD])) { error in
            XCTAssertEqual(error as? OpusError, .wrongFrameLength(expected: 960, actual: 1920))
        }
    }

    func testBitrateCanChange() throws {
        let encoder = try OpusEncoder(bitrate: 32_000)
        XCTAssertEqual(encoder.bitrate, 32_000)
        try encoder.setBitrate(96_000)
        XCTAssertEqual(encoder.bitrate, 96_000)
    }
}
