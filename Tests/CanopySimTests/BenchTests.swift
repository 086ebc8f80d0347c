import CanopyCore
@testable import CanopySim
import XCTest

/// `canopy bench push-vs-pull`: its table must be `canopy sim`'s numbers, and the metrics
/// it computes for runs on real sockets must mean what the simulator's mean.
final class BenchTests: XCTestCase {
    private static let nodes = 200
    private static let seconds = 24.0

    /// A user's scenario file for one mode, written by hand as for `canopy sim`.
    private func scenarioText(mode: String, blocks: String, crashAt: Double) -> String {
        BenchScenario.defaultText(nodes: Self.nodes, seed: 11, chunkMs: 200, seconds: Self.seconds)
            .replacingOccurrences(of: "\"mode\": \"direct\",", with: "\"mode\": \"\(mode)\", \(blocks)"
                + " \"churn\": [{\"at_s\": \(crashAt), \"crash_fraction\": 0.25}],")
    }

    func testTableEqualsCanopySimReportsForTheSameScenarioAndSeed() throws {
        var base = try Scenario.parse(BenchScenario.defaultText(nodes: Self.nodes, seed: 11, chunkMs: 200, seconds: Self.seconds))
        base.lookups = 0
        let result = try PushVsPull(base: base, churn: .mass).run()
        XCTAssertEqual(result.runs.map(\.name), ["direct", "tree", "mesh-donet", "mesh-chainsaw"])
        let crashAt = try XCTUnwrap(result.failureTimes.first)
        XCTAssertEqual(crashAt, 18)   // 10 s of joins, then a third of the 24 s stream

        let files = [
            ("direct", scenarioText(mode: "direct", blocks: "", crashAt: crashAt)),
            ("tree", scenarioText(mode: "tree", blocks: "\"tree\": {}, \"pastry\": {},", crashAt: crashAt)),
            ("mesh-donet", scenarioText(mode: "mesh", blocks: "\"mesh\": {\"scheduler\": \"donet\"},", crashAt: crashAt)),
            ("mesh-chainsaw", scenarioText(mode: "mesh", blocks: "\"mesh\": {\"scheduler\": \"chainsaw\"},", crashAt: crashAt)),
        ]
        let table = result.table
        for ((name, text), run) in zip(files, result.runs) {
            XCTAssertEqual(run.name, name)
            let sim = try runScenario(text)
            XCTAssertEqual(withoutSimBlock(run.report), withoutSimBlock(sim), "\(name): bench report differs from canopy sim's")
            // And the table shows those numbers, in this mode's column.
            let column = try XCTUnwrap(result.runs.firstIndex { $0.name == name }) + 1
            for (label, value) in [("delay p90", number(sim, "delay_ms", "p90")), ("control overhead", number(sim, "control_overhead")),
                                   ("continuity @ 1 s", number(sim, "continuity", "1"))] {
                let row = try XCTUnwrap(table.split(separator: "\n").first { $0.hasPrefix("| \(label) |") })
                let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                XCTAssertEqual(cells[column].split(separator: " ").first.map(String.init), JSONValue.format(value), "\(name) \(label)")
            }
        }
        XCTAssertNotNil(result.json["continuity_per_second"]?["tree"]?["1"])
    }

    /// The report publishes the one ledger analysis (which real-UDP runs share) under the
    /// public keys, index for index, on a run with churn so departures and late starters count.
    func testReportPublishesTheLedgerAnalysisUnderItsKeys() throws {
        var scenario = try Scenario.parse(scenarioText(mode: "mesh", blocks: "\"mesh\": {\"scheduler\": \"chainsaw\"},", crashAt: 18))
        scenario.churn.append(.sessions(meanSeconds: 60, graceful: false))
        let (simulation, report) = try SimRunner.run(scenario)
        let analysis = simulation.analyse(playoutDelaysSeconds: scenario.playoutDelaysSeconds)
        for (index, key) in ["0.25", "0.5", "1", "2", "5"].enumerated() {
            XCTAssertEqual(JSONValue.number(analysis.continuity[index]), report["continuity"]?[key], "continuity \(key)")
            XCTAssertEqual(JSONValue.number(analysis.gapless[index]), report["gapless"]?[key], "gapless \(key)")
        }
        XCTAssertEqual(JSONValue.number(analysis.d99p50), report["d99_ms"]?["p50"])
        XCTAssertEqual(JSONValue.number(analysis.d99p90), report["d99_ms"]?["p90"])
        XCTAssertEqual(JSONValue.number(analysis.startupP50), report["startup_delay_ms"]?["p50"])
        XCTAssertEqual(JSONValue.number(analysis.startupP90), report["startup_delay_ms"]?["p90"])
        XCTAssertEqual(JSONValue.number(analysis.deliveryRatio), report["delivery_ratio"])
        guard case .array(let timeline)? = report["timeline"] else { return XCTFail("no timeline") }
        XCTAssertEqual(analysis.bucketContinuity.map { JSONValue.number($0) }, timeline.map { $0["continuity"] ?? .null })
        for (b, bucket) in timeline.enumerated() {
            for (index, key) in ["0.25", "0.5", "1", "2", "5"].enumerated() {
                XCTAssertEqual(JSONValue.number(analysis.bucketContinuityByDelay[b][index]), bucket["continuity_by_delay"]?[key])
            }
            XCTAssertEqual(bucket["continuity_by_delay"]?["5"], bucket["continuity"], "the timeline's continuity is at the largest delay")
        }
    }

    /// Per bucket as over the whole run, a longer playout delay never plays fewer chunks on
    /// time, and in a run where chunks take a few hundred milliseconds some bucket shows it.
    func testTimelineContinuityGrowsWithThePlayoutDelay() throws {
        let scenario = try Scenario.parse(scenarioText(mode: "mesh", blocks: "\"mesh\": {\"scheduler\": \"donet\"},", crashAt: 18))
        let (simulation, _) = try SimRunner.run(scenario)
        let buckets = simulation.analyse(playoutDelaysSeconds: scenario.playoutDelaysSeconds).bucketContinuityByDelay
        var spread = false
        for row in buckets {
            let values = row.compactMap { $0 }
            guard values.count == row.count else { continue }
            XCTAssertEqual(values, values.sorted(), "\(row)")
            if values.first! < values.last! { spread = true }
        }
        XCTAssertTrue(spread, "a pull mesh plays fewer chunks at 0.25 s than at 5 s")
    }

    /// Direct delivery does not depend on peers: the survivors of a mass crash hear every
    /// chunk on time, every second, before and after it. Seconds before the stream have nothing due.
    func testPerSecondContinuityOfSurvivorsIsUnbrokenInDirectMode() throws {
        let scenario = try Scenario.parse(scenarioText(mode: "direct", blocks: "", crashAt: 18))
        let (simulation, _) = try SimRunner.run(scenario)
        let perSecond = simulation.continuityPerSecond(delayMs: 1000)
        XCTAssertEqual(perSecond.count, 34)
        XCTAssertTrue(perSecond[..<10].allSatisfy { $0 == nil })
        XCTAssertEqual(perSecond[10...].compactMap { $0 }, Array(repeating: 1.0, count: 24))
    }

    /// A hand-made measured run: 1 source, 2 listeners; one hears everything within 5 ms,
    /// the other misses one chunk and hears one 700 ms late.
    func testMeasuredStreamReportsTheSimulatorsKeysAndMeanings() throws {
        var scenario = try Scenario.parse(BenchScenario.defaultText(nodes: 3, seed: 1, chunkMs: 200, seconds: 2, joinOverSeconds: 1))
        scenario.mode = "mesh"
        let start: Int64 = 1_000_000, chunk: Int64 = 200_000
        func delivery(_ sequence: UInt32, after delay: Int64) -> ChunkReception {
            .init(sequence: sequence, generatedAt: start + Int64(sequence) * chunk, receivedAt: start + Int64(sequence) * chunk + delay)
        }
        let first = (0..<10).map { delivery($0, after: 5_000) }
        let second = (0..<10).filter { $0 != 4 }.map { delivery($0, after: $0 == 6 ? 700_000 : 2_000) }
        var counters = TrafficCounters()
        counters.dataBytes = 2_000
        counters.payloadBytes = 1_600
        counters.controlBytes = 500
        let measured = MeasuredStream(scenario: scenario, capacityKbps: [1000, 100, 0], joinedAt: [0, 100_000, 200_000],
                                      departedAt: [.max, .max, .max], uploadedBytes: [0, 12_500, 0],
                                      deliveries: [[], first, second], publishedAt: (0..<10).map { start + $0 * chunk },
                                      counters: counters, runMicros: 4_000_000, wallSeconds: 3)
        let report = measured.report
        XCTAssertEqual(report["rdp_mean"], .null)
        XCTAssertEqual(number(report, "control_overhead"), 0.25)
        XCTAssertEqual(number(report, "header_overhead"), 0.25)
        XCTAssertEqual(number(report, "delay_ms", "max"), 700)
        // All 10 chunks are due at both listeners by the end: at 0.5 s one is missing and
        // one late, at 1 s only the missing one fails.
        XCTAssertEqual(number(report, "continuity", "0.5"), 18.0 / 20)
        XCTAssertEqual(number(report, "continuity", "1"), 19.0 / 20)
        XCTAssertEqual(number(report, "gapless", "1"), 0.5)
        // Listener 1 uploaded 12,500 B in its 3.9 s on a 100 kbit/s link; listener 2 has no capacity.
        XCTAssertEqual(number(report, "upload_utilisation", "mean"), 100_000 / (100_000 * 3.9), accuracy: 1e-9)
        XCTAssertEqual(number(report, "real", "wall_s"), 3)
        let table = ComparisonTable.markdown([("mesh", report)], playoutDelays: ["1"])
        XCTAssertTrue(table.contains("| RDP (mean) | — |"), table)
        XCTAssertTrue(table.contains("| wall time | 3 s |"), table)
    }

    /// Every mode of a real run gets the same draw, and a mass crash takes its share of the peers.
    func testLoopbackDrawFollowsTheScenario() throws {
        var scenario = try Scenario.parse(BenchScenario.defaultText(nodes: 41, seed: 3, chunkMs: 200, seconds: 20, joinOverSeconds: 5))
        _ = BenchScenario.apply(.mass, to: &scenario)
        let draw = try LoopbackDraw(scenario: scenario)
        XCTAssertEqual(draw.uploadKbps.count, 41)
        XCTAssertEqual(draw.uploadKbps[0], scenario.sourceUploadKbps)
        XCTAssertTrue(draw.uploadKbps.dropFirst().allSatisfy { [0, 118, 352].contains($0) })
        XCTAssertTrue(draw.joinSeconds.allSatisfy { $0 >= 0 && $0 < 5 })
        XCTAssertEqual(draw.crashes.count, 1)
        XCTAssertEqual(draw.crashes[0].nodes.count, 10)
        XCTAssertFalse(draw.crashes[0].nodes.contains(0))
        XCTAssertEqual(try LoopbackDraw(scenario: scenario).uploadKbps, draw.uploadKbps)
        scenario.churn = [.sessions(meanSeconds: 60, graceful: false)]
        XCTAssertThrowsError(try LoopbackDraw(scenario: scenario))
    }
}
