import CanopyMesh
import ArgumentParser
import CanopyCore
import Foundation
import NIOCore

/// A mistake the person at the terminal can fix; printed as one line, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

enum CLI {
    /// Runs a subcommand body, turning any failure into one `canopy: error: …` line on
    /// stderr and a non-zero exit instead of a stack of usage text.
    static func run(_ command: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let exit as ExitCode {
            throw exit
        } catch let error as IOError {
            fail(command, "network error: \(error) — check --bind/--port (is the port already in use?)")
        } catch {
            fail(command, "\(error)")
        }
    }

    static func fail(_ command: String, _ message: String) -> Never {
        FileHandle.standardError.write(Data("canopy \(command): error: \(message)\n".utf8))
        Foundation.exit(1)
    }

    /// A note for the user on stderr (stdout may be carrying audio).
    static func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func bootstrap(_ text: String) throws -> PeerAddress {
        guard let address = PeerAddress(parsing: text), address.port != 0 else {
            throw CLIError("malformed address '\(text)' — use HOST:PORT with an IPv4 host and a port 1–65535, e.g. 127.0.0.1:7070")
        }
        return address
    }

    static func bindAddress(host: String, port: Int) throws -> PeerAddress {
        guard (0...65_535).contains(port) else {
            throw CLIError("bad port \(port) — use 1–65535, or 0 for any free port")
        }
        guard let address = PeerAddress(parsing: "\(host):0") else {
            throw CLIError("malformed bind address '\(host)' — use an IPv4 address such as 127.0.0.1 or 0.0.0.0")
        }
        return PeerAddress(host: address.host, port: UInt16(port))
    }

    static func mode(_ text: String) throws -> StreamMode {
        guard let mode = StreamMode.allCases.first(where: { $0.description == text }) else {
            throw CLIError("unknown mode '\(text)' — use direct, tree or mesh")
        }
        return mode
    }

    /// Parses a `--scheduler` value (mesh mode's pull strategy).
    static func scheduler(_ text: String) throws -> MeshScheduler {
        guard let scheduler = MeshScheduler.allCases.first(where: { $0.description == text }) else {
            throw CLIError("unknown scheduler '\(text)' — use donet or chainsaw")
        }
        return scheduler
    }
}
