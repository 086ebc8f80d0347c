import CanopyCore
import XCTest
@testable import CanopyPastry

final class DebugTmp: XCTestCase {
    func testDebugMass() {
        var net = TestOverlay.built(count: 400, seed: 12, app: NoApplication())
        var order = net.liveIndices
        var shuffler = SeededRNG(seed: 99)
        order.shuffle(using: &shuffler)
        for node in order.prefix(100) { net.crash(node) }
        for step in 0..<8 {
            net.run(for: .seconds(10))
            print("t+\((step + 1) * 10)s consistency", net.leafSetConsistency())
        }
        let ring = net.liveIndices.sorted { net.nodes[$0].identity.id < net.nodes[$1].identity.id }
        let n = ring.count
        var shown = 0
        for (i, index) in ring.enumerated() {
            let leaves = net.nodes[index].pastry.leafSet
            let right = (0..<8).map { net.nodes[ring[(i + 1 + $0) % n]].identity.id.short(4) }
            let left = (0..<8).map { net.nodes[ring[(i - 1 - $0 + 2 * n) % n]].identity.id.short(4) }
            let r = leaves.right.map { $0.id.short(4) }, l = leaves.left.map { $0.id.short(4) }
            if (r != right || l != left) && shown < 6 {
                shown += 1
                print("node", net.nodes[index].identity.id.short(4), "R", r, "want", right, "L", l, "want", left,
                      "deadmem", net.nodes[index].pastry.dead.count, "probes", net.nodes[index].pastry.probes.count)
            }
        }
    }
}
