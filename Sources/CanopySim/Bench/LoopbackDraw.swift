import CanopyCore

/// The random parts of a `--real` run, drawn from the scenario and its seed as the
/// simulator draws them: each peer's upload from the scenario's distribution, join times
/// spread over `join.over_s`, and which peers crash in a mass failure. Every mode gets the
/// same draw, so the modes differ in nothing else.
public struct LoopbackDraw: Sendable {
    /// Per node, the source first (kbit/s).
    public var uploadKbps: [Double]
    /// Per node, seconds from the start (the source's is 0).
    public var joinSeconds: [Double]
    /// Per node, an earlier joiner (or the source, 0) to join through: how the simulator
    /// bootstraps mesh peers. Direct and tree peers join through the source, there and here.
    public var peerBootstrap: [Int]
    /// Mass crashes: when, and which nodes.
    public var crashes: [(atSeconds: Double, nodes: [Int])]

    /// Fails for churn the real bench does not model (steady sessions, leaves, joins).
    public init(scenario: Scenario) throws {
        var master = SeededRNG(seed: scenario.seed)
        var uploads = master.split(3), joins = master.split(7), churn = master.split(5)
        let peers = scenario.nodes - 1
        uploadKbps = [scenario.sourceUploadKbps] + (0..<peers).map { _ in scenario.drawUploadKbps(using: &uploads) }
        let joinAt = [0] + (0..<peers).map { _ in joins.unit() * scenario.joinOverSeconds }
        joinSeconds = joinAt
        let order = (1..<scenario.nodes).sorted { (joinAt[$0], $0) < (joinAt[$1], $1) }
        var bootstrap = [Int](repeating: 0, count: scenario.nodes)
        var bootstraps = master.split(9)
        for (rank, node) in order.enumerated() {
            let pick = Int(bootstraps.next() % UInt64(rank + 1))
            bootstrap[node] = pick == 0 ? 0 : order[pick - 1]
        }
        peerBootstrap = bootstrap
        crashes = []
        var alive = Array(1...peers)
        for event in scenario.churn {
            guard case .crash(let at, let fraction) = event else {
                throw ScenarioError("the real bench supports mass crashes only (--churn none or mass), not \(event)")
            }
            var victims: [Int] = []
            for _ in 0..<Int((fraction * Double(alive.count)).rounded()) {
                victims.append(alive.remove(at: Int(churn.next() % UInt64(alive.count))))
            }
            crashes.append((at, victims.sorted()))
        }
    }
}
