import CanopyAudio
import Foundation
import XCTest

/// The built `canopy` binary in separate processes, as a person would run it.
final class ProcessTests: XCTestCase {
    private func launch(_ binary: URL, _ arguments: [String], in directory: URL) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, errors)
    }

    private func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-net-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func testSourceAndListenerProcessesProduceAValidNonSilentWAV() throws {
        let binary = try canopyBinary()
        let dir = try temporaryDirectory()
        let port = String(Int.random(in: 20_000...60_000))
        let (source, _) = try launch(binary, ["source", "--tone", "440", "--seconds", "6", "--port", port, "--key", "k.key"], in: dir)
        let (listener, listenerErrors) = try launch(binary, ["listen", "--bootstrap", "127.0.0.1:\(port)", "--output", "x.wav",
                                                            "--seconds", "5"], in: dir)
        listener.waitUntilExit()
        source.waitUntilExit()
        let log = String(decoding: listenerErrors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(listener.terminationStatus, 0, log)
        XCTAssertEqual(source.terminationStatus, 0)
        let wav = try Data(contentsOf: dir.appendingPathComponent("x.wav"))
        XCTAssertGreaterThan(wav.count, 44 + 48_000 * 4 * 3, "at least 3 s of audio")
        XCTAssertEqual(String(decoding: wav[0..<4], as: UTF8.self), "RIFF")
        XCTAssertEqual(String(decoding: wav[8..<12], as: UTF8.self), "WAVE")
        let dataSize = wav[40..<44].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(dataSize, wav.count - 44, "header sizes patched at exit")
        let samples = stride(from: 44, to: wav.count - 1, by: 2).map { Int16(bitPattern: UInt16(wav[$0]) | UInt16(wav[$0 + 1]) << 8) }
        let rms = (samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(samples.count)).squareRoot()
        XCTAssertGreaterThan(rms, 3_000, "a 0.5-amplitude tone, not silence")
    }

    func testUnreachableBootstrapGivesOneLineErrorQuickly() throws {
        let binary = try canopyBinary()
        let dir = try temporaryDirectory()
        let started = Date()
        let (listener, errors) = try launch(binary, ["listen", "--bootstrap", "127.0.0.1:9"], in: dir)
        listener.waitUntilExit()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertNotEqual(listener.terminationStatus, 0)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        XCTAssertEqual(text.split(separator: "\n").count, 1, text)
        XCTAssertTrue(text.contains("no answer from 127.0.0.1:9"), text)
    }
}
