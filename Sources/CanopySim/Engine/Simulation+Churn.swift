import CanopyCore

/// The churn events of the scenario contract. The source never churns.
extension Simulation {
    func applyChurn(_ event: Scenario.ChurnEvent) {
        switch event {
        case .crash(_, let fraction):
            for node in pickListeners(fraction: fraction) { depart(node, graceful: false) }
        case .leave(_, let fraction):
            for node in pickListeners(fraction: fraction) { depart(node, graceful: true) }
        case .join(_, let count):
            for _ in 0..<count { join(addNode(position: networkPosition(replacing: nil))) }
        case .sessions:
            break
        }
    }

    /// A random `fraction` of the live listeners, chosen with the churn generator.
    private func pickListeners(fraction: Double) -> [Int] {
        var candidates = liveNodes.filter { $0 != 0 }.sorted()
        let count = min(candidates.count, Int((fraction * Double(candidates.count)).rounded()))
        for i in 0..<count {
            let j = i + Int(churnRNG.next() % UInt64(candidates.count - i))
            candidates.swapAt(i, j)
        }
        return Array(candidates.prefix(count))
    }

    /// Steady churn: a listener's session length is exponential with the scenario's mean.
    func scheduleSessionEnd(_ node: Int) {
        guard node != 0, let session = steadySessions else { return }
        let length = TimeSpan.seconds(churnRNG.exponential(mean: session.meanSeconds))
        let end = now + length
        if end <= runEnd { queue.push(.sessionEnd(node: Int32(node)), at: end.micros) }
    }

    /// Ends a session and puts a fresh node (a new index, the same network spot) in its place.
    func endSession(_ node: Int) {
        guard state[node] == .live, let session = steadySessions else { return }
        depart(node, graceful: session.graceful)
        join(addNode(position: networkPosition(replacing: node)))
    }

    private var steadySessions: (meanSeconds: Double, graceful: Bool)? {
        for case .sessions(let mean, let graceful) in scenario.churn { return (mean, graceful) }
        return nil
    }
}
