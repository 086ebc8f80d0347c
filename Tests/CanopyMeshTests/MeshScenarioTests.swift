import XCTest
import CanopyCore
@testable import CanopySim

/// Seeded simulations of a few hundred nodes: the mesh must carry the stream, for both
/// schedulers, with few duplicates and bounded control traffic, and survive churn.
final class MeshScenarioTests: XCTestCase {
    private func run(_ scheduler: String, nodes: Int = 200, upload: String = "300", churn: String = "[]",
                     extra: String = "") throws -> JSONValue {
        let text = """
        {"seed": 11, "nodes": \(nodes), "mode": "mesh", "upload_kbps": \(upload), "source_upload_kbps": 640,
         "stream": {"bitrate_kbps": 64, "chunk_ms": 200, "seconds": 20}, "join": {"over_s": 5},
         "churn": \(churn),
         "mesh": {"scheduler": "\(scheduler)", "buffer_map_period_ms": 500, "window_s": 6\(extra)}}
        """
        return try SimRunner.run(Scenario.parse(text)).report
    }

    /// A number at a dotted path ("continuity.5"), NaN when absent (so every bound fails).
    private func number(_ report: JSONValue, _ path: String) -> Double {
        var value: JSONValue? = report
        var keys = path.split(separator: ".").map(String.init)
        if path.hasPrefix("continuity.") { keys = ["continuity", String(path.dropFirst("continuity.".count))] }
        for key in keys { value = value?[key] }
        guard case .number(let n) = value else { return .nan }
        return n
    }

    func testDonetCarriesTheStream() throws {
        let r = try run("donet")
        XCTAssertGreaterThanOrEqual(number(r, "continuity.5"), 0.99)
        XCTAssertLessThanOrEqual(number(r, "duplicate_ratio"), 0.01)
        XCTAssertLessThanOrEqual(number(r, "control_overhead"), 0.10)
        // Delivery also owes the chunks generated before a node starts playing, two behind
        // the newest it first hears of: every node misses one to three of the 100, the more
        // the sooner the stream reaches it. This run's delivery moves between 0.973 and
        // 0.984 across seeds 11–14 while continuity stays 1. It was 0.978–0.988 before a
        // node's first pull asked for every substream's push: the median delay was 37–65 ms
        // longer, and nodes started at chunk 1.5 on average, not 2.0 (seeds 11 and 13).
        XCTAssertGreaterThanOrEqual(number(r, "delivery_ratio"), 0.97)
    }

    func testChainsawCarriesTheStream() throws {
        let r = try run("chainsaw")
        XCTAssertGreaterThanOrEqual(number(r, "continuity.5"), 0.99)
        XCTAssertLessThanOrEqual(number(r, "duplicate_ratio"), 0.01)
        XCTAssertLessThanOrEqual(number(r, "control_overhead"), 0.20)
        XCTAssertLessThan(number(r, "delay_ms.p50"), number(try run("donet"), "delay_ms.p50"),
                          "HAVE per chunk beats periodic buffer maps on delay")
    }

    func testZeroUploadNodesSendNoData() throws {
        let r = try run("chainsaw", upload: "[[0.3, 0], [0.7, 400]]")
        XCTAssertEqual(number(r, "zero_capacity_data_bytes"), 0)
        XCTAssertGreaterThanOrEqual(number(r, "continuity.5"), 0.98)
    }

    func testSurvivesChurnAndAMassCrash() throws {
        let r = try run("donet", churn: #"[{"sessions": {"mean_s": 120}}, {"at_s": 15, "crash_fraction": 0.3}]"#)
        XCTAssertGreaterThanOrEqual(number(r, "continuity.5"), 0.95)
        XCTAssertGreaterThan(number(r, "mesh.partners_silent"), 0, "crashed partners were noticed and replaced")
    }
}
