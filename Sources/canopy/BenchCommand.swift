import ArgumentParser
import CanopySim
import Foundation

/// `canopy bench`: fair, reproducible comparisons of the distribution modes.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Compare push (tree) with pull (mesh) and direct delivery on the same network.",
        subcommands: [PushVsPullCommand.self, TradeoffCommand.self])
}

/// Options every bench shares: which network, which seed, where the files go.
struct BenchOptions: ParsableArguments {
    @Option(help: "Nodes, the source included (default 1000; 50 with --real; overrides the scenario's).")
    var nodes: Int?

    @Option(help: "A base scenario file; its mode is replaced by each mode in turn.")
    var scenario: String?

    @Option(help: "Seed of every run (overrides the scenario's).")
    var seed: UInt64?

    @Option(help: "Chunk duration in ms for the default scenario.")
    var chunkMs: Double = 200

    @Option(help: "Seconds of stream (default 60; 20 with --real; overrides the scenario's).")
    var seconds: Double?

    @Option(help: "Seconds over which peers join before the stream starts (default 10; 1 with --real; overrides the scenario's).")
    var joinOver: Double?

    @Option(help: "Multiply every peer's upload capacity by this (default 1: peers upload 0, 118 or 352 kbit/s, 2.4× what 200 ms chunks need on the wire; 3 with --real).")
    var uploadScale: Double?

    @Option(help: "Folder for results.json, report.md and the plots.")
    var out: String = "bench-out"

    /// The scenario every mode runs. `real`: the defaults of a loopback run (fewer
    /// seconds, faster joins, more upload), which the flags still override.
    func base(real: Bool = false) throws -> Scenario {
        guard nodes.map({ $0 >= 2 }) ?? true else { throw ValidationError("--nodes must be at least 2") }
        guard chunkMs >= 5, chunkMs <= 5000 else { throw ValidationError("--chunk-ms must be between 5 and 5000") }
        guard seconds.map({ $0 > 0 && $0 <= 3600 }) ?? true else { throw ValidationError("--seconds must be above 0 and at most 3600") }
        guard joinOver.map({ $0 >= 0 && $0 <= 3600 }) ?? true else { throw ValidationError("--join-over must be between 0 and 3600 seconds") }
        guard uploadScale.map({ $0 > 0 && $0 <= 1000 }) ?? true else { throw ValidationError("--upload-scale must be above 0 and at most 1000") }
        var base: Scenario
        if let scenario {
            base = try Scenario.load(path: scenario)
            if let seconds { base.stream.seconds = seconds }
            if let joinOver { base.joinOverSeconds = joinOver }
        } else {
            base = try Scenario.parse(BenchScenario.defaultText(nodes: nodes ?? (real ? 50 : 1000), seed: seed ?? 7, chunkMs: chunkMs,
                                                               seconds: seconds ?? (real ? 20 : 60), joinOverSeconds: joinOver ?? (real ? 1 : 10)))
        }
        if let nodes { base.nodes = nodes }
        if let seed { base.seed = seed }
        BenchScenario.scaleUploads(&base, by: uploadScale ?? (real ? 3 : 1))
        base.lookups = 0
        return base
    }

    func outputFolder() throws -> URL {
        let url = URL(fileURLWithPath: out)
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw ValidationError("cannot create the output folder \(out) (check the path and permissions)")
        }
        return url
    }
}

/// Draws the plots with tools/plot; says plainly when Python is missing, leaving the JSON
/// and the table as they are.
enum Plotter {
    static func draw(_ kind: String, folder: URL) -> [String] {
        // The checkout the binary was built in (it lives in .build/<triple>/<config>/), then
        // the current folder.
        var folderOfBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates: [String] = []
        for _ in 0..<5 {
            candidates.append(folderOfBinary.appendingPathComponent("tools/plot").path)
            folderOfBinary.deleteLastPathComponent()
        }
        candidates.append(FileManager.default.currentDirectoryPath + "/tools/plot")
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            FileHandle.standardError.write(Data("canopy bench: tools/plot not found; plots skipped (results.json and report.md are complete)\n".utf8))
            return []
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = [kind, folder.path]
        do {
            try process.run()
            process.waitUntilExit()
        } catch {
            FileHandle.standardError.write(Data("canopy bench: could not run \(path): \(error); plots skipped\n".utf8))
            return []
        }
        guard process.terminationStatus == 0 else {
            FileHandle.standardError.write(Data("canopy bench: plotting failed (is python3 with venv available?); results.json and report.md are complete\n".utf8))
            return []
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".png") }.sorted().map { folder.appendingPathComponent($0).path }
    }
}

func writeFile(_ text: String, to url: URL) throws {
    guard FileManager.default.createFile(atPath: url.path, contents: Data(text.utf8)) else {
        throw ValidationError("cannot write \(url.path) (check the folder is writable)")
    }
}
