import ArgumentParser

/// The `canopy` tool: one binary for broadcasting, listening, simulating and benchmarking.
/// Each subcommand lives in its own file of this folder.
@main
struct Canopy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canopy",
        abstract: "Live Opus audio over an application-level multicast overlay (SplitStream push or mesh pull).",
        subcommands: [
            // subcommands: one line each, keep sorted
            BenchCommand.self,
            DemoCommand.self,
            KeygenCommand.self,
            ListenCommand.self,
            OverlayCommand.self,
            SimCommand.self,
            SourceCommand.self,
        ]
    )
}
