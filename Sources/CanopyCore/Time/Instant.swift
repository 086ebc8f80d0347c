/// A point in time, in microseconds, on the clock of whoever drives the core.
///
/// Protocol cores never read a clock: the simulator passes virtual time, the UDP driver
/// passes the monotonic clock. Integer microseconds keep simulations exactly reproducible.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var micros: Int64

    public init(micros: Int64) { self.micros = micros }

    public static let zero = Instant(micros: 0)

    public static func < (a: Instant, b: Instant) -> Bool { a.micros < b.micros }
    public static func + (a: Instant, b: TimeSpan) -> Instant { Instant(micros: a.micros + b.micros) }
    public static func - (a: Instant, b: TimeSpan) -> Instant { Instant(micros: a.micros - b.micros) }
    public static func - (a: Instant, b: Instant) -> TimeSpan { TimeSpan(micros: a.micros - b.micros) }
    public static func += (a: inout Instant, b: TimeSpan) { a.micros += b.micros }

    public var seconds: Double { Double(micros) / 1e6 }
    public var description: String { String(format: "%.6fs", seconds) }
}

/// A length of time in microseconds.
public struct TimeSpan: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var micros: Int64

    public init(micros: Int64) { self.micros = micros }

    public static func milliseconds(_ ms: Int64) -> TimeSpan { TimeSpan(micros: ms * 1000) }
    /// Integer literals pick this one (`.milliseconds(20)`), not the Double overload.
    public static func milliseconds(_ ms: Int) -> TimeSpan { TimeSpan(micros: Int64(ms) * 1000) }
    public static func milliseconds(_ ms: Double) -> TimeSpan { TimeSpan(micros: Int64((ms * 1000).rounded())) }
    public static func seconds(_ s: Double) -> TimeSpan { TimeSpan(micros: Int64((s * 1e6).rounded())) }

    public static let zero = TimeSpan(micros: 0)

    public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.micros < b.micros }
    public static func + (a: TimeSpan, b: TimeSpan) -> TimeSpan { TimeSpan(micros: a.micros + b.micros) }
    public static func - (a: TimeSpan, b: TimeSpan) -> TimeSpan { TimeSpan(micros: a.micros - b.micros) }
    public static func * (a: TimeSpan, k: Int64) -> TimeSpan { TimeSpan(micros: a.micros * k) }
    public static func / (a: TimeSpan, k: Int64) -> TimeSpan { TimeSpan(micros: a.micros / k) }

    public var milliseconds: Double { Double(micros) / 1000 }
    public var seconds: Double { Double(micros) / 1e6 }
    public var description: String { String(format: "%.3fms", milliseconds) }
}

import Foundation
