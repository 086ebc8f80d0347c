import XCTest
@testable import CanopyTree
import CanopyCore
import NIOCore

/// How long a child waits on a silent parent before it re-joins elsewhere.
final class ParentSilenceTests: SplitStreamNodeTestCase {
    private var chunkMicros: UInt32 = 20_000

    override var info: StreamInfo {
        StreamInfo(streamID: NodeID(high: 0x5EED, low: 7), publicKey: ByteBuffer(repeating: 1, count: 32), mode: .tree,
                   modeParameter: 2, chunkMicros: chunkMicros, bitrateKbps: 64, preSkip: 0, source: source)
    }

    /// Stripes the node left after a tick `silence` after its last word from the parent.
    private func leftAfter(silence: TimeSpan) -> Int {
        let me = peer(0x1000_0000_0000_0000, 1)
        var app = attached(as: me)
        let effects = upcall(&app, as: me, at: start + silence) { $0.tick(&$1) }
        return treeMessages(effects).filter { if case .leave = $0 { true } else { false } }.count
    }

    func testWithShortChunksASilentParentIsLeftAfterTheParentTimeout() {
        XCTAssertEqual(leftAfter(silence: .seconds(1.0)), 0)
        XCTAssertEqual(leftAfter(silence: TreeConfig().parentTimeout + .seconds(0.1)), 2, "both stripes re-join")
    }

    func testAStripeCarryingAChunkEverySecondsGetsAChunkIntervalMore() {
        chunkMicros = 1_000_000  // two stripes: a chunk every 2 s in each
        let patience = TreeConfig().heartbeatInterval + .seconds(2)
        XCTAssertEqual(leftAfter(silence: TreeConfig().parentTimeout + .seconds(0.1)), 0,
                       "between chunks only heartbeats come, and they wait in the parent's queue")
        XCTAssertEqual(leftAfter(silence: patience + .seconds(0.1)), 2)
    }
}
