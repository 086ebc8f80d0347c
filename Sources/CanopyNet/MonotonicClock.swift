import CanopyCore
import NIOCore

/// The UDP driver's clock: the system's monotonic clock in microseconds, the same one
/// NIO schedules timers on, so `Instant`s handed to cores and timer deadlines agree.
public enum MonotonicClock {
    public static func now() -> Instant {
        Instant(micros: Int64(NIODeadline.now().uptimeNanoseconds / 1_000))
    }

    static func deadline(_ instant: Instant) -> NIODeadline {
        .uptimeNanoseconds(UInt64(max(0, instant.micros)) * 1_000)
    }
}
