import CanopyCore

extension Scenario {
    /// One peer's upload capacity drawn from `upload`. The simulator and the real-UDP bench
    /// both draw through here, so the same seed gives both the same audience.
    public func drawUploadKbps(using rng: inout SeededRNG) -> Double {
        let u = rng.unit()
        var cumulative = 0.0
        for entry in upload {
            cumulative += entry.fraction
            if u < cumulative { return entry.kbps }
        }
        return upload.last!.kbps
    }
}
