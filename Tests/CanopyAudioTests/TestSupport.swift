import Foundation
import XCTest
@testable import CanopyAudio

/// A fresh temporary directory per test, removed afterwards.
func makeTemporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("canopy-audio-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Reads every frame a source produces, concatenated.
func readAll(_ source: inout some AudioSource) throws -> [Int16] {
    var out: [Int16] = []
    while let frame = try source.nextFrame() {
        XCTAssertEqual(frame.count, AudioFormat.samplesPerFrame)
        out.append(contentsOf: frame)
    }
    return out
}

/// `seconds` of the test music as whole frames.
func testMusic(seconds: Double) throws -> [Int16] {
    var signal = TestSignal(kind: .music, seconds: seconds)
    return try readAll(&signal)
}

/// Writes a 16-bit PCM WAV at any rate and channel count, independently of the code
/// under test, so reader tests do not trust the writer they might share bugs with.
func writeTestWAV(path: String, rate: Int, channels: Int, samples: [Int16]) throws {
    var d = Data()
    func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
    func le16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
    let dataBytes = samples.count * 2
    d.append(contentsOf: Array("RIFF".utf8)); le32(UInt32(36 + dataBytes))
    d.append(contentsOf: Array("WAVEfmt ".utf8)); le32(16); le16(1); le16(UInt16(channels))
    le32(UInt32(rate)); le32(UInt32(rate * channels * 2)); le16(UInt16(channels * 2)); le16(16)
    d.append(contentsOf: Array("data".utf8)); le32(UInt32(dataBytes))
    for s in samples { le16(UInt16(bitPattern: s)) }
    try d.write(to: URL(fileURLWithPath: path))
}

/// A sine sampled at `rate`, `channels` identical channels, interleaved.
func sine(frequency: Double, rate: Int, seconds: Double, channels: Int, amplitude: Double = 0.5) -> [Int16] {
    let frames = Int(Double(rate) * seconds)
    var out = [Int16](repeating: 0, count: frames * channels)
    for i in 0..<frames {
        let v = Int16((amplitude * 32767 * sin(2 * Double.pi * frequency * Double(i) / Double(rate))).rounded())
        for c in 0..<channels { out[i * channels + c] = v }
    }
    return out
}

/// Full path of an executable on PATH, or nil.
func findExecutable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// Runs a tool and returns its stdout; fails the test on a non-zero exit.
func runTool(_ executable: String, _ arguments: [String]) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Drain stdout and stderr concurrently so a full pipe cannot deadlock the tool.
    let errData = LockedData()
    let errThread = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
    errThread.start()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !errData.isSet { usleep(1000) }
    if process.terminationStatus != 0 {
        throw NSError(domain: "tool", code: Int(process.terminationStatus), userInfo: [
            NSLocalizedDescriptionKey: "\(executable) \(arguments.joined(separator: " ")) failed: \(String(decoding: errData.value, as: UTF8.self))",
        ])
    }
    return data
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return data != nil }
    var value: Data { lock.lock(); defer { lock.unlock() }; return data ?? Data() }
}

/// Little-endian s16 bytes to samples.
func samples(fromS16LE data: Data) -> [Int16] {
    var out = [Int16](repeating: 0, count: data.count / 2)
    data.withUnsafeBytes { raw in
        for i in 0..<out.count {
            out[i] = Int16(bitPattern: UInt16(raw[2 * i]) | UInt16(raw[2 * i + 1]) << 8)
        }
    }
    return out
}
