/// Who was present when and what they played: everything the stream metrics of
/// DESIGN.md are computed from. A simulation is one; so is a run on real loopback UDP
/// (`MeasuredStream`), which is how `--real` reports the same metrics with the same
/// meaning. Times are µs from the start of the run.
protocol PlayoutLedger {
    var ledgerNodeCount: Int { get }
    /// Per node; `.max` for a node that never joined.
    var ledgerJoinTime: [Int64] { get }
    /// Per node; `.max` for a node present to the end.
    var ledgerDepartTime: [Int64] { get }
    var ledgerPlayout: PlayoutLog { get }
    var ledgerStreamStart: Int64 { get }
    var ledgerRunEnd: Int64 { get }
    var ledgerChunkMicros: Int64 { get }
}

extension Simulation: PlayoutLedger {
    var ledgerNodeCount: Int { nodeCount }
    var ledgerJoinTime: [Int64] { joinTime }
    var ledgerDepartTime: [Int64] { departTime }
    var ledgerPlayout: PlayoutLog { playout }
    var ledgerStreamStart: Int64 { streamStart.micros }
    var ledgerRunEnd: Int64 { runEnd.micros }
    var ledgerChunkMicros: Int64 { chunkMicros }
}

extension PlayoutLedger {
    /// For each second of the run (by when chunks were generated), the fraction of the
    /// chunks due at the survivors — listeners present to the end — that arrived within
    /// `delayMs` of generation: the dip and recovery around a failure, free of the nodes
    /// that died in it. Nil for a second with nothing due.
    ///
    /// A survivor owes the chunks from the first one it played (from its join if it never
    /// played), as in the continuity index; a chunk is due if its deadline falls before the end.
    func continuityPerSecond(delayMs: Int64) -> [Double?] {
        let playout = ledgerPlayout
        let start = ledgerStreamStart, end = ledgerRunEnd, chunk = ledgerChunkMicros
        let seconds = Int((end + 999_999) / 1_000_000)
        var due = [Int](repeating: 0, count: seconds), onTime = due
        let lastDue = min(Int64(playout.chunkCount) - 1, (end - delayMs * 1000 - start) / chunk)
        guard lastDue >= 0 else { return Array(repeating: nil, count: seconds) }
        for node in 1..<ledgerNodeCount where ledgerJoinTime[node] != .max && ledgerDepartTime[node] == .max {
            let first = playout.firstSequence[node]
            let from = first == .max ? (max(0, ledgerJoinTime[node] - start) + chunk - 1) / chunk : Int64(first)
            guard from <= lastDue else { continue }
            for sequence in from...lastDue {
                let second = Int((start + sequence * chunk) / 1_000_000)
                due[second] += 1
                guard first != .max else { continue }
                let delay = playout.delays[node][Int(sequence - Int64(first))]
                if delay != PlayoutLog.missing, Int64(delay) < delayMs { onTime[second] += 1 }
            }
        }
        return due.indices.map { due[$0] > 0 ? Double(onTime[$0]) / Double(due[$0]) : nil }
    }
}

extension PlayoutLedger {
    /// The stream metrics of the report (continuity, gapless share, D99, startup,
    /// delivery ratio, 10-second timeline), with `Simulation.analyseStream`'s definitions,
    /// for a ledger that is not a simulation. `BenchTests` checks the two agree on
    /// simulated runs.
    func analyse(playoutDelaysSeconds: [Double]) -> StreamAnalysis {
        let playout = ledgerPlayout
        let delaysMs = playoutDelaysSeconds.map { Int64(($0 * 1000).rounded()) }
        let last = delaysMs.count - 1
        let chunk = ledgerChunkMicros, chunkCount = Int64(playout.chunkCount)
        let start = ledgerStreamStart, end = ledgerRunEnd
        let bucketMicros = Simulation.bucketMicros
        let buckets = max(1, Int((end + bucketMicros - 1) / bucketMicros))
        func bucket(_ sequence: Int64) -> Int { min(buckets - 1, Int((start + sequence * chunk) / bucketMicros)) }
        var due = [Int](repeating: 0, count: delaysMs.count), onTime = due, gaplessNodes = due, presentNodes = due
        var bucketDue = [Int](repeating: 0, count: buckets), bucketOnTime = bucketDue
        var d99: [Double] = [], startup: [Double] = []
        var owed = 0, played = 0

        for node in 1..<ledgerNodeCount where ledgerJoinTime[node] != .max {
            let departs = ledgerDepartTime[node]
            let lastDue = delaysMs.map { delay -> Int64 in
                let deadline = min(departs, end) - delay * 1000 - start
                return deadline < 0 ? -1 : min(chunkCount - 1, deadline / chunk)
            }
            var nodeDue = [Int](repeating: 0, count: delaysMs.count), nodeOnTime = nodeDue
            var heardDelays: [UInt16] = []
            let first = playout.firstSequence[node]
            if first == .max {
                let from = (max(0, ledgerJoinTime[node] - start) + chunk - 1) / chunk
                for j in delaysMs.indices { nodeDue[j] = Int(max(0, lastDue[j] - from + 1)) }
                if lastDue[last] >= from { for sequence in from...lastDue[last] { bucketDue[bucket(sequence)] += 1 } }
                if nodeDue[last] > 0 {
                    d99.append(.infinity)
                    startup.append(.infinity)
                }
            } else {
                if lastDue[0] >= Int64(first) {
                    for sequence in Int64(first)...lastDue[0] {
                        let delay = playout.delays[node][Int(sequence - Int64(first))]
                        let heard = delay != PlayoutLog.missing
                        for j in delaysMs.indices where sequence <= lastDue[j] {
                            nodeDue[j] += 1
                            if heard, Int64(delay) < delaysMs[j] { nodeOnTime[j] += 1 }
                        }
                        if sequence <= lastDue[last] {
                            heardDelays.append(delay)
                            bucketDue[bucket(sequence)] += 1
                            if heard, Int64(delay) < delaysMs[last] { bucketOnTime[bucket(sequence)] += 1 }
                        }
                    }
                }
                startup.append(Double(playout.firstPlayedAt[node] - max(ledgerJoinTime[node], start)) / 1000)
                if !heardDelays.isEmpty {
                    heardDelays.sort()
                    let value = heardDelays[max(0, Int((0.99 * Double(heardDelays.count)).rounded(.up)) - 1)]
                    d99.append(value >= PlayoutLog.saturated ? .infinity : Double(value) + 1)
                }
            }
            for j in delaysMs.indices {
                due[j] += nodeDue[j]
                onTime[j] += nodeOnTime[j]
                if departs == .max, nodeDue[j] > 0 {
                    presentNodes[j] += 1
                    if nodeOnTime[j] == nodeDue[j] { gaplessNodes[j] += 1 }
                }
            }
            if ledgerJoinTime[node] <= start, departs == .max, lastDue[last] >= 0 {
                owed += Int(lastDue[last]) + 1
                played += heardDelays.lazy.filter { $0 != PlayoutLog.missing }.count
            }
        }

        var result = StreamAnalysis()
        result.continuity = delaysMs.indices.map { due[$0] > 0 ? Double(onTime[$0]) / Double(due[$0]) : nil }
        result.gapless = delaysMs.indices.map { presentNodes[$0] > 0 ? Double(gaplessNodes[$0]) / Double(presentNodes[$0]) : nil }
        result.bucketContinuity = bucketDue.indices.map { bucketDue[$0] > 0 ? Double(bucketOnTime[$0]) / Double(bucketDue[$0]) : nil }
        d99.sort()
        startup.sort()
        result.d99p50 = percentile(d99, 0.5)
        result.d99p90 = percentile(d99, 0.9)
        result.startupP50 = percentile(startup, 0.5)
        result.startupP90 = percentile(startup, 0.9)
        if owed > 0 { result.deliveryRatio = Double(played) / Double(owed) }
        return result
    }
}
