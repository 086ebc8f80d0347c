import XCTest
import CanopyCore
@testable import CanopyMesh

/// The two schedulers on hand-made states.
final class SchedulingTests: XCTestCase {
    private let now = Instant(micros: 10_000_000)
    private let chunkBits = 14_000.0

    private func supplier(_ index: Int, rate: Double, holds: [UInt32], outstanding: Int = 0, cap: Int = 64) -> Supplier {
        Supplier(address: PeerAddress(simulatedNode: index), holdings: MeshFixtures.map(start: 0, count: 64, held: holds),
                 rateBps: rate, outstanding: outstanding, cap: cap)
    }

    private func need(_ sequence: UInt32, inSeconds: Double = 3, avoid: Int? = nil) -> ChunkNeed {
        ChunkNeed(sequence: sequence, deadline: now + .seconds(inSeconds), avoid: avoid.map { PeerAddress(simulatedNode: $0) })
    }

    func testDonetTakesTheRarestChunkFirstFromTheFastestSupplier() {
        var suppliers = [
            supplier(1, rate: 100_000, holds: [1, 2, 3]),
            supplier(2, rate: 400_000, holds: [1, 2]),
            supplier(3, rate: 50_000, holds: [1]),
        ]
        let result = Scheduling.donet(needs: [need(1), need(2), need(3)], suppliers: &suppliers,
                                      chunkBits: chunkBits, now: now)
        // Chunk 3 has one supplier, chunk 2 two, chunk 1 three: rarest first.
        XCTAssertEqual(result.map(\.sequence), [3, 2, 1])
        XCTAssertEqual(result[0].supplier, 0, "only supplier 1 has chunk 3")
        XCTAssertEqual(result[1].supplier, 1, "the fastest holder of chunk 2")
        XCTAssertEqual(result[2].supplier, 1, "still fastest with one chunk queued")
        XCTAssertEqual(suppliers.map(\.outstanding), [1, 2, 0])
    }

    func testDonetSkipsASupplierThatWouldMissTheDeadline() {
        // The fast supplier has a long queue: 20 chunks × 14 kbit at 400 kbit/s = 0.7 s > 0.5 s.
        var suppliers = [supplier(1, rate: 400_000, holds: [5], outstanding: 19), supplier(2, rate: 100_000, holds: [5])]
        let result = Scheduling.donet(needs: [need(5, inSeconds: 0.5)], suppliers: &suppliers,
                                      chunkBits: chunkBits, now: now)
        XCTAssertEqual(result, [Assignment(sequence: 5, supplier: 1)])
    }

    func testDonetFallsBackToTheSoonestWhenNoneCanMakeIt() {
        var suppliers = [supplier(1, rate: 20_000, holds: [5]), supplier(2, rate: 30_000, holds: [5], outstanding: 3)]
        let result = Scheduling.donet(needs: [need(5, inSeconds: 0.1)], suppliers: &suppliers,
                                      chunkBits: chunkBits, now: now)
        XCTAssertEqual(result, [Assignment(sequence: 5, supplier: 0)], "0.7 s beats 1.87 s")
    }

    func testAvoidedSupplierIsUsedOnlyWhenAlone() {
        var both = [supplier(1, rate: 900_000, holds: [5]), supplier(2, rate: 10_000, holds: [5])]
        XCTAssertEqual(Scheduling.donet(needs: [need(5, avoid: 1)], suppliers: &both, chunkBits: chunkBits,
                                        now: now).map(\.supplier), [1])
        var alone = [supplier(1, rate: 900_000, holds: [5])]
        XCTAssertEqual(Scheduling.donet(needs: [need(5, avoid: 1)], suppliers: &alone, chunkBits: chunkBits,
                                        now: now).map(\.supplier), [0])
    }

    func testChunksNobodyHoldsAreLeftForLater() {
        var suppliers = [supplier(1, rate: 100_000, holds: [1])]
        XCTAssertEqual(Scheduling.donet(needs: [need(2)], suppliers: &suppliers, chunkBits: chunkBits,
                                        now: now), [])
        var rng = SeededRNG(seed: 1)
        XCTAssertEqual(Scheduling.chainsaw(needs: [need(2)], suppliers: &suppliers, rng: &rng), [])
    }

    func testDonetStopsAtEachSuppliersCap() {
        // The fast supplier would make every deadline, but it takes only 2 more from us.
        var suppliers = [supplier(1, rate: 400_000, holds: Array(0..<6), outstanding: 1, cap: 3),
                         supplier(2, rate: 100_000, holds: Array(0..<6), cap: 2)]
        let result = Scheduling.donet(needs: (0..<6).map { need($0) }, suppliers: &suppliers, chunkBits: chunkBits, now: now)
        XCTAssertEqual(result.map(\.supplier), [0, 0, 1, 1], "2 to the fast one, 2 to the slow one, 2 left for later")
        XCTAssertEqual(suppliers.map(\.outstanding), [3, 2])
    }

    func testChainsawRespectsThePerPartnerCapAndSpreadsRandomly() {
        let needs = (0..<20).map { need(UInt32($0)) }
        let make = { [self] in
            [supplier(1, rate: 1, holds: Array(0..<20), cap: 4), supplier(2, rate: 1, holds: Array(0..<20), outstanding: 2, cap: 4)]
        }
        var suppliers = make()
        var rng = SeededRNG(seed: 9)
        let result = Scheduling.chainsaw(needs: needs, suppliers: &suppliers, rng: &rng)
        XCTAssertEqual(result.count, 6, "4 from the idle partner, 2 more from the busy one")
        XCTAssertEqual(suppliers.map(\.outstanding), [4, 4])
        XCTAssertNotEqual(result.map(\.sequence), Array(0..<6), "random order, not oldest first")
        var again = make()
        var same = SeededRNG(seed: 9)
        XCTAssertEqual(Scheduling.chainsaw(needs: needs, suppliers: &again, rng: &same), result, "same seed, same choices")
    }

    func testChainsawAsksSuppliersInProportionToTheirSpareUpload() {
        var picks = [0, 0]
        var rng = SeededRNG(seed: 3)
        for _ in 0..<200 {
            var suppliers = [supplier(1, rate: 180_000, holds: [5]), supplier(2, rate: 20_000, holds: [5])]
            for a in Scheduling.chainsaw(needs: [need(5)], suppliers: &suppliers, rng: &rng) { picks[a.supplier] += 1 }
        }
        XCTAssertEqual(picks[0] + picks[1], 200)
        XCTAssertGreaterThan(picks[0], 150, "about 9 in 10 go to the supplier with 9× the spare upload")
        XCTAssertGreaterThan(picks[1], 5, "the slow one still gets some")
    }
}
