import Foundation

/// A report one process writes and another reads (tests of separate processes poll it):
/// pretty, key-sorted JSON, replaced atomically so a reader never sees half a file.
public protocol JSONFile: Codable {}

extension JSONFile {
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    public static func read(from path: String) throws -> Self {
        try JSONDecoder().decode(Self.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
