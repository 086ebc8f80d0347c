import ArgumentParser
import CanopySim
import Foundation

/// `canopy bench push-vs-pull`: direct, tree, DONet and Chainsaw on one scenario.
struct PushVsPullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push-vs-pull",
        abstract: "Run the same scenario in direct, tree, mesh/DONet and mesh/Chainsaw; write results.json, report.md and plots.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Failures to inject: none, steady (sessions of mean 5 min) or mass (25% crash 20 s into the stream).")
    var churn: BenchScenario.Churn = .none

    func run() throws {
        let folder = try options.outputFolder()
        let base = try options.base()
        let bench = PushVsPull(base: base, churn: churn)
        let result = try bench.run(progress: { mode, sim in
            benchStatus(String(format: "%@: t=%.0f/%.0f s, %d live", mode, sim.now.seconds, sim.runEnd.seconds, sim.liveNodes.count))
        }, finished: { mode, report in
            benchStatus("")
            let wall = report["sim"]?["wall_s"]?.shortDescription ?? "?"
            FileHandle.standardError.write(Data("canopy bench: \(mode) done in \(wall) s\n".utf8))
        })
        let delays = base.playoutDelaysSeconds.map { JSONValue.format($0) }
        let table = ComparisonTable.markdown(result.reports, playoutDelays: delays)
        let title = "# Push versus pull: \(base.nodes) nodes, seed \(base.seed), churn \(churn.rawValue)\n\n"
            + "Chunks of \(JSONValue.format(base.stream.chunkMilliseconds)) ms at \(JSONValue.format(base.stream.bitrateKbps)) kbit/s for \(JSONValue.format(base.stream.seconds)) s.\n\n"
        try writeFile(result.json.serialized() + "\n", to: folder.appendingPathComponent("results.json"))
        try writeFile(title + table + "\n", to: folder.appendingPathComponent("report.md"))
        print(table)
        let plots = Plotter.draw("push-vs-pull", folder: folder)
        print("\nresults: \(folder.appendingPathComponent("results.json").path)")
        print("table:   \(folder.appendingPathComponent("report.md").path)")
        for plot in plots { print("plot:    \(plot)") }
    }
}

extension BenchScenario.Churn: ExpressibleByArgument {}
