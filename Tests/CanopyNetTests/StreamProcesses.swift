import CanopyNet
import Foundation
import XCTest

/// A `canopy source` and several `canopy listen` processes on 127.0.0.1, as a person
/// would start them in separate terminals. Each listener writes its figures with
/// `--report`, which is how the test sees, from outside, who forwards and how each heard.
/// Every process has a time bound of its own, and `killAll` ends whatever still runs.
///
/// `@unchecked Sendable`: only immutable references; `Process` itself is thread-safe for
/// the calls made here (pid, isRunning, waitUntilExit), and teardown needs to capture it.
final class StreamProcesses: @unchecked Sendable {
    let directory: URL
    let source: Process
    let sourcePort: Int
    let listeners: [Process]

    private init(directory: URL, source: Process, sourcePort: Int, listeners: [Process]) {
        self.directory = directory
        self.source = source
        self.sourcePort = sourcePort
        self.listeners = listeners
    }

    /// Starts the source (on a free port it reports) and then `listeners` listeners that
    /// join through it; returns once they are all running.
    static func launch(_ binary: URL, in directory: URL, source arguments: [String], listeners count: Int,
                       listenerSeconds: Double) async throws -> StreamProcesses {
        let source = try run(binary, ["source", "--port", "0", "--key", "source.key"] + arguments, in: directory, log: "source")
        var port: Int?
        for _ in 0..<100 where port == nil && source.isRunning {
            try await Task.sleep(nanoseconds: 100_000_000)
            port = Self.firstMatch(#"on 127\.0\.0\.1:(\d+)"#, in: log(directory, "source")).flatMap { Int($0) }
        }
        guard let port else {
            if source.isRunning { kill(source.processIdentifier, SIGKILL) }
            throw SetupFailed(what: "the source never said its port: \(log(directory, "source"))")
        }
        var listeners: [Process] = []
        for index in 0..<count {
            listeners.append(try run(binary, ["listen", "--bootstrap", "127.0.0.1:\(port)", "--seconds", String(listenerSeconds),
                                              "--report", reportPath(directory, index)], in: directory, log: "listener\(index)"))
        }
        return StreamProcesses(directory: directory, source: source, sourcePort: port, listeners: listeners)
    }

    private static func run(_ binary: URL, _ arguments: [String], in directory: URL, log name: String) throws -> Process {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        let path = directory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: path.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: path)
        try process.run()
        return process
    }

    private static func reportPath(_ directory: URL, _ index: Int) -> String {
        directory.appendingPathComponent("listener\(index).json").path
    }

    private static func log(_ directory: URL, _ name: String) -> String {
        (try? String(contentsOf: directory.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? ""
    }

    static func firstMatch(_ pattern: String, in text: String) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              let range = Range(match.range(at: 1), in: text) else { return nil }
        return String(text[range])
    }

    /// Listener `index`'s latest report; nil before its first.
    func status(_ index: Int) -> ListenerStatus? {
        try? ListenerStatus.read(from: Self.reportPath(directory, index))
    }

    /// What a process wrote on stderr ("source", "listener3").
    func log(_ name: String) -> String { Self.log(directory, name) }

    /// How many chunks the source says it published (in its closing line).
    var published: Int? { Self.firstMatch(#"published (\d+) chunks"#, in: log("source")).flatMap { Int($0) } }

    /// `kill -9`: no goodbye, no closing report.
    func crash(_ index: Int) {
        kill(listeners[index].processIdentifier, SIGKILL)
        listeners[index].waitUntilExit()
    }

    /// Waits (polling, so the test's thread stays free) until `process` ends; false on timeout.
    func waitForExit(_ process: Process, seconds: Double) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { try await Task.sleep(nanoseconds: 100_000_000) }
        return !process.isRunning
    }

    /// Ctrl-C for listener `index`: it stops cleanly and writes its closing report.
    func stop(_ index: Int) { kill(listeners[index].processIdentifier, SIGTERM) }

    /// Ends every process still running, whatever the test got to.
    func killAll() {
        for process in [source] + listeners where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

struct SetupFailed: Error, CustomStringConvertible {
    let what: String
    var description: String { what }
}
