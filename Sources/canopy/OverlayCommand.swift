import ArgumentParser
import CanopyCore
import CanopyNet
import Foundation
import NIOPosix

/// `canopy overlay`: runs several Pastry nodes (lookups only, no stream) in this process,
/// so a real-UDP overlay can be spread over a few OS processes — what the loopback tests
/// and overlay experiments need.
struct OverlayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overlay",
        abstract: "Run Pastry overlay nodes (no audio), optionally issue lookups, and write a JSON report.")

    @Option(name: .long, help: "How many overlay nodes to run in this process.")
    var nodes = 1

    @Option(name: .long, help: "An overlay node to join through, HOST:PORT (default: the first node here starts a new overlay).")
    var bootstrap: String?

    @Option(name: .long, help: "UDP port of the first node; node i gets port+i (0 = any free ports).")
    var port = 0

    @Option(name: .long, help: "Local IPv4 address to bind.")
    var bind = "127.0.0.1"

    @Option(name: .long, help: "Random-key lookups to issue from random local nodes once joined.")
    var lookups = 0

    @Option(name: .long, help: "Stop after this many seconds (default: until Ctrl-C).")
    var seconds: Double?

    @Option(name: .long, help: "Write the JSON report here (node ids, lookups, deliveries): once joined, again on exit.")
    var report: String?

    func run() async throws {
        try await CLI.run("overlay") {
            guard (1...1_000).contains(nodes) else { throw CLIError("bad --nodes \(nodes) — use 1 to 1000") }
            guard lookups >= 0 else { throw CLIError("bad --lookups \(lookups) — use 0 or more") }
            if let seconds, !(seconds > 0) { throw CLIError("bad --seconds \(seconds) — give a positive duration") }
            if port != 0, port + nodes - 1 > 65_535 {
                throw CLIError("bad --port \(port) — \(nodes) nodes need ports \(port)–\(port + nodes - 1), beyond 65535")
            }
            let through = try bootstrap.map(CLI.bootstrap)
            let address = try CLI.bindAddress(host: bind, port: port)
            let started = Date()
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let host = try await OverlayHost.start(count: nodes, on: group, bind: address, bootstrap: through)
            _ = try await host.waitForStableLeafSets()
            try report.map { try host.report(complete: false).write(to: $0) }
            CLI.note("canopy overlay: \(nodes) nodes joined via \(through.map(\.description) ?? "themselves"), first on \(host.nodes[0].localAddress)")
            if lookups > 0 {
                try await issueLookups(host)
                try report.map { try host.report(complete: false).write(to: $0) }
            }
            let remaining = seconds.map { max(0, $0 - Date().timeIntervalSince(started)) }
            _ = await StopSignal.wait(seconds: remaining)
            let final = host.report(complete: true)
            await host.close()
            try await group.shutdownGracefully()
            try report.map { try final.write(to: $0) }
            CLI.note("canopy overlay: \(final.deliveries.count) lookups delivered here")
        }
    }

    /// Issues the lookups and waits (at most 5 s) for those delivered here; the rest were
    /// delivered in other processes, whose reports tell.
    private func issueLookups(_ host: OverlayHost) async throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<lookups {
            host.lookup(NodeID(high: rng.next(), low: rng.next()), from: Int.random(in: 0..<nodes, using: &rng))
        }
        let deadline = Date().addingTimeInterval(5)
        while host.lookups.contains(where: { $0.deliverer == nil }), Date() < deadline {
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        let done = host.lookups.filter { $0.deliverer != nil }
        let hops = done.compactMap(\.hops)
        CLI.note(String(format: "canopy overlay: %d of %d lookups delivered here, mean hops %.2f", done.count, lookups,
                        hops.isEmpty ? 0 : Double(hops.reduce(0, +)) / Double(hops.count)))
    }
}
