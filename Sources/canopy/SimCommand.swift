import ArgumentParser
import CanopySim
import Foundation

/// `canopy sim`: runs a scenario in the deterministic simulator and writes its report.
struct SimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run a scenario in the deterministic simulator and write its JSON report.",
        discussion: "The scenario and report formats are described in the README (DESIGN.md's contract). The same scenario and seed give the same report, except sim.wall_s and sim.peak_rss_mb.")

    @Argument(help: "The scenario file (JSON).")
    var scenario: String

    @Option(help: "Seed for this run, overriding the scenario's \"seed\".")
    var seed: UInt64?

    @Option(help: "Write the report here instead of standard output.")
    var out: String?

    func run() throws {
        do {
            let loaded = try Scenario.load(path: scenario)
            let onTerminal = isatty(STDERR_FILENO) == 1
            let progress: ((Simulation) -> Void)? = onTerminal ? { Self.showProgress($0) } : nil
            let (simulation, report) = try SimRunner.run(loaded, seed: seed, progress: progress)
            if onTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            let text = report.serialized() + "\n"
            if let out {
                guard FileManager.default.createFile(atPath: out, contents: Data(text.utf8)) else {
                    throw ScenarioError("cannot write the report to \"\(out)\" (check the folder exists and is writable)")
                }
            } else {
                FileHandle.standardOutput.write(Data(text.utf8))
            }
            FileHandle.standardError.write(Data((Self.summary(report, simulation: simulation) + "\n").utf8))
        } catch let error as ScenarioError {
            FileHandle.standardError.write(Data("canopy sim: \(error.message)\n".utf8))
            throw ExitCode(2)
        }
    }

    private static func showProgress(_ simulation: Simulation) {
        let line = String(format: "\r\u{1B}[K%@: t=%.1f/%.0fs  live=%d  events=%d",
                          simulation.scenario.mode, simulation.now.seconds, simulation.runEnd.seconds,
                          simulation.liveNodes.count, simulation.eventCount)
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// One human line on stderr: the figures people look at first.
    private static func summary(_ report: JSONValue, simulation: Simulation) -> String {
        func value(_ path: String...) -> String {
            var node: JSONValue? = report
            for key in path { node = node?[key] }
            return node.map { $0.shortDescription } ?? "null"
        }
        let largest = simulation.scenario.playoutDelaysSeconds.last.map { JSONValue.format($0) } ?? "?"
        let events = simulation.eventCount
        let wall = report["sim"]?["wall_s"].flatMap { if case .number(let n) = $0 { n } else { nil } } ?? 0
        return "\(simulation.scenario.mode): \(simulation.scenario.nodes) nodes, continuity@\(largest)s \(value("continuity", largest)), "
            + "delay p50 \(value("delay_ms", "p50")) ms p99 \(value("delay_ms", "p99")) ms, rdp \(value("rdp_mean")), "
            + "delivery \(value("delivery_ratio")), lookups ok \(value("lookup", "correct_ratio")); "
            + String(format: "%d events in %.2f s (%.0f events/s), peak RSS %@ MB", events, wall,
                     wall > 0 ? Double(events) / wall : 0, value("sim", "peak_rss_mb"))
    }
}
