import XCTest
import Foundation
@testable import CanopyAudio

final class TmpPerfTests: XCTestCase {
    func testPerf() throws {
        let music = try testMusic(seconds: 20)
        let frames = (0..<(music.count / 1920)).map { Array(music[($0 * 1920)..<($0 * 1920 + 1920)]) }
        let enc = try OpusEncoder(); let dec = try OpusDecoder()
        var p: [UInt8] = []; var pcm: [Int16] = []
        let t0 = Date()
        for f in frames { try enc.encode(f, into: &p); try dec.decode(p, into: &pcm) }
        let t = Date().timeIntervalSince(t0)
        print("PERF encode+decode: \(t / 20 * 1000) ms per second of audio")
        let t1 = Date()
        var sig = TestSignal(kind: .music, seconds: 20); while try sig.nextFrame() != nil {}
        print("PERF testsignal: \(Date().timeIntervalSince(t1) / 20 * 1000) ms per s")
        var r = Resampler(inputRate: 44100, outputRate: 48000, channels: 2)
        let input = [Float](repeating: 0.1, count: 44100 * 2 * 5); var out: [Float] = []
        let t2 = Date(); r.process(input, into: &out)
        print("PERF resampler: \(Date().timeIntervalSince(t2) / 5 * 1000) ms per s")
    }
}
