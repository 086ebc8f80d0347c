import CanopyCore
import CanopyMesh
import CanopyNet
import Foundation
import XCTest

/// Issues 5 and 6 on real UDP: with a source and listeners in separate processes on
/// loopback, `kill -9` of a listener that forwards the stream (tree parent, mesh supplier)
/// mid-stream leaves every other listener playing, with no gap as long as its playout
/// delay. Each listener's own `--report` is the evidence.
final class InteriorCrashTests: XCTestCase {
    private static let listeners = 6
    private static let streamSeconds = 16.0
    /// Playing settles (trees built, mesh partners found) before anyone is judged interior.
    private static let settleSeconds = 3.0
    /// Who forwarded chunks in this window right before the kill is interior.
    private static let forwardingWindow = 2.0
    /// Long enough after the kill for its children to notice and repair, well before the
    /// stream ends (when every stripe falls silent and is "lost" anyway).
    private static let repairSeconds = 5.0
    /// How far short of the source's last chunk a survivor may stop (the stream's tail).
    private static let tailFrames = 50

    func testTreeListenersKeepPlayingWhenAnInteriorListenerIsKilled() async throws {
        try await checkSurvivorsKeepPlaying(.tree, childObserves: "TreeParentLost")
    }

    func testDONetMeshListenersKeepPlayingWhenASupplierIsKilled() async throws {
        try await checkSurvivorsKeepPlaying(.mesh, scheduler: .donet)
    }

    func testChainsawMeshListenersKeepPlayingWhenASupplierIsKilled() async throws {
        try await checkSurvivorsKeepPlaying(.mesh, scheduler: .chainsaw)
    }

    /// - Parameter childObserves: an observation the victim's children count when it dies,
    ///   when the mode has one: proof that the listener killed was really someone's parent.
    private func checkSurvivorsKeepPlaying(_ mode: StreamMode, scheduler: MeshScheduler = .donet,
                                           childObserves: String? = nil) async throws {
        let label = mode == .mesh ? "\(mode)/\(scheduler)" : "\(mode)"
        // The listeners are given no --playout-delay: each must pick its stream's default.
        let playoutDelay = StreamModes.defaultPlayoutDelay(mode: mode, scheduler: scheduler).milliseconds
        let binary = try canopyBinary()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let started = Date()
        let run = try await StreamProcesses.launch(binary, in: directory,
                                                   source: ["--mode", "\(mode)", "--scheduler", "\(scheduler)",
                                                            "--tone", "440", "--seconds", String(Self.streamSeconds)] + sourceUpload(mode),
                                                   listeners: Self.listeners, listenerSeconds: Self.streamSeconds + 20)
        addTeardownBlock { run.killAll() }
        let everyone = Array(0..<Self.listeners)

        try await waitUntil(seconds: 15) { everyone.allSatisfy { (run.status($0)?.framesDue ?? 0) > 0 } }
        let playing = everyone.filter { (run.status($0)?.framesDue ?? 0) > 0 }
        XCTAssertEqual(playing, everyone, "listeners playing before the kill; logs: \(everyone.map { run.log("listener\($0)") })")
        guard playing == everyone else { return }
        try await Task.sleep(nanoseconds: UInt64(Self.settleSeconds * 1e9))

        // The victim: whoever passed on the most chunks just now.
        let before = everyone.map { run.status($0)?.chunksSent ?? 0 }
        try await Task.sleep(nanoseconds: UInt64(Self.forwardingWindow * 1e9))
        let forwarded = everyone.map { (run.status($0)?.chunksSent ?? 0) - before[$0] }
        let victim = everyone.max { forwarded[$0] < forwarded[$1] }!
        XCTAssertGreaterThan(forwarded[victim], 0, "no listener forwarded chunks, so none is interior: \(forwarded)")
        let survivors = everyone.filter { $0 != victim }
        let atKill = survivors.map { run.status($0) }
        run.crash(victim)
        let killedAt = Date()
        try await Task.sleep(nanoseconds: UInt64(Self.repairSeconds * 1e9))
        let afterRepair = survivors.map { run.status($0) }

        let sourceEnded = try await run.waitForExit(run.source, seconds: Self.streamSeconds + 10)
        XCTAssertTrue(sourceEnded, "the source outlived its --seconds")
        let published = try XCTUnwrap(run.published, "source log: \(run.log("source"))")
        // The last chunks are still in the buffers: let them play out before stopping.
        try await Task.sleep(nanoseconds: UInt64((playoutDelay + 1_000) * 1e6))
        for survivor in survivors { run.stop(survivor) }
        for survivor in survivors {
            let exited = try await run.waitForExit(run.listeners[survivor], seconds: 10)
            XCTAssertTrue(exited, "listener \(survivor) ignored SIGTERM")
        }

        print("\(label): killed listener \(victim) (\(forwarded[victim]) chunks forwarded in the \(Self.forwardingWindow) s before; "
              + "all: \(forwarded)) \(String(format: "%.1f", killedAt.timeIntervalSince(started))) s into the run; "
              + "source published \(published) chunks")
        var newObservations = 0
        for (survivor, (snapshot, repaired)) in zip(survivors, zip(atKill, afterRepair)) {
            let log = run.log("listener\(survivor)")
            XCTAssertEqual(run.listeners[survivor].terminationStatus, 0, log)
            guard let closing = run.status(survivor), closing.complete, let snapshot else {
                XCTFail("listener \(survivor) left no closing report: \(log)")
                continue
            }
            let dueAfter = closing.framesDue - snapshot.framesDue
            let continuityAfter = Double(closing.framesOnTime - snapshot.framesOnTime) / Double(max(1, dueAfter))
            let observed = childObserves.map { (before: snapshot.observations[$0, default: 0], after: repaired?.observations[$0, default: 0] ?? 0) }
            print(String(format: "%@ survivor %d: continuity after the kill %.4f (%d frames due), overall %.4f; longest gap %.0f ms from frame %@ vs playout delay %.0f ms; played frames %@–%@ of 0–%d%@",
                         label, survivor, continuityAfter, dueAfter, closing.continuity, closing.longestGapMs,
                         closing.longestGapStartFrame.map(String.init) ?? "–", closing.playoutDelayMs,
                         closing.firstFrame.map(String.init) ?? "–", closing.lastFrame.map(String.init) ?? "–", published - 1,
                         observed.map { "; \(childObserves!) before the kill \($0.before), in the \(Self.repairSeconds) s after \($0.after - $0.before)" } ?? ""))
            newObservations += observed.map { $0.after - $0.before } ?? 0
            XCTAssertEqual(closing.playoutDelayMs, playoutDelay, "listener \(survivor) did not take its stream's default delay")
            // Still playing at the end, not stalled since the kill (a stall shows no gap).
            XCTAssertGreaterThanOrEqual(closing.lastFrame ?? -1, Int64(published - 1 - Self.tailFrames),
                                        "listener \(survivor) stopped playing before the stream ended")
            XCTAssertLessThan(closing.longestGapMs, closing.playoutDelayMs, "listener \(survivor) heard a gap as long as its playout delay")
            XCTAssertGreaterThanOrEqual(continuityAfter, 0.9, "listener \(survivor) lost much of the stream after the kill")
        }
        if let childObserves {
            XCTAssertGreaterThan(newObservations, 0, "no survivor saw \(childObserves): the victim was nobody's parent")
        }
        print(String(format: "%@: the run took %.1f s", label, Date().timeIntervalSince(started)))
    }

    /// A mesh source with upload to spare feeds every listener itself and nobody forwards, so
    /// there would be no supplier to kill. 256 kbit/s carries about two copies of the 64 kbit/s
    /// stream in 20 ms chunks: the listeners must pass on the rest.
    private func sourceUpload(_ mode: StreamMode) -> [String] {
        mode == .mesh ? ["--upload-kbps", "256"] : []
    }

    /// Polls `condition` every 100 ms until it holds or `seconds` passed.
    private func waitUntil(seconds: Double, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition(), Date() < deadline { try await Task.sleep(nanoseconds: 100_000_000) }
    }
}
