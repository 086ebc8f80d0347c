/// The per-node stream metrics of DESIGN.md, computed once at the end of a run from the
/// playout log: continuity and gapless share per playout delay, D99, startup delay,
/// delivery ratio, upload utilisation and the timeline's continuity.
///
/// Decisions (documented in the README): a node starts playing at its first delivered
/// chunk; its due chunks at delay D are those from that one on whose deadline t_gen + D
/// falls before it departs or the run ends. A node that never played anything owes every
/// chunk generated after it joined, so silent failures count. Continuity is pooled over
/// all (node, due chunk) pairs of the listeners.
struct StreamAnalysis {
    var continuity: [Double?] = []
    var gapless: [Double?] = []
    var d99p50: Double?, d99p90: Double?
    var startupP50: Double?, startupP90: Double?
    var deliveryRatio: Double?
    /// Continuity per playout delay (in the scenario's order) for chunks generated in each
    /// bucket: a figure that misses its target shows here whether it is the forest or mesh
    /// forming, a failure, or the steady state.
    var bucketContinuityByDelay: [[Double?]] = []
    /// Continuity at the largest playout delay for chunks generated in each bucket.
    var bucketContinuity: [Double?] { bucketContinuityByDelay.map { $0.last ?? nil } }
}

extension PlayoutLedger {
    /// One definition for the simulator's report and the real-UDP bench's, so their numbers
    /// mean the same.
    func analyse(playoutDelaysSeconds: [Double]) -> StreamAnalysis {
        var result = StreamAnalysis()
        let delaysMs = playoutDelaysSeconds.map { Int64(($0 * 1000).rounded()) }
        let last = delaysMs.count - 1
        let playout = ledgerPlayout, joinTime = ledgerJoinTime, departTime = ledgerDepartTime
        let chunkMicros = ledgerChunkMicros, chunkCount = Int64(playout.chunkCount)
        let start = ledgerStreamStart, end = ledgerRunEnd
        let buckets = Simulation.bucketCount(untilMicros: end)
        func bucket(of sequence: Int64) -> Int {
            min(buckets - 1, max(0, Int((start + sequence * chunkMicros) / Simulation.bucketMicros)))
        }
        var due = [Int](repeating: 0, count: delaysMs.count), onTime = due
        var gaplessNodes = due, presentNodes = due
        var bucketDue = [[Int]](repeating: [Int](repeating: 0, count: delaysMs.count), count: buckets)
        var bucketOnTime = bucketDue
        var d99: [Double] = [], startup: [Double] = []
        var nodeDue = due, nodeOnTime = due, lastDue = [Int64](repeating: 0, count: delaysMs.count)
        var scratch: [UInt16] = []
        var fullStreamOwed = 0, fullStreamPlayed = 0

        for node in 1..<ledgerNodeCount where joinTime[node] != .max {
            let leaves = min(departTime[node], end)
            for j in delaysMs.indices {
                let deadline = leaves - delaysMs[j] * 1000 - start
                lastDue[j] = deadline < 0 ? -1 : min(chunkCount - 1, deadline / chunkMicros)
            }
            for j in delaysMs.indices { nodeDue[j] = 0; nodeOnTime[j] = 0 }
            scratch.removeAll(keepingCapacity: true)
            let first = playout.firstSequence[node]
            if first == .max {
                let joinedAfter = max(0, joinTime[node] - start)
                let startSequence = (joinedAfter + chunkMicros - 1) / chunkMicros
                for j in delaysMs.indices { nodeDue[j] = Int(max(0, lastDue[j] - startSequence + 1)) }
                if lastDue[0] >= startSequence {
                    for sequence in startSequence...lastDue[0] {
                        let b = bucket(of: sequence)
                        for j in delaysMs.indices where sequence <= lastDue[j] { bucketDue[b][j] += 1 }
                    }
                }
                if nodeDue[last] > 0 {
                    d99.append(.infinity)
                    startup.append(.infinity)
                }
            } else {
                let played = playout.delays[node]
                if lastDue[0] >= Int64(first) {
                    for sequence in Int64(first)...lastDue[0] {
                        let delay = played[Int(sequence - Int64(first))]
                        let heard = delay != PlayoutLog.missing
                        let b = bucket(of: sequence)
                        for j in delaysMs.indices where sequence <= lastDue[j] {
                            nodeDue[j] += 1
                            bucketDue[b][j] += 1
                            if heard, Int64(delay) < delaysMs[j] {
                                nodeOnTime[j] += 1
                                bucketOnTime[b][j] += 1
                            }
                        }
                        if sequence <= lastDue[last] { scratch.append(delay) }
                    }
                }
                startup.append(Double(playout.firstPlayedAt[node] - max(joinTime[node], start)) / 1000)
                if !scratch.isEmpty {
                    scratch.sort()
                    let rank = Int((0.99 * Double(scratch.count)).rounded(.up)) - 1
                    let value = scratch[max(0, rank)]
                    d99.append(value >= PlayoutLog.saturated ? .infinity : Double(value) + 1)
                }
            }
            for j in delaysMs.indices {
                due[j] += nodeDue[j]
                onTime[j] += nodeOnTime[j]
                if departTime[node] == .max, nodeDue[j] > 0 {
                    presentNodes[j] += 1
                    if nodeOnTime[j] == nodeDue[j] { gaplessNodes[j] += 1 }
                }
            }
            // Delivery counts the chunks whose last deadline passed before the end: one
            // generated a moment before the end could not have arrived yet.
            if joinTime[node] <= start, departTime[node] == .max, lastDue[last] >= 0 {
                fullStreamOwed += Int(lastDue[last]) + 1
                fullStreamPlayed += scratch.lazy.filter { $0 != PlayoutLog.missing }.count
            }
        }

        result.continuity = delaysMs.indices.map { due[$0] > 0 ? Double(onTime[$0]) / Double(due[$0]) : nil }
        result.gapless = delaysMs.indices.map { presentNodes[$0] > 0 ? Double(gaplessNodes[$0]) / Double(presentNodes[$0]) : nil }
        result.bucketContinuityByDelay = bucketDue.indices.map { b in
            delaysMs.indices.map { bucketDue[b][$0] > 0 ? Double(bucketOnTime[b][$0]) / Double(bucketDue[b][$0]) : nil }
        }
        d99.sort()
        startup.sort()
        result.d99p50 = percentile(d99, 0.5)
        result.d99p90 = percentile(d99, 0.9)
        result.startupP50 = percentile(startup, 0.5)
        result.startupP90 = percentile(startup, 0.9)
        if fullStreamOwed > 0 { result.deliveryRatio = Double(fullStreamPlayed) / Double(fullStreamOwed) }
        return result
    }

    /// Bytes uploaded / (capacity × time present), over listeners with a capacity.
    func uploadUtilisation() -> (mean: Double?, max: Double?) {
        var sum = 0.0, peak = 0.0, count = 0
        let joinTime = ledgerJoinTime, departTime = ledgerDepartTime
        let capacityKbps = ledgerCapacityKbps, uploadedBytes = ledgerUploadedBytes
        for node in 1..<ledgerNodeCount where joinTime[node] != .max && capacityKbps[node] > 0 {
            let present = Double(min(departTime[node], ledgerRunEnd) - joinTime[node]) / 1e6
            guard present > 0 else { continue }
            let utilisation = Double(uploadedBytes[node]) * 8 / (capacityKbps[node] * 1000 * present)
            sum += utilisation
            peak = max(peak, utilisation)
            count += 1
        }
        return count > 0 ? (sum / Double(count), peak) : (nil, nil)
    }

    /// Nodes live at the end of each timeline bucket.
    func liveAtBucketEnds() -> [Int] {
        let joinTime = ledgerJoinTime, departTime = ledgerDepartTime
        return (0..<Simulation.bucketCount(untilMicros: ledgerRunEnd)).map { b in
            let t = min(Int64(b + 1) * Simulation.bucketMicros, ledgerRunEnd)
            var live = 0
            for node in 0..<ledgerNodeCount where joinTime[node] <= t && departTime[node] > t { live += 1 }
            return live
        }
    }
}

/// The value at or below which `p` of the sorted values lie; nil if there are none or it
/// is infinite (a node that never reached the target).
func percentile(_ sorted: [Double], _ p: Double) -> Double? {
    guard !sorted.isEmpty else { return nil }
    let value = sorted[max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1)]
    return value.isFinite ? value : nil
}
