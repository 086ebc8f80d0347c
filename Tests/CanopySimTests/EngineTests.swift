import CanopyCore
import CanopySim
import XCTest

final class EngineTests: XCTestCase {
    /// What a correct lookup must reach is worked out from the live nodes, through churn.
    func testClosestLiveNodeFollowsChurn() throws {
        let simulation = try Simulation(scenario: Scenario.parse("""
            {"nodes": 300, "mode": "direct", "stream": {"bitrate_kbps": 16, "chunk_ms": 100, "seconds": 20},
             "join": {"over_s": 5}, "churn": [{"at_s": 8, "crash_fraction": 0.4}, {"sessions": {"mean_s": 20}}]}
            """))
        XCTAssertNil(simulation.closestLiveNode(to: .zero))  // nobody has joined yet
        simulation.run()
        XCTAssertGreaterThan(simulation.nodeCount, 300)
        var rng = SeededRNG(seed: 3)
        for _ in 0..<200 {
            let key = NodeID.random(using: &rng)
            let expected = simulation.liveNodes.min { a, b in
                let ia = simulation.identity(of: a).id, ib = simulation.identity(of: b).id
                return ia.isCloser(to: key, than: ib)
            }
            XCTAssertEqual(simulation.closestLiveNode(to: key), expected)
        }
    }

    /// A run ends at join.over_s + stream.seconds with every chunk of the stream published.
    func testRunLengthAndChunkCount() throws {
        let report = try runScenario("""
            {"nodes": 5, "mode": "direct", "stream": {"bitrate_kbps": 64, "chunk_ms": 20, "seconds": 8}, "join": {"over_s": 2}}
            """)
        XCTAssertEqual(number(report, "chunks_published"), 400)
        guard case .array(let timeline)? = report["timeline"] else { return XCTFail("no timeline") }
        XCTAssertEqual(timeline.count, 1)
        XCTAssertEqual(number(report, "delivery_ratio"), 1)
    }

    /// Report numbers print the same way everywhere: at most 6 decimals, no exponent.
    func testNumberFormat() {
        XCTAssertEqual(JSONValue.format(1), "1")
        XCTAssertEqual(JSONValue.format(0.25), "0.25")
        XCTAssertEqual(JSONValue.format(1.0 / 3), "0.333333")
        XCTAssertEqual(JSONValue.format(-0.0000001), "0")
        XCTAssertEqual(JSONValue.format(123456789.5), "123456789.5")
        XCTAssertEqual(JSONValue.number(.infinity).serialized(), "null")
        XCTAssertEqual(JSONValue.number(Double?.none), .null)
    }
}
