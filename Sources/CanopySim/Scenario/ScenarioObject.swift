/// Reads one JSON object of a scenario strictly: every field read is checked for type and
/// range, and `finish()` rejects any field nobody read, so a typo never passes silently.
///
/// Modes read their own block (`"tree": {...}`) with it:
/// ```swift
/// var block = blocks.object("tree")          // an empty object when absent
/// let stripes = try block.int("stripes", default: 16, range: 1...64)
/// try block.finish()
/// ```
public struct ScenarioObject {
    /// Dotted path used in messages: `"tree"`, `"topology"`, `"churn[1]"`.
    public let path: String
    private let pairs: [(String, JSONValue)]
    /// Every field asked for, present or not: the accepted names for `finish()`.
    private var read: Set<String> = []

    public init(_ value: JSONValue, path: String) throws {
        guard case .object(let pairs) = value else {
            throw ScenarioError("\"\(path.isEmpty ? "scenario" : path)\" must be an object, got \(value.shortDescription)")
        }
        self.path = path
        self.pairs = pairs
    }

    /// An empty object (what a mode sees when its block is absent).
    public init(emptyAt path: String) {
        self.path = path
        self.pairs = []
    }

    public var keys: [String] { pairs.map(\.0) }

    public func has(_ key: String) -> Bool { pairs.contains { $0.0 == key } }

    /// The full name of a field, for messages.
    public func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The raw value (marks it read), for shapes the typed readers do not cover.
    public mutating func raw(_ key: String) -> JSONValue? {
        read.insert(key)
        return pairs.first(where: { $0.0 == key })?.1
    }

    public func invalid(_ key: String, _ expectation: String, got value: JSONValue) -> ScenarioError {
        ScenarioError("\"\(name(key))\" must be \(expectation), got \(value.shortDescription)")
    }

    public mutating func double(_ key: String, default fallback: Double? = nil,
                                range: ClosedRange<Double> = -.infinity ... .infinity,
                                expectation: String = "a number") throws -> Double {
        guard let value = raw(key) else {
            guard let fallback else { throw ScenarioError("missing field \"\(name(key))\" (\(expectation))") }
            return fallback
        }
        guard case .number(let n) = value, range.contains(n) else { throw invalid(key, expectation, got: value) }
        return n
    }

    public mutating func int(_ key: String, default fallback: Int? = nil, range: ClosedRange<Int> = 0 ... Int.max,
                             expectation: String? = nil) throws -> Int {
        let what = expectation ?? (range.lowerBound == 1 ? "a positive integer" : "an integer ≥ \(range.lowerBound)")
        guard let value = raw(key) else {
            guard let fallback else { throw ScenarioError("missing field \"\(name(key))\" (\(what))") }
            return fallback
        }
        guard case .number(let n) = value, n == n.rounded(), abs(n) < 1e15, range.contains(Int(n)) else {
            throw invalid(key, what, got: value)
        }
        return Int(n)
    }

    public mutating func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = raw(key) else { return fallback }
        guard case .bool(let b) = value else { throw invalid(key, "true or false", got: value) }
        return b
    }

    /// A string from a fixed list of choices.
    public mutating func choice(_ key: String, default fallback: String? = nil, from choices: [String]) throws -> String {
        let what = "one of " + choices.map { "\"\($0)\"" }.joined(separator: ", ")
        guard let value = raw(key) else {
            guard let fallback else { throw ScenarioError("missing field \"\(name(key))\" (\(what))") }
            return fallback
        }
        guard case .string(let s) = value, choices.contains(s) else { throw invalid(key, what, got: value) }
        return s
    }

    public mutating func string(_ key: String, default fallback: String? = nil) throws -> String {
        guard let value = raw(key) else {
            guard let fallback else { throw ScenarioError("missing field \"\(name(key))\" (a string)") }
            return fallback
        }
        guard case .string(let s) = value else { throw invalid(key, "a string", got: value) }
        return s
    }

    /// A nested object, or nil when absent.
    public mutating func object(_ key: String) throws -> ScenarioObject? {
        guard let value = raw(key) else { return nil }
        return try ScenarioObject(value, path: name(key))
    }

    /// Rejects fields that were never read, naming the first one and the accepted ones.
    public func finish() throws {
        guard let unknown = pairs.first(where: { !read.contains($0.0) })?.0 else { return }
        throw ScenarioError("unknown field \"\(name(unknown))\" (expected one of: \(read.sorted().joined(separator: ", ")))")
    }
}
