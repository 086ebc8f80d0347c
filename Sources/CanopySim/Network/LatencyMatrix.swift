import Foundation

/// One-way delays between nodes read from a file: N lines of N numbers (milliseconds,
/// whitespace separated). Row i is node i; node 0 is the source.
public final class LatencyMatrix: Sendable {
    /// The path as the scenario wrote it, for messages.
    public let path: String
    public let size: Int
    /// Row-major delays in microseconds.
    private let micros: [Int64]

    /// Reads and checks the file; `named` is how the scenario spelled the path.
    public init(path: String, named: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScenarioError("topology matrix file \"\(named)\" not found (looked at \"\(path)\"; the path is relative to the scenario file)")
        }
        var rows: [[Double]] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let fields = line.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D })
            if fields.isEmpty { continue }
            var row: [Double] = []
            row.reserveCapacity(fields.count)
            for field in fields {
                guard let ms = Double(String(decoding: field, as: UTF8.self)), ms.isFinite, ms >= 0 else {
                    throw ScenarioError("topology matrix \"\(named)\" line \(lineNumber): \"\(String(decoding: field, as: UTF8.self))\" is not a delay in ms ≥ 0")
                }
                row.append(ms)
            }
            rows.append(row)
        }
        guard !rows.isEmpty else { throw ScenarioError("topology matrix \"\(named)\" is empty") }
        for (i, row) in rows.enumerated() where row.count != rows.count {
            throw ScenarioError("topology matrix \"\(named)\" must be square: row \(i) has \(row.count) numbers but there are \(rows.count) rows")
        }
        self.path = named
        self.size = rows.count
        self.micros = rows.flatMap { $0.map { Int64(($0 * 1000).rounded()) } }
    }

    /// One-way delay from row `i` to row `j`.
    @inline(__always)
    public func delay(_ i: Int, _ j: Int) -> Int64 { micros[i &* size &+ j] }
}
