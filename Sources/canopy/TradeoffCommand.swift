import ArgumentParser
import CanopySim
import Foundation

/// `canopy bench tradeoff`: delay against control overhead for the pull schedulers.
struct TradeoffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tradeoff",
        abstract: "Sweep DONet's buffer-map period, Chainsaw's HAVE batching and the chunk duration; plot delay against control overhead with the tree's point.")

    @OptionGroup var options: BenchOptions

    func run() throws {
        let folder = try options.outputFolder()
        let sweep = TradeoffSweep(base: try options.base())
        let status = StatusLine()
        let started = Date()
        let json = try sweep.run { index, total, label in status.show("point \(index + 1)/\(total): \(label)") }
        status.clear()
        try writeFile(json.serialized() + "\n", to: folder.appendingPathComponent("tradeoff.json"))
        print("| series | point | control overhead | delay p50 (ms) | delay p90 (ms) |")
        print("|---|---|---:|---:|---:|")
        if case .array(let points)? = json["points"] {
            for p in points {
                print("| \(p["series"]?.plain ?? "") | \(p["label"]?.plain ?? "") | \(p["control_overhead"]?.plain ?? "—") | \(p["delay_p50_ms"]?.plain ?? "—") | \(p["delay_p90_ms"]?.plain ?? "—") |")
            }
        }
        for plot in Plotter.draw("tradeoff", folder: folder) { print("plot: \(plot)") }
        print("results: \(folder.appendingPathComponent("tradeoff.json").path)")
        print(String(format: "wall time: %.0f s", Date().timeIntervalSince(started)))
    }
}

extension JSONValue {
    /// A cell's text: strings without quotes, numbers as the report writes them.
    var plain: String {
        if case .string(let s) = self { return s }
        return shortDescription
    }
}
