import CanopyCore
import XCTest
@testable import CanopyPastry

/// Seeded multi-node runs on `TestOverlay`: correctness without churn, after mass failure
/// and under steady churn.
final class OverlayScenarioTests: XCTestCase {
    func testEveryLookupReachesTheClosestNodeWithoutChurn() {
        var net = TestOverlay.built(count: 400, seed: 11, app: NoApplication())
        XCTAssertEqual(net.liveIndices.filter { net.nodes[$0].pastry.isJoined }.count, 400)
        XCTAssertEqual(net.leafSetConsistency(), 1.0)
        XCTAssertEqual(net.lookupCorrectRatio(count: 500), 1.0)
        let hops = net.lookups().map(\.hops)
        let meanHops = Double(hops.reduce(0, +)) / Double(hops.count)
        XCTAssertLessThanOrEqual(meanHops, log(400) / log(16) + 0.5, "mean hops \(meanHops)")
    }

    func testLeafSetsRepairAndLookupsRecoverAfterMassFailure() {
        var net = TestOverlay.built(count: 400, seed: 12, app: NoApplication())
        var order = net.liveIndices
        var shuffler = SeededRNG(seed: 99)
        order.shuffle(using: &shuffler)
        for node in order.prefix(100) { net.crash(node) }
        net.run(for: .seconds(60))
        XCTAssertEqual(net.leafSetConsistency(), 1.0)
        XCTAssertEqual(net.lookupCorrectRatio(count: 300), 1.0)
    }

    func testLookupsStayCorrectUnderSteadyChurn() {
        var net = TestOverlay.built(count: 300, seed: 13, app: NoApplication())
        var tags: [UInt64] = []
        // Every second one node crashes and one joins (mean session ≈ 300 s); a lookup every 100 ms.
        for second in 0..<120 {
            net.crash(net.randomLive())
            let joiner = net.add(app: NoApplication())
            net.command(.join(bootstrap: PeerAddress(simulatedNode: net.randomJoined())), node: joiner)
            for i in 0..<10 {
                let tag = UInt64(second * 10 + i)
                tags.append(tag)
                net.command(.lookup(key: net.randomKey(), tag: tag), node: net.randomJoined(),
                            at: net.now + .milliseconds(Int64(i * 100)))
            }
            net.run(for: .seconds(1))
        }
        net.run(for: .seconds(10))
        let ratio = net.correctRatio(of: tags)
        XCTAssertGreaterThanOrEqual(ratio, 0.99, "correct ratio \(ratio)")
    }

    func testGracefulLeaveIsRepairedAtOnce() {
        var net = TestOverlay.built(count: 100, seed: 14, app: NoApplication())
        let leaver = net.randomLive()
        net.command(.leave, node: leaver)
        net.run(for: .milliseconds(Int64(300)))
        net.crash(leaver)
        net.run(for: .seconds(1))
        XCTAssertEqual(net.leafSetConsistency(), 1.0, "leaf sets repaired from the goodbye, before any probe")
    }
}
