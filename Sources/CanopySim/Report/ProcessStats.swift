import Foundation

/// Measurements of the simulator process itself (the `sim` block). Only the driver reads
/// the machine; protocol cores never do.
public enum ProcessStats {
    /// Peak resident memory (VmHWM) in MiB, nil where /proc is not available.
    public static func peakRSSMegabytes() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kb = Double(fields[1]) else { return nil }
            return kb / 1024
        }
        return nil
    }

    /// Monotonic seconds, for wall time.
    public static func monotonicSeconds() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }
}
