import CanopyCore
import CanopyNet
import XCTest

/// The real-UDP runner behind `canopy bench push-vs-pull --real`.
final class LoopbackBenchTests: XCTestCase {
    /// Direct mode, a source and 4 listeners; listener 2 crashes 0.6 s into a 1.2 s stream.
    func testRunMeasuresDeliveriesTrafficAndACrash() async throws {
        let plan = LoopbackBench.Plan(mode: .direct, scheduler: .donet, uploadKbps: [10_000, 500, 500, 0, 500],
                                      controlFloorKbps: 32, joinSeconds: [0, 0.05, 0.1, 0.15, 0.2], bootstrap: [0, 0, 0, 0, 0],
                                      joinOverSeconds: 0.3, streamSeconds: 1.2, bitrateKbps: 64, chunkMilliseconds: 100,
                                      crashes: [(atSeconds: 0.9, nodes: [2])])
        let record = try await LoopbackBench.run(plan)

        XCTAssertEqual(record.publishedAt.count, 12)
        XCTAssertEqual(record.streamStartMicros, 300_000)
        XCTAssertEqual(record.departedAt[2] / 100_000, 9, "crashed at 0.9 s")
        XCTAssertEqual(record.departedAt.filter { $0 == .max }.count, 4)
        XCTAssertEqual(record.deliveries[0].count, 0, "the source receives no chunks")
        for node in 1...4 {
            let sequences = record.deliveries[node].map(\.sequence)
            XCTAssertEqual(Set(sequences).count, sequences.count, "listener \(node) got a chunk twice")
            XCTAssertTrue(record.deliveries[node].allSatisfy { $0.receivedAt >= $0.generatedAt })
            XCTAssertGreaterThanOrEqual(record.joinedAt[node], Int64(plan.joinSeconds[node] * 1e6))
        }
        // Survivors hear every chunk published well before the end; the crashed one hears
        // nothing after its crash.
        for node in [1, 3, 4] {
            XCTAssertTrue(Set(record.deliveries[node].map(\.sequence)).isSuperset(of: 0..<10), "listener \(node)")
        }
        XCTAssertTrue(record.deliveries[2].allSatisfy { $0.receivedAt < record.departedAt[2] })
        XCTAssertLessThan(record.deliveries[2].count, 12)

        // The source sent one data message per chunk and live listener, each costed on the wire.
        let dataMessages = record.deliveries.reduce(0) { $0 + $1.count }
        XCTAssertGreaterThanOrEqual(record.traffic.payloadBytes, Int64(dataMessages * 800))
        XCTAssertGreaterThan(record.traffic.dataBytes, record.traffic.payloadBytes)
        XCTAssertGreaterThan(record.traffic.controlBytes, 0, "joins are control traffic")
        XCTAssertEqual(record.traffic.duplicates, 0)
        XCTAssertGreaterThanOrEqual(record.uploadedBytes[0], record.traffic.dataBytes)
        XCTAssertEqual(record.traffic.pacerDropped, 0)
    }
}
