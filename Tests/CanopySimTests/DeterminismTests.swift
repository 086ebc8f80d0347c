import CanopySim
import XCTest

/// One seed replays one run, loss and crashes included (DESIGN.md: same seed ⇒ byte-identical).
final class DeterminismTests: XCTestCase {
    let scenario = """
    {"seed": 11, "nodes": 301, "mode": "direct", "loss": 0.02,
     "upload_kbps": [[0.5, 0], [0.5, 512]], "source_upload_kbps": 50000,
     "stream": {"bitrate_kbps": 64, "chunk_ms": 40, "seconds": 20}, "join": {"over_s": 5},
     "churn": [{"at_s": 12, "crash_fraction": 0.3}, {"at_s": 15, "leave_fraction": 0.1}, {"at_s": 18, "join": 20}]}
    """

    func testSameSeedGivesByteIdenticalReport() throws {
        let first = try runScenario(scenario)
        let second = try runScenario(scenario)
        XCTAssertEqual(withoutSimBlock(first), withoutSimBlock(second))
        // The run really had losses and crashes to replay.
        XCTAssertGreaterThan(number(first, "lost"), 0)
        XCTAssertLessThan(number(first, "continuity", "2"), 1)
        XCTAssertGreaterThan(number(first, "continuity", "2"), 0.9)
    }

    func testDifferentSeedsDiffer() throws {
        let first = try runScenario(scenario)
        let other = try runScenario(scenario, seed: 12)
        XCTAssertNotEqual(withoutSimBlock(first), withoutSimBlock(other))
        XCTAssertEqual(number(other, "seed"), 12)
    }
}
