/// Who was present when, what they played and what they sent: everything the stream
/// metrics of DESIGN.md are computed from. A simulation is one; so is a run on real
/// loopback UDP (`MeasuredStream`), and both reports compute their metrics from it, so
/// `--real` reports the same metrics with the same meaning. Times are µs from the start of the run.
protocol PlayoutLedger {
    var ledgerNodeCount: Int { get }
    /// Per node; `.max` for a node that never joined.
    var ledgerJoinTime: [Int64] { get }
    /// Per node; `.max` for a node present to the end.
    var ledgerDepartTime: [Int64] { get }
    var ledgerCapacityKbps: [Double] { get }
    var ledgerUploadedBytes: [Int64] { get }
    var ledgerPlayout: PlayoutLog { get }
    var ledgerStreamStart: Int64 { get }
    var ledgerRunEnd: Int64 { get }
    var ledgerChunkMicros: Int64 { get }
}

extension Simulation: PlayoutLedger {
    var ledgerNodeCount: Int { nodeCount }
    var ledgerJoinTime: [Int64] { joinTime }
    var ledgerDepartTime: [Int64] { departTime }
    var ledgerCapacityKbps: [Double] { capacityKbps }
    var ledgerUploadedBytes: [Int64] { uploadedBytes }
    var ledgerPlayout: PlayoutLog { playout }
    var ledgerStreamStart: Int64 { streamStart.micros }
    var ledgerRunEnd: Int64 { runEnd.micros }
    var ledgerChunkMicros: Int64 { chunkMicros }
}
