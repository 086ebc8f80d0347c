extension PlayoutLog {
    /// The report's `delay_ms` block, shared by `canopy sim` and the real-UDP bench so the
    /// two cannot drift apart.
    var delayReport: JSONValue {
        let played = delayCount > 0
        return .object([
            ("mean", played ? .number(delaySumMicros / Double(delayCount) / 1000) : .null),
            ("p50", .number(delayPercentile(0.5))),
            ("p90", .number(delayPercentile(0.9))),
            ("p99", .number(delayPercentile(0.99))),
            ("max", played ? .number(Double(delayMaxMicros) / 1000) : .null),
        ])
    }
}
