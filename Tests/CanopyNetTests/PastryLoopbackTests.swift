import CanopyCore
import CanopyNet
import Foundation
import NIOCore
import NIOPosix
import XCTest

/// Pastry on real UDP: one overlay of 64 nodes on loopback, 40 of them in four separate
/// `canopy overlay` processes, routes every lookup to the numerically closest node.
final class PastryLoopbackTests: XCTestCase {
    private static let processCount = 4
    private static let nodesPerProcess = 10
    private static let localNodes = 24
    private static let lookupCount = 1_000

    func testSixtyFourNodesInFiveProcessesDeliverEveryLookupAtTheClosestNode() async throws {
        let binary = try canopyBinary()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-pastry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        addTeardownBlock { try? await group.shutdownGracefully() }
        let host = try await OverlayHost.start(count: Self.localNodes, on: group, bind: loopback, bootstrap: nil)
        // Closed even when the test stops early, so no node of it lingers into later tests.
        addTeardownBlock { await host.close() }
        let bootstrap = host.nodes[0].localAddress.description
        let reportPaths = (0..<Self.processCount).map { dir.appendingPathComponent("overlay\($0).json").path }
        var processes: [Process] = []
        for (index, path) in reportPaths.enumerated() {
            let process = Process()
            process.executableURL = binary
            process.arguments = ["overlay", "--nodes", String(Self.nodesPerProcess), "--bootstrap", bootstrap,
                                 "--seconds", "150", "--report", path]
            process.standardOutput = FileHandle.nullDevice
            _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("overlay\(index).log").path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: dir.appendingPathComponent("overlay\(index).log"))
            try process.run()
            processes.append(process)
        }
        addTeardownBlock { for process in processes where process.isRunning { process.terminate() } }

        // Every process reports its node ids once its joins have settled.
        var remoteIDs: [NodeID] = []
        for (index, path) in reportPaths.enumerated() {
            let report = try await waitForReport(at: path, process: processes[index], log: dir.appendingPathComponent("overlay\(index).log"))
            remoteIDs += report.nodeIDs
        }
        let members = host.refs.map(\.id) + remoteIDs
        XCTAssertEqual(Set(members).count, Self.localNodes + Self.processCount * Self.nodesPerProcess)

        // The overlay is one ring once every local leaf set is the true one over all 64 ids.
        try await waitUntil(seconds: 60) { try await host.leafSetMismatches(members: members) == 0 }
        let mismatched = try await host.leafSetMismatches(members: members)
        XCTAssertEqual(mismatched, 0, "local nodes whose leaf set is not the true one")

        var rng = SeededRNG(seed: 4)
        for batch in 0..<(Self.lookupCount / 100) {
            for i in 0..<100 {
                host.lookup(NodeID.random(using: &rng), from: (batch * 100 + i) % Self.localNodes)
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        // Lookups delivered here show up at once; give the rest time to reach other processes.
        try await waitUntil(seconds: 5) { !host.lookups.contains { $0.deliverer == nil } }
        try await Task.sleep(nanoseconds: 1_000_000_000)

        var deliveries = host.deliveries
        for (index, process) in processes.enumerated() {
            process.terminate()
            try await waitForExit(process)
            XCTAssertEqual(process.terminationStatus, 0, "overlay process \(index)")
            let report = try OverlayReport.read(from: reportPaths[index])
            XCTAssertTrue(report.complete)
            deliveries += report.deliveries
        }
        await host.close()

        let byLookup = Dictionary(deliveries.map { ($0.lookupID, $0) }, uniquingKeysWith: { first, _ in first })
        let issued = host.lookups
        XCTAssertEqual(issued.count, Self.lookupCount)
        var correct = 0
        var hops: [Int] = []
        var latencies: [Double] = []
        for lookup in issued {
            guard let delivered = byLookup[lookup.lookupID], let key = NodeID(hex: lookup.key) else { continue }
            let closest = members.min { $0.isCloser(to: key, than: $1) }!
            if delivered.deliverer == closest.description { correct += 1 }
            hops += delivered.hops.map { [$0] } ?? []
            latencies += delivered.latencyMs.map { [$0] } ?? []
        }
        let meanHops = Double(hops.reduce(0, +)) / Double(max(1, hops.count))
        latencies.sort()
        let p50 = latencies.isEmpty ? 0 : latencies[latencies.count / 2]
        print(String(format: "pastry loopback: %d nodes (%d processes + this one), %d lookups, %d delivered, %d correct, mean hops %.2f, latency p50 %.2f ms",
                     members.count, Self.processCount, issued.count, hops.count, correct, meanHops, p50))
        XCTAssertEqual(correct, Self.lookupCount, "every lookup delivered at the numerically closest of all 64 nodes")
        XCTAssertLessThanOrEqual(meanHops, 2.0, "log16(64) = 1.5 hops expected on average")
    }

    /// A port held by a live node is refused to the next one. Binding with SO_REUSEADDR let
    /// the kernel hand out an ephemeral port twice: the older node then heard nothing, and
    /// the 64-node overlay above converged late or never once other loopback tests had
    /// opened sockets in the same process.
    func testAPortHeldByANodeIsRefusedToTheNext() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        addTeardownBlock { try? await group.shutdownGracefully() }
        let first = try await OverlayHost.start(count: 1, on: group, bind: loopback, bootstrap: nil)
        addTeardownBlock { await first.close() }
        let taken = first.nodes[0].localAddress
        do {
            let second = try await OverlayHost.start(count: 1, on: group, bind: taken, bootstrap: nil)
            await second.close()
            XCTFail("a second node was bound to \(taken), which the first still holds")
        } catch let error as IOError {
            XCTAssertEqual(error.errnoCode, EADDRINUSE)
        }
    }

    private func waitForReport(at path: String, process: Process, log: URL) async throws -> OverlayReport {
        for _ in 0..<300 {
            if let report = try? OverlayReport.read(from: path) { return report }
            guard process.isRunning else { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        XCTFail("no report from \(path): \(text)")
        throw CancellationError()
    }

    /// Polls `condition` every 100 ms until it holds or `seconds` passed.
    private func waitUntil(seconds: Double, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try await !condition(), Date() < deadline {
            try await Task.sleep(nanoseconds: 100_000_000)
        }
    }

    private func waitForExit(_ process: Process) async throws {
        try await waitUntil(seconds: 10) { !process.isRunning }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
