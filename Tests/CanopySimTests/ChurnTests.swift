import CanopySim
import XCTest

/// Each churn event of the scenario contract does what it says, seen in the timeline.
final class ChurnTests: XCTestCase {
    func liveNodes(_ report: JSONValue) -> [Int] {
        guard case .array(let buckets)? = report["timeline"] else { return [] }
        return buckets.map { Int(number($0, "live_nodes")) }
    }

    func testCrashLeaveAndJoin() throws {
        let report = try runScenario("""
            {"nodes": 101, "mode": "direct", "stream": {"bitrate_kbps": 32, "chunk_ms": 100, "seconds": 50},
             "join": {"over_s": 10},
             "churn": [{"at_s": 15, "crash_fraction": 0.5}, {"at_s": 25, "leave_fraction": 0.2}, {"at_s": 35, "join": 30}]}
            """)
        // Buckets end at 10, 20, ...: all joined; half of 100 crashed; 10 of 50 left; 30 joined.
        XCTAssertEqual(liveNodes(report), [101, 51, 41, 71, 71, 71])
        XCTAssertEqual(number(report, "nodes_created"), 131)
        // The joiners of 35 s are served: the last bucket's stream is whole.
        XCTAssertEqual(number(report, "gapless", "5"), 1)
    }

    func testSteadySessionsKeepTheNodeCount() throws {
        let report = try runScenario("""
            {"nodes": 201, "mode": "direct", "stream": {"bitrate_kbps": 32, "chunk_ms": 100, "seconds": 60},
             "join": {"over_s": 10}, "churn": [{"sessions": {"mean_s": 30}}]}
            """)
        XCTAssertEqual(Set(liveNodes(report)), [201])
        // 200 listeners with 30-s sessions over 70 s: about 470 replacements.
        XCTAssertGreaterThan(number(report, "nodes_created"), 201 + 300)
        XCTAssertLessThan(number(report, "nodes_created"), 201 + 700)
    }

    func testGracefulSessionsSayGoodbye() throws {
        let report = try runScenario("""
            {"nodes": 51, "mode": "direct", "stream": {"bitrate_kbps": 32, "chunk_ms": 100, "seconds": 30},
             "join": {"over_s": 5}, "churn": [{"sessions": {"mean_s": 10, "kind": "leave"}}]}
            """)
        XCTAssertEqual(Set(liveNodes(report)), [51])
        // The source stops sending to a listener that said goodbye: almost nothing vanishes.
        // (A crashed listener keeps being sent chunks until the source's 15-s timeout: ~150 each.)
        XCTAssertLessThan(number(report, "vanished"), 5 * (number(report, "nodes_created") - 51))
    }
}
