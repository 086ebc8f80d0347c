import ArgumentParser
import CanopyStream
import Foundation

/// `canopy keygen`: creates the source's signing key; its hash is the stream id.
struct KeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create a source signing key (the stream id is its hash).")

    @Option(name: .long, help: "Where to write the key (32 bytes, mode 0600).")
    var out: String = "source.key"

    @Flag(name: .long, help: "Overwrite an existing key file (its stream id is lost).")
    var force = false

    func run() async throws {
        try await CLI.run("keygen") {
            if FileManager.default.fileExists(atPath: out) {
                guard force else {
                    throw CLIError("\(out) already exists — keep it (it is your stream's identity), choose another --out, or add --force")
                }
                try FileManager.default.removeItem(atPath: out)
            }
            let key = try SourceKey.loadOrCreate(at: out)
            print("wrote \(out) — stream id \(key.streamID)")
        }
    }
}
