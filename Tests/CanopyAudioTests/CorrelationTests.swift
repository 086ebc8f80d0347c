import XCTest
@testable import CanopyAudio

final class CorrelationTests: XCTestCase {
    func testFindsAKnownLag() throws {
        let music = try testMusic(seconds: 2)
        let delayed = [Int16](repeating: 0, count: 2 * 777) + music
        let match = Correlation.best(reference: music, signal: delayed, maxLag: 2_000)
        XCTAssertEqual(match.lag, 777)
        XCTAssertEqual(match.coefficient, 1, accuracy: 1e-9)
        let early = Array(music[(2 * 333)...])
        XCTAssertEqual(Correlation.best(reference: music, signal: early, maxLag: 2_000).lag, -333)
    }

    func testUnrelatedAndSilentSignals() throws {
        let music = try testMusic(seconds: 1)
        let inverted = music.map { $0 == Int16.min ? Int16.max : -$0 }
        XCTAssertEqual(Correlation.coefficient(reference: music, signal: inverted), -1, accuracy: 1e-6)
        XCTAssertEqual(Correlation.coefficient(reference: music, signal: [Int16](repeating: 0, count: music.count)), 0)
    }
}
