import XCTest
@testable import CanopyTree
import CanopyCore
import CanopyPastry

final class ScribeTests: XCTestCase {
    /// One stripe, so the stripe id is fixed once the net exists.
    private func makeNet(sourceConfig: TreeConfig = TreeTestNet.structural) -> (TreeTestNet, NodeID) {
        let probe = TreeTestNet(sourceID: NodeID(high: 1, low: 1), stripes: 1)
        let topic = probe.topics.stripes[0]
        let net = TreeTestNet(sourceID: TreeTestNet.id(near: topic, sharing: 0, salt: 99), stripes: 1, config: sourceConfig)
        return (net, topic)
    }

    private func capped(_ n: Int) -> TreeConfig {
        var config = TreeTestNet.structural
        config.maxChildren = n
        return config
    }

    func testJoinBuildsReversePathThroughForwarders() {
        let (net, topic) = makeNet()
        let root = net.add(id: TreeTestNet.id(near: topic, sharing: 6, salt: 1), upload: 1000)
        let middle = net.add(id: TreeTestNet.id(near: topic, sharing: 2, salt: 2), upload: 1000)
        let leaf = net.add(id: TreeTestNet.id(near: topic, sharing: 0, salt: 3), upload: 1000)
        net.startAll()

        XCTAssertEqual(net.parent(of: root, stripe: 0), 0, "the root takes the stripe from the source")
        XCTAssertEqual(net.parent(of: middle, stripe: 0), root)
        XCTAssertEqual(net.parent(of: leaf, stripe: 0), middle, "the first tree node on the route adopts the joiner")
        XCTAssertEqual(net.apps[leaf].trees[0].path, [net.refs[0].id, net.refs[root].id, net.refs[middle].id])
        XCTAssertEqual(net.apps[leaf].trees[0].depth, 3)
    }

    func testSilentParentTriggersRejoinAndRepairIsObserved() {
        let (net, topic) = makeNet()
        let root = net.add(id: TreeTestNet.id(near: topic, sharing: 6, salt: 1), upload: 1000)
        let middle = net.add(id: TreeTestNet.id(near: topic, sharing: 2, salt: 2), upload: 1000)
        let leaf = net.add(id: TreeTestNet.id(near: topic, sharing: 0, salt: 3), upload: 1000)
        net.startAll()
        net.advance(by: .seconds(3))
        XCTAssertEqual(net.parent(of: leaf, stripe: 0), middle, "heartbeats keep an idle tree intact")

        net.crash(middle)
        net.advance(by: .seconds(3))
        XCTAssertEqual(net.parent(of: leaf, stripe: 0), root, "the orphan re-joined past its dead parent")
        XCTAssertTrue(net.observations.contains { $0.node == leaf && $0.observation is TreeRepaired })
        net.advance(by: TreeConfig().childTimeout)
        XCTAssertFalse(net.apps[root].trees[0].hasChild(net.refs[middle].id), "the silent child's slot is freed")
    }

    func testPushDownKeepsPrefixChildrenAndNeverExceedsBound() {
        let (net, topic) = makeNet()
        let root = net.add(id: TreeTestNet.id(near: topic, sharing: 6, salt: 1), upload: 1000, config: capped(2))
        let outsider = net.add(id: TreeTestNet.id(near: topic, sharing: 0, salt: 4), upload: 1000)
        let a = net.add(id: TreeTestNet.id(near: topic, sharing: 1, salt: 5), upload: 1000)
        let b = net.add(id: TreeTestNet.id(near: topic, sharing: 1, salt: 6), upload: 1000)
        net.startAll()

        XCTAssertEqual(net.apps[root].usedSlots, 2)
        XCTAssertLessThanOrEqual(net.apps[root].usedSlots, net.apps[root].bound)
        XCTAssertEqual(Set(net.apps[root].trees[0].children.map(\.ref.id)), [net.refs[a].id, net.refs[b].id],
                       "children sharing the stripe's digit are kept")
        let adopter = net.parent(of: outsider, stripe: 0)
        XCTAssertTrue(adopter == a || adopter == b, "the displaced child was handed to a kept child")
    }

    func testFullParentHandsJoinerToAChild() {
        let (net, topic) = makeNet()
        let root = net.add(id: TreeTestNet.id(near: topic, sharing: 6, salt: 1), upload: 1000, config: capped(2))
        let joiners = (0..<3).map { net.add(id: TreeTestNet.id(near: topic, sharing: 1, salt: 10 + UInt64($0)), upload: 1000) }
        net.startAll()
        XCTAssertEqual(net.apps[root].usedSlots, 2)
        for j in joiners { XCTAssertNotNil(net.parent(of: j, stripe: 0)) }
        let third = joiners.first { net.parent(of: $0, stripe: 0) != root }!
        XCTAssertTrue(joiners.contains(net.parent(of: third, stripe: 0)!))
    }

    /// The root is full and its only child cannot forward, so push-down fails; the orphan, a
    /// leaf still forming its tree (so it does not ask the source), finds the member of the
    /// spare-capacity group that has room (the helper, which itself had to fall back to the
    /// source while nobody had room).
    func testAnycastFindsSpareCapacity() {
        let (net, topic) = makeNet(sourceConfig: capped(2))
        let root = net.add(id: TreeTestNet.id(near: topic, sharing: 6, salt: 1), upload: 1000, config: capped(1))
        let mute = net.add(id: TreeTestNet.id(near: topic, sharing: 1, salt: 2), upload: 0)
        let helper = net.add(id: TreeTestNet.id(near: topic, sharing: 0, salt: 3), upload: 1000)
        let orphan = net.add(id: TreeTestNet.id(near: topic, sharing: 0, salt: 4), upload: 1000)
        net.startAll()
        net.advance(by: .seconds(12))

        XCTAssertEqual(net.parent(of: mute, stripe: 0), root)
        XCTAssertEqual(net.parent(of: helper, stripe: 0), 0, "nobody in the trees had room: the source took it")
        XCTAssertEqual(net.parent(of: orphan, stripe: 0), helper, "anycast found the helper's spare slot")
        let escalations = net.observations.filter { $0.node == orphan }.compactMap { $0.observation as? TreeJoinEscalated }
        XCTAssertTrue(escalations.contains { $0.attempt == 1 }, "the orphan asked the spare-capacity group")
        XCTAssertFalse(escalations.contains { $0.attempt == 2 }, "a leaf that never had a parent does not ask the source")
        for n in net.refs.indices { XCTAssertLessThanOrEqual(net.apps[n].usedSlots, net.apps[n].bound) }
    }

    func testEveryNodeGetsEveryChunkOnceAndZeroUploadNodesStayLeaves() {
        let net = TreeTestNet(sourceID: NodeID(high: 0xFFFF_0000_0000_0000, low: 3), stripes: 4)
        var rng = SeededRNG(seed: 5)
        let uploads: [Double] = [0, 0, 0, 300, 600, 1000]
        for i in 0..<30 { net.add(id: .random(using: &rng), upload: uploads[i % uploads.count]) }
        net.startAll()
        for s in 0..<40 {
            net.publish(sequence: UInt32(s))
            net.advance(by: .milliseconds(Int64(20)))
        }
        for n in 1..<net.refs.count {
            XCTAssertEqual(net.delivered[n], Array(0..<40), "node \(n) got every chunk exactly once")
            XCTAssertLessThanOrEqual(net.apps[n].usedSlots, net.apps[n].bound)
            if net.apps[n].uploadKbps == 0 { XCTAssertEqual(net.apps[n].usedSlots, 0) }
        }
    }
}
