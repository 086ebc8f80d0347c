import XCTest
import CanopySim

/// Seeded tree-mode scenarios, a few hundred nodes, on the real simulator and real Pastry.
final class TreeSimTests: XCTestCase {
    /// A well-provisioned audience (uploads about 4x the stream on the wire): what the forest
    /// must do when capacity is not the question. The tight 1.5x scenarios live in scenarios/.
    private func scenario(nodes: Int, seconds: Int, churn: String = "[]", seed: Int = 3, patchChunks: Int = 16,
                          consolidate: Double = 0, promote: Double = 0) -> String {
        """
        {"seed": \(seed), "nodes": \(nodes), "mode": "tree",
         "upload_kbps": [[0.3, 0], [0.35, 400], [0.35, 1000]], "source_upload_kbps": 2000,
         "stream": {"bitrate_kbps": 64, "chunk_ms": 20, "seconds": \(seconds)},
         "join": {"over_s": 5}, "churn": \(churn), "lookups": 20,
         "pastry": {"leaf_probe_s": 20}, "tree": {"stripes": 16, "patch_chunks": \(patchChunks), "consolidate_s": \(consolidate),
                  "promote_s": \(promote)}}
        """
    }

    private func run(_ json: String) throws -> JSONValue {
        try SimRunner.run(try Scenario.parse(json)).report
    }

    private func number(_ report: JSONValue, _ path: String..., file: StaticString = #filePath, line: UInt = #line) -> Double {
        var node: JSONValue? = report
        for key in path { node = node?[key] }
        guard case .number(let n)? = node else {
            XCTFail("no number at \(path.joined(separator: "."))", file: file, line: line)
            return .nan
        }
        return n
    }

    func testForestDeliversWithinDegreeBounds() throws {
        let report = try run(scenario(nodes: 300, seconds: 20))
        XCTAssertEqual(number(report, "tree_detail", "degree_violations"), 0, "no node ever above its own bound")
        XCTAssertLessThanOrEqual(number(report, "tree", "max_degree_over_capacity"), 1)
        // A regression floor (session 3 measured 0.9987 attached, 0.978 delivery), not issue 5's
        // target: the 20 s run is mostly start-up.
        XCTAssertGreaterThanOrEqual(number(report, "tree_detail", "stripes_attached_ratio"), 0.99)
        XCTAssertGreaterThanOrEqual(number(report, "delivery_ratio"), 0.90)
        XCTAssertGreaterThanOrEqual(number(report, "tree_detail", "interior_in_at_most_one_ratio"), 0.85)
        XCTAssertGreaterThan(number(report, "tree", "depth_mean"), 1, "a forest, not a star around the source")
        XCTAssertGreaterThan(number(report, "lookup", "correct_ratio"), 0.7, "lookups run on the same overlay")
    }

    func testTreesReformAfterAMassCrash() throws {
        let report = try run(scenario(nodes: 300, seconds: 25, churn: #"[{"at_s": 15, "crash_fraction": 0.1}]"#))
        guard case .array(let checks)? = report["tree_detail"]?["recovery_checks"], let check = checks.first else {
            return XCTFail("no recovery check in the report")
        }
        XCTAssertGreaterThan(number(check, "survivors"), 250)
        XCTAssertGreaterThan(number(report, "tree_detail", "repairs"), 0)
        XCTAssertGreaterThan(number(report, "tree", "repair_ms_p90"), 0)
        XCTAssertGreaterThanOrEqual(number(report, "tree_detail", "stripes_attached_ratio"), 0.97,
                                    "by the end nearly every survivor has a parent in every stripe (session 2: 0.982)")
        XCTAssertEqual(number(report, "tree_detail", "degree_violations"), 0)
    }

    /// Patches from the parents of other stripes (docs/PROTOCOL.md §6.8) carry the cut-off
    /// stripes while the orphans look for parents: more survivors play every chunk in time.
    func testPatchesKeepSurvivorsPlayingThroughAMassCrash() throws {
        let crash = #"[{"at_s": 15, "crash_fraction": 0.1}]"#
        let patched = try run(scenario(nodes: 300, seconds: 25, churn: crash))
        let unpatched = try run(scenario(nodes: 300, seconds: 25, churn: crash, patchChunks: 0))
        // Measured when written: 1.0 with patches, 0.90 without, at 5 s. Since fills wait for
        // a queue under 300 ms rather than 150 ms, both play without a gap at 5 s here; at 2 s,
        // 0.67 of survivors do with patches and 0.28 without.
        XCTAssertGreaterThanOrEqual(number(patched, "gapless", "5"), 0.99, "issue 5's bar for survivors")
        XCTAssertGreaterThan(number(patched, "gapless", "2"), number(unpatched, "gapless", "2"))
        XCTAssertGreaterThan(number(patched, "delivery_ratio"), number(unpatched, "delivery_ratio"))
    }

    /// Moves (docs/PROTOCOL.md §6.9) take the children of a node's other stripes to nodes
    /// that forward in those stripes already, without breaking anyone's stream.
    func testMovesLeaveFewerNodesForwardingInSeveralStripes() throws {
        let moved = try run(scenario(nodes: 300, seconds: 30, consolidate: 1))
        let unmoved = try run(scenario(nodes: 300, seconds: 30))
        let ratio = { (report: JSONValue) in self.number(report, "tree_detail", "interior_in_at_most_one_ratio") }
        // Measured when written: 1.0 with moves, 0.993 without.
        XCTAssertGreaterThan(ratio(moved), ratio(unmoved))
        XCTAssertGreaterThanOrEqual(ratio(moved), 0.95)
        XCTAssertEqual(number(moved, "tree_detail", "degree_violations"), 0)
        XCTAssertGreaterThanOrEqual(number(moved, "delivery_ratio"), number(unmoved, "delivery_ratio") - 0.001)
    }

    /// Promotions (docs/PROTOCOL.md §6.10) lift forwarders that joined deep, with their
    /// subtrees, into free slots or leaves' places higher up.
    func testPromotionsMakeTheForestShallower() throws {
        let promoted = try run(scenario(nodes: 300, seconds: 30, promote: 5))
        let unpromoted = try run(scenario(nodes: 300, seconds: 30))
        let depth = { (report: JSONValue) in self.number(report, "tree", "depth_mean") }
        // Measured when written: depth mean 2.33 and max 5 without, 2.31 and 3 with.
        XCTAssertLessThan(depth(promoted), depth(unpromoted))
        XCTAssertLessThanOrEqual(number(promoted, "tree", "depth_max"), number(unpromoted, "tree", "depth_max"))
        XCTAssertEqual(number(promoted, "tree_detail", "degree_violations"), 0)
        XCTAssertGreaterThanOrEqual(number(promoted, "delivery_ratio"), number(unpromoted, "delivery_ratio") - 0.001)
    }

    func testSameSeedSameForest() throws {
        let a = try run(scenario(nodes: 120, seconds: 5, seed: 11))
        let b = try run(scenario(nodes: 120, seconds: 5, seed: 11))
        XCTAssertEqual(a["tree"]?.serialized(), b["tree"]?.serialized())
        XCTAssertEqual(a["delay_ms"]?.serialized(), b["delay_ms"]?.serialized())
    }
}
