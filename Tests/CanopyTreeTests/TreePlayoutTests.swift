import XCTest
@testable import CanopyTree
import CanopyCore

/// Where playout starts: at the first chunk a listener is owed, with the chunks that
/// overtook it waiting for it, for at most `startupHold`.
final class TreePlayoutTests: SplitStreamNodeTestCase {
    private let listener = peer(0x5000_0000_0000_0000, 2)

    private func delivered(_ effects: [Effect]) -> [UInt32] {
        effects.compactMap { if case .deliver(let c) = $0 { c.sequence } else { nil } }
    }

    /// Joined before the stream: chunk 1 (a quicker stripe) waits for chunk 0, then both
    /// play in order; later chunks play at once.
    func testChunksThatOvertakeTheFirstOwedChunkWaitForIt() {
        var app = attached(as: listener)
        let t = start + .milliseconds(500)
        let early = upcall(&app, as: listener, at: t) { $0.receive(chunk(1, at: t), from: source, kbr: &$1) }
        XCTAssertEqual(delivered(early), [], "chunk 0 is owed and not here yet")
        let first = upcall(&app, as: listener, at: t) { $0.receive(chunk(0, at: t), from: source, kbr: &$1) }
        XCTAssertEqual(delivered(first), [0, 1])
        let next = upcall(&app, as: listener, at: t) { $0.receive(chunk(3, at: t), from: source, kbr: &$1) }
        XCTAssertEqual(delivered(next), [3], "once playing, a chunk plays as it comes")
    }

    /// The first owed chunk never comes: what is held plays once the hold has lasted
    /// `startupHold`, not before.
    func testHeldChunksPlayAfterTheHoldEvenWithoutTheFirstOwedChunk() {
        var app = attached(as: listener)
        let t = start + .milliseconds(500)
        upcall(&app, as: listener, at: t) { $0.receive(chunk(3, at: t), from: source, kbr: &$1) }
        upcall(&app, as: listener, at: t) { $0.receive(chunk(2, at: t), from: source, kbr: &$1) }
        let waiting = upcall(&app, as: listener, at: t + app.config.startupHold - .milliseconds(1)) { $0.tick(&$1) }
        XCTAssertEqual(delivered(waiting), [])
        let released = upcall(&app, as: listener, at: t + app.config.startupHold) { $0.tick(&$1) }
        XCTAssertEqual(delivered(released), [2, 3])
    }

    /// A listener that joins mid-stream is owed only what was generated since it asked
    /// (at most that far back): its first chunk, received at once, plays at once.
    func testAListenerThatJoinsMidStreamPlaysItsFirstChunkAtOnce() {
        var app = attached(as: listener)
        let now = upcall(&app, as: listener) { $0.receive(chunk(5_000), from: source, kbr: &$1) }
        XCTAssertEqual(delivered(now), [5_000])
    }
}
