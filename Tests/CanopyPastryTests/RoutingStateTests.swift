import CanopyCore
import XCTest
@testable import CanopyPastry

private func ref(_ high: UInt64, _ index: Int = 0) -> NodeRef {
    NodeRef(id: NodeID(high: high, low: 0), address: PeerAddress(simulatedNode: index))
}

final class LeafSetTests: XCTestCase {
    func testKeepsTheNearestOnEachSideInRingOrder() {
        var leaves = LeafSet(owner: NodeID(high: 1000, low: 0), size: 4)
        var evicted: [NodeRef] = []
        for h: UInt64 in [1010, 990, 1001, 980, 1020, 999, 1500] { leaves.insert(ref(h), evicted: &evicted) }
        XCTAssertEqual(leaves.right.map(\.id.high), [1001, 1010])
        XCTAssertEqual(leaves.left.map(\.id.high), [999, 990])
        XCTAssertEqual(evicted.map(\.id.high), [980], "pushed past L/2; 1020 and 1500 never entered")
    }

    func testSmallRingPutsTheSameNodeOnBothSides() {
        var leaves = LeafSet(owner: NodeID(high: 1000, low: 0), size: 8)
        var evicted: [NodeRef] = []
        leaves.insert(ref(2000), evicted: &evicted)
        XCTAssertEqual(leaves.left.map(\.id.high), [2000], "wrapping counter-clockwise reaches it too")
        XCTAssertEqual(leaves.right.map(\.id.high), [2000])
        XCTAssertEqual(leaves.members.count, 1)
        XCTAssertTrue(leaves.knowsWholeRing)
        XCTAssertTrue(leaves.covers(NodeID(high: .max, low: 0)))
    }

    func testClosestAndCoverage() {
        var leaves = LeafSet(owner: NodeID(high: 1000, low: 0), size: 2)
        var evicted: [NodeRef] = []
        for h: UInt64 in [900, 1100, 950, 1050] { leaves.insert(ref(h), evicted: &evicted) }
        XCTAssertEqual(leaves.right.map(\.id.high), [1050])
        XCTAssertEqual(leaves.left.map(\.id.high), [950])
        XCTAssertTrue(leaves.covers(NodeID(high: 1040, low: 0)))
        XCTAssertFalse(leaves.covers(NodeID(high: 1060, low: 0)))
        XCTAssertNil(leaves.closest(to: NodeID(high: 1010, low: 0)), "the owner is closest")
        XCTAssertEqual(leaves.closest(to: NodeID(high: 1040, low: 0))?.id.high, 1050)
        XCTAssertTrue(leaves.remove(NodeID(high: 1050, low: 0)))
        XCTAssertFalse(leaves.remove(NodeID(high: 1050, low: 0)))
    }
}

final class RoutingTableTests: XCTestCase {
    private let owner = NodeID(high: 0x1234_0000_0000_0000, low: 0)

    func testPlacesNodesByPrefixAndGrowsRowsOnDemand() {
        var table = RoutingTable(owner: owner, base: .hex)
        XCTAssertEqual(table.rowCount, 0)
        let far = NodeRef(id: NodeID(high: 0x9000_0000_0000_0000, low: 0), address: PeerAddress(simulatedNode: 1))
        let near = NodeRef(id: NodeID(high: 0x1239_0000_0000_0000, low: 0), address: PeerAddress(simulatedNode: 2))
        XCTAssertEqual(table.offer(Neighbour(ref: far, rtt: nil)), .inserted(replaced: nil))
        XCTAssertEqual(table.offer(Neighbour(ref: near, rtt: nil)), .inserted(replaced: nil))
        XCTAssertEqual(table.rowCount, 4)
        XCTAssertEqual(table.entry(row: 0, column: 9)?.ref, far)
        XCTAssertEqual(table.entry(row: 3, column: 9)?.ref, near)
        XCTAssertEqual(table.remove(near.id)?.row, 3)
        XCTAssertEqual(table.rowCount, 1, "empty trailing rows are dropped")
    }

    func testProximitySelectionKeepsTheNearerMeasuredNode() {
        var table = RoutingTable(owner: owner, base: .hex)
        let a = NodeRef(id: NodeID(high: 0x9000_0000_0000_0000, low: 1), address: PeerAddress(simulatedNode: 1))
        let b = NodeRef(id: NodeID(high: 0x9100_0000_0000_0000, low: 2), address: PeerAddress(simulatedNode: 2))
        _ = table.offer(Neighbour(ref: a, rtt: .milliseconds(Int64(80))))
        XCTAssertEqual(table.offer(Neighbour(ref: b, rtt: nil)), .rejected(needsMeasurement: true))
        XCTAssertEqual(table.offer(Neighbour(ref: b, rtt: .milliseconds(Int64(90)))), .rejected(needsMeasurement: false))
        XCTAssertEqual(table.offer(Neighbour(ref: b, rtt: .milliseconds(Int64(20)))), .inserted(replaced: a))
        XCTAssertEqual(table.entry(row: 0, column: 9)?.ref, b)
    }

    func testAnEntryKeepsItsSmallestRTTSample() {
        var table = RoutingTable(owner: owner, base: .hex)
        let a = NodeRef(id: NodeID(high: 0x9000_0000_0000_0000, low: 1), address: PeerAddress(simulatedNode: 1))
        _ = table.offer(Neighbour(ref: a, rtt: .milliseconds(Int64(30))))
        XCTAssertEqual(table.offer(Neighbour(ref: a, rtt: .milliseconds(Int64(55)))), .updated)
        XCTAssertEqual(table.neighbour(a.id)?.rtt, .milliseconds(Int64(30)), "a queued sample does not make it look farther")
        _ = table.offer(Neighbour(ref: a, rtt: .milliseconds(Int64(20))))
        XCTAssertEqual(table.neighbour(a.id)?.rtt, .milliseconds(Int64(20)))
    }

    func testMeasuredCandidateReplacesUnmeasuredOccupant() {
        var table = RoutingTable(owner: owner, base: .hex)
        let a = NodeRef(id: NodeID(high: 0x9000_0000_0000_0000, low: 1), address: PeerAddress(simulatedNode: 1))
        let b = NodeRef(id: NodeID(high: 0x9100_0000_0000_0000, low: 2), address: PeerAddress(simulatedNode: 2))
        _ = table.offer(Neighbour(ref: a, rtt: nil))
        XCTAssertEqual(table.offer(Neighbour(ref: b, rtt: .milliseconds(Int64(200)))), .inserted(replaced: a))
    }
}
