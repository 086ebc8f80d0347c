import ArgumentParser
import CanopySim
import Foundation

/// `canopy bench push-vs-pull`: direct, tree, DONet and Chainsaw on one scenario, in the
/// simulator or (`--real`) on loopback UDP.
struct PushVsPullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push-vs-pull",
        abstract: "Run the same scenario in direct, tree, mesh/DONet and mesh/Chainsaw; write results.json, report.md and plots.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Failures to inject: none, steady (sessions of mean 5 min) or mass (25% crash 20 s into the stream, or a third of the way through a shorter one).")
    var churn: BenchScenario.Churn = .none

    @Option(help: "Modes to run, comma-separated, from \(BenchScenario.modeNames.joined(separator: ", ")).")
    var modes: String = BenchScenario.modeNames.joined(separator: ",")

    @Flag(help: "Run on real UDP over loopback in this process (at most \(RealPushVsPull.maxNodes) nodes, one after the other per mode) instead of the simulator.")
    var real = false

    func run() async throws {
        let folder = try options.outputFolder()
        let base = try options.base(real: real)
        if real {
            guard base.nodes <= RealPushVsPull.maxNodes else {
                throw ValidationError("--real runs at most \(RealPushVsPull.maxNodes) nodes in one process; use --nodes 101 or fewer")
            }
            guard churn != .steady else { throw ValidationError("--real supports --churn none or mass (steady churn needs replacement joiners); drop --real to simulate it") }
        }
        let chosen = modes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !chosen.isEmpty, chosen.allSatisfy(BenchScenario.modeNames.contains) else {
            throw ValidationError("bad --modes \(modes) — use a comma-separated list of \(BenchScenario.modeNames.joined(separator: ", "))")
        }
        let bench = PushVsPull(base: base, churn: churn, modes: chosen)
        let status = StatusLine()
        let finished = { (mode: String, report: JSONValue) in
            status.clear()
            let wall = (report["sim"] ?? report["real"])?["wall_s"]?.shortDescription ?? "?"
            FileHandle.standardError.write(Data("canopy bench: \(mode) done in \(wall) s\n".utf8))
        }
        let result: PushVsPull.Result
        if real {
            result = try await RealPushVsPull.run(bench, progress: { mode, elapsed, total in
                status.show(String(format: "%@ on loopback UDP: %.0f/%.0f s", mode, elapsed, total))
            }, finished: finished)
        } else {
            result = try bench.run(progress: { mode, sim in
                status.show(String(format: "%@: t=%.0f/%.0f s, %d live", mode, sim.now.seconds, sim.runEnd.seconds, sim.liveNodes.count))
            }, finished: finished)
        }
        try writeFile(result.json.serialized() + "\n", to: folder.appendingPathComponent("results.json"))
        try writeFile(result.markdown, to: folder.appendingPathComponent("report.md"))
        print(result.table)
        let plots = Plotter.draw("push-vs-pull", folder: folder)
        print("\nresults: \(folder.appendingPathComponent("results.json").path)")
        print("table:   \(folder.appendingPathComponent("report.md").path)")
        for plot in plots { print("plot:    \(plot)") }
    }
}

extension BenchScenario.Churn: ExpressibleByArgument {}
