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
