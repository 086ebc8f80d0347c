import Foundation

/// A JSON value that keeps object keys in order, so scenarios can be read strictly
/// (duplicate and unknown keys are errors) and reports are written byte for byte the same
/// from one run to the next (Foundation's serializer orders neither keys nor numbers).
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case let (.bool(x), .bool(y)): x == y
        case let (.number(x), .number(y)): x == y
        case let (.string(x), .string(y)): x == y
        case let (.array(x), .array(y)): x == y
        case let (.object(x), .object(y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// A number, or null when absent. (A non-finite number prints as null either way:
    /// JSON has no NaN or infinity.)
    public static func number(_ value: Double?) -> JSONValue {
        guard let value, value.isFinite else { return .null }
        return .number(value)
    }

    public static func int(_ value: Int?) -> JSONValue {
        guard let value else { return .null }
        return .number(Double(value))
    }

    /// The value at `key` of an object (nil if absent or not an object).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }

    /// How the value reads in an error message: `"many"`, `12`, `an object`...
    public var shortDescription: String {
        switch self {
        case .null: "null"
        case .bool(let b): String(b)
        case .number(let n): JSONValue.format(n)
        case .string(let s): "\"\(s)\""
        case .array: "a list"
        case .object: "an object"
        }
    }
}

// MARK: - Writing

extension JSONValue {
    /// Compact JSON with two-space indentation for objects; arrays of numbers stay on one line.
    public func serialized(indent: Int = 0) -> String {
        var out = ""
        write(into: &out, indent: indent)
        return out
    }

    private func write(into out: inout String, indent: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += JSONValue.format(n)
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .array(let items):
            let flat = items.allSatisfy { if case .object = $0 { false } else if case .array = $0 { false } else { true } }
            if flat {
                out += "["
                for (i, item) in items.enumerated() {
                    if i > 0 { out += ", " }
                    item.write(into: &out, indent: indent)
                }
                out += "]"
            } else {
                out += "[\n"
                for (i, item) in items.enumerated() {
                    out += String(repeating: " ", count: indent + 2)
                    item.write(into: &out, indent: indent + 2)
                    out += i + 1 < items.count ? ",\n" : "\n"
                }
                out += String(repeating: " ", count: indent) + "]"
            }
        case .object(let pairs):
            if pairs.isEmpty { out += "{}"; return }
            out += "{\n"
            for (i, (key, value)) in pairs.enumerated() {
                out += String(repeating: " ", count: indent + 2)
                JSONValue.writeString(key, into: &out)
                out += ": "
                value.write(into: &out, indent: indent + 2)
                out += i + 1 < pairs.count ? ",\n" : "\n"
            }
            out += String(repeating: " ", count: indent) + "}"
        }
    }

    /// Numbers are rounded to 6 decimals and printed without trailing zeros, so that
    /// the same run prints the same text on every machine.
    public static func format(_ n: Double) -> String {
        guard n.isFinite else { return "null" }
        if n == n.rounded(), abs(n) < 1e15 { return String(Int64(n)) }
        var text = String(format: "%.6f", n)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }

    private static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

// MARK: - Parsing

/// Why a JSON text could not be read, with the line it happened on.
public struct JSONSyntaxError: Error, CustomStringConvertible {
    public let line: Int
    public let reason: String
    public var description: String { "line \(line): \(reason)" }
}

extension JSONValue {
    /// Parses one JSON document. Duplicate object keys are an error: in a scenario the
    /// second one would silently win.
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes: Array(text.utf8))
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.atEnd else { throw parser.fail("unexpected text after the JSON value") }
        return value
    }
}

private struct JSONParser {
    let bytes: [UInt8]
    var at = 0

    var atEnd: Bool { at >= bytes.count }

    func fail(_ reason: String) -> JSONSyntaxError {
        JSONSyntaxError(line: 1 + bytes[..<min(at, bytes.count)].lazy.filter { $0 == UInt8(ascii: "\n") }.count,
                        reason: reason)
    }

    mutating func skipSpace() {
        while at < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[at]) { at += 1 }
    }

    mutating func expect(_ literal: String, _ value: JSONValue) throws(JSONSyntaxError) -> JSONValue {
        let utf8 = Array(literal.utf8)
        guard at + utf8.count <= bytes.count, Array(bytes[at..<at + utf8.count]) == utf8 else {
            throw fail("invalid literal")
        }
        at += utf8.count
        return value
    }

    mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth < 64 else { throw fail("nested too deeply") }
        guard !atEnd else { throw fail("unexpected end of input") }
        switch bytes[at] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        default: return try number()
        }
    }

    mutating func object(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        at += 1
        var pairs: [(String, JSONValue)] = []
        skipSpace()
        if !atEnd, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(pairs) }
        while true {
            skipSpace()
            guard !atEnd, bytes[at] == UInt8(ascii: "\"") else { throw fail("expected a quoted key") }
            let key = try string()
            if pairs.contains(where: { $0.0 == key }) { throw fail("duplicate key \"\(key)\"") }
            skipSpace()
            guard !atEnd, bytes[at] == UInt8(ascii: ":") else { throw fail("expected ':' after \"\(key)\"") }
            at += 1
            skipSpace()
            pairs.append((key, try value(depth: depth + 1)))
            skipSpace()
            guard !atEnd else { throw fail("unterminated object") }
            if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
            if bytes[at] == UInt8(ascii: "}") { at += 1; return .object(pairs) }
            throw fail("expected ',' or '}'")
        }
    }

    mutating func array(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        at += 1
        var items: [JSONValue] = []
        skipSpace()
        if !atEnd, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
        while true {
            skipSpace()
            items.append(try value(depth: depth + 1))
            skipSpace()
            guard !atEnd else { throw fail("unterminated list") }
            if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
            if bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
            throw fail("expected ',' or ']'")
        }
    }

    mutating func string() throws(JSONSyntaxError) -> String {
        at += 1
        var scalars = String.UnicodeScalarView()
        var raw: [UInt8] = []
        func flush() { scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars); raw.removeAll() }
        while true {
            guard !atEnd else { throw fail("unterminated string") }
            let byte = bytes[at]
            at += 1
            if byte == UInt8(ascii: "\"") { flush(); return String(scalars) }
            if byte < 0x20 { throw fail("control character in a string") }
            guard byte == UInt8(ascii: "\\") else { raw.append(byte); continue }
            guard !atEnd else { throw fail("unterminated string") }
            let escape = bytes[at]
            at += 1
            switch escape {
            case UInt8(ascii: "\""): raw.append(escape)
            case UInt8(ascii: "\\"): raw.append(escape)
            case UInt8(ascii: "/"): raw.append(escape)
            case UInt8(ascii: "n"): raw.append(0x0A)
            case UInt8(ascii: "t"): raw.append(0x09)
            case UInt8(ascii: "r"): raw.append(0x0D)
            case UInt8(ascii: "b"): raw.append(0x08)
            case UInt8(ascii: "f"): raw.append(0x0C)
            case UInt8(ascii: "u"):
                guard at + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16),
                      let scalar = Unicode.Scalar(code) else { throw fail("bad \\u escape") }
                at += 4
                flush()
                scalars.append(scalar)
            default: throw fail("bad escape")
            }
        }
    }

    mutating func number() throws(JSONSyntaxError) -> JSONValue {
        let start = at
        while at < bytes.count, "+-0123456789.eE".utf8.contains(bytes[at]) { at += 1 }
        guard at > start, let n = Double(String(decoding: bytes[start..<at], as: UTF8.self)), n.isFinite else {
            throw fail("expected a value")
        }
        return .number(n)
    }
}
