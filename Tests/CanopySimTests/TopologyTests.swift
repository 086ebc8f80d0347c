import CanopyCore
import CanopySim
import Foundation
import XCTest

final class TopologyTests: XCTestCase {
    /// Delays are exactly what the matrix says, one-way and per direction (row = sender).
    func testMatrixDelaysAreExact() throws {
        let folder = try temporaryFolder()
        try """
        0 30 70
        12 0 4
        9 8 0
        """.write(toFile: folder + "/m.txt", atomically: true, encoding: .utf8)
        let json = """
            {"nodes": 3, "mode": "direct", "source_upload_kbps": 1000000000,
             "topology": {"kind": "matrix", "file": "m.txt"},
             "stream": {"bitrate_kbps": 64, "chunk_ms": 20, "seconds": 2}, "join": {"over_s": 1}}
            """
        let simulation = try Simulation(scenario: Scenario.parse(json, baseDirectory: folder))
        XCTAssertEqual(simulation.latency(from: 0, to: 1), .milliseconds(Int64(30)))
        XCTAssertEqual(simulation.latency(from: 0, to: 2), .milliseconds(Int64(70)))
        XCTAssertEqual(simulation.latency(from: 1, to: 0), .milliseconds(Int64(12)))
        XCTAssertEqual(simulation.latency(from: 2, to: 1), .milliseconds(Int64(8)))
        simulation.run()
        let report = simulation.report(wallSeconds: 0, peakRSSMegabytes: nil)
        // Listener 1 hears every chunk 30 ms after it is generated, listener 2 after 70 ms
        // (the 1-µs serialisation at a terabit is rounded into the first millisecond).
        XCTAssertEqual(number(report, "delay_ms", "p50"), 30)
        XCTAssertEqual(number(report, "delay_ms", "max"), 70, accuracy: 0.01)
        XCTAssertEqual(number(report, "rdp_mean"), 1, accuracy: 0.001)
    }

    /// The cluster model's delay is symmetric, zero to self, and at least the access delays.
    func testClusterDelays() throws {
        let simulation = try Simulation(scenario: Scenario.parse("""
            {"nodes": 50, "mode": "direct", "topology": {"kind": "clusters", "clusters": 3, "plane_ms": 100, "spread_ms": 10, "access_ms": [2, 5]}}
            """))
        for a in 0..<50 {
            XCTAssertEqual(simulation.latency(from: a, to: a), .zero)
            for b in 0..<50 where b != a {
                XCTAssertEqual(simulation.latency(from: a, to: b), simulation.latency(from: b, to: a))
                XCTAssertGreaterThanOrEqual(simulation.latency(from: a, to: b), .milliseconds(Int64(4)))
            }
        }
    }
}
