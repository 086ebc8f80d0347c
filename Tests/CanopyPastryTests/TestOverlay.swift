import CanopyCore
import NIOCore
@testable import CanopyPastry

/// A small deterministic network for multi-node Pastry tests, independent of the full
/// simulator: nodes on a line (one-way delay = distance + 1 ms), every message encoded
/// and decoded through the real wire format, crashes on demand.
struct TestOverlay<App: KBRApplication> {
    private(set) var nodes: [PastryNode<App>] = []
    private(set) var alive: [Bool] = []
    private var position: [Double] = []
    private(set) var now = Instant.zero
    private var rng: SeededRNG
    private var heap: [Item] = []
    private var counter: UInt64 = 0
    /// Pending timers: the time each (node, key) is due; a popped timer is stale unless it matches.
    private var timers: [TimerSlot: Instant] = [:]
    private(set) var observations: [(node: Int, at: Instant, observation: any Observation)] = []
    /// For each lookup delivery (by tag, first only): was the deliverer the closest live node then?
    private(set) var lookupVerdicts: [UInt64: Bool] = [:]
    private(set) var messagesSent = 0

    private struct TimerSlot: Hashable { var node: Int; var key: TimerKey }
    private enum Action { case message(to: Int, from: Int, bytes: ByteBuffer), timer(Int, TimerKey), command(Int, NodeCommand) }
    private struct Item { var time: Instant; var order: UInt64; var action: Action }

    init(seed: UInt64) {
        rng = SeededRNG(seed: seed)
    }

    /// Adds a node (not yet joined) and returns its index.
    mutating func add(app: App, settings: PastrySettings = PastrySettings()) -> Int {
        let index = nodes.count
        let ref = NodeRef(id: NodeID.random(using: &rng), address: PeerAddress(simulatedNode: index))
        nodes.append(PastryNode(identity: ref, settings: settings, app: app))
        alive.append(true)
        position.append(rng.unit() * 100)
        return index
    }

    func delay(_ a: Int, _ b: Int) -> TimeSpan { .milliseconds(abs(position[a] - position[b]) + 1) }

    mutating func command(_ command: NodeCommand, node: Int, at time: Instant? = nil) {
        push(time ?? now, .command(node, command))
    }

    /// Kills a node silently (no goodbye).
    mutating func crash(_ node: Int) { alive[node] = false }

    var liveIndices: [Int] { alive.indices.filter { alive[$0] } }

    func closestLive(to key: NodeID) -> Int? {
        liveIndices.min { nodes[$0].identity.id.isCloser(to: key, than: nodes[$1].identity.id) }
    }

    mutating func randomLive() -> Int {
        let live = liveIndices
        return live[Int(rng.next() % UInt64(live.count))]
    }

    /// A random live node that has finished joining (lookups from a joining node are refused).
    mutating func randomJoined() -> Int {
        let joined = liveIndices.filter { nodes[$0].pastry.isJoined }
        return joined[Int(rng.next() % UInt64(joined.count))]
    }

    mutating func randomKey() -> NodeID { NodeID.random(using: &rng) }

    /// Runs every event up to and including `time`.
    mutating func run(until time: Instant) {
        while let first = heap.first, first.time <= time {
            let item = pop()
            now = item.time
            switch item.action {
            case .message(let to, let from, let bytes):
                guard alive[to], let envelope = try? Envelope.decode(bytes) else { continue }
                dispatch(to, .received(envelope.message, from: PeerAddress(simulatedNode: from), sender: envelope.sender))
            case .timer(let node, let key):
                guard alive[node], timers[TimerSlot(node: node, key: key)] == item.time else { continue }
                timers[TimerSlot(node: node, key: key)] = nil
                dispatch(node, .timer(key))
            case .command(let node, let command):
                guard alive[node] else { continue }
                dispatch(node, .command(command))
            }
        }
        now = max(now, time)
    }

    mutating func run(for span: TimeSpan) { run(until: now + span) }

    private mutating func dispatch(_ index: Int, _ event: Event) {
        var effects = Effects()
        var nodeRNG = rng.split(UInt64(index))
        nodes[index].handle(event, now: now, rng: &nodeRNG, effects: &effects)
        for effect in effects.items {
            switch effect {
            case .send(let message, let address):
                messagesSent += 1
                let to = address.simulatedIndex
                let bytes = Envelope(sender: nodes[index].identity.id, message: message).encoded()
                push(now + delay(index, to), .message(to: to, from: index, bytes: bytes))
            case .setTimer(let key, let at):
                timers[TimerSlot(node: index, key: key)] = at
                push(at, .timer(index, key))
            case .cancelTimer(let key):
                timers[TimerSlot(node: index, key: key)] = nil
            case .deliver:
                break
            case .observe(let observation):
                observations.append((index, now, observation))
                if let d = observation as? LookupDelivered, lookupVerdicts[d.tag] == nil {
                    lookupVerdicts[d.tag] = closestLive(to: d.key) == index
                }
            }
        }
    }

    // A binary min-heap on (time, order).
    private mutating func push(_ time: Instant, _ action: Action) {
        counter += 1
        heap.append(Item(time: time, order: counter, action: action))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func pop() -> Item {
        let top = heap[0]
        let last = heap.removeLast()
        guard !heap.isEmpty else { return top }
        heap[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count, less(heap[l], heap[m]) { m = l }
            if r < heap.count, less(heap[r], heap[m]) { m = r }
            guard m != i else { return top }
            heap.swapAt(i, m)
            i = m
        }
    }

    private func less(_ a: Item, _ b: Item) -> Bool { a.time != b.time ? a.time < b.time : a.order < b.order }
}

extension TestOverlay {
    /// Builds an overlay of `count` nodes joining one after another through random earlier nodes.
    static func built(count: Int, seed: UInt64, spacing: TimeSpan = .milliseconds(Int64(50)),
                      settings: PastrySettings = PastrySettings(), app: @autoclosure () -> App) -> TestOverlay {
        var net = TestOverlay(seed: seed)
        for i in 0..<count {
            let node = net.add(app: app(), settings: settings)
            let bootstrap: PeerAddress? = i == 0 ? nil : PeerAddress(simulatedNode: Int(net.rng.next() % UInt64(i)))
            net.command(.join(bootstrap: bootstrap), node: node, at: net.now + spacing * Int64(i))
        }
        net.run(for: spacing * Int64(count) + .seconds(30))
        return net
    }

    /// Issues `count` random lookups spaced `spacing` apart and returns the fraction that
    /// reached the live node closest to the key at delivery time (first delivery only).
    mutating func lookupCorrectRatio(count: Int, spacing: TimeSpan = .milliseconds(Int64(20))) -> Double {
        var wanted: [UInt64: NodeID] = [:]
        let firstObservation = observations.count
        for i in 0..<count {
            let tag = UInt64(1_000_000 + i) + UInt64(firstObservation) << 32
            let key = randomKey()
            wanted[tag] = key
            command(.lookup(key: key, tag: tag), node: randomJoined(), at: now + spacing * Int64(i))
        }
        run(for: spacing * Int64(count) + .seconds(20))
        return correctRatio(of: Array(wanted.keys))
    }

    /// Of these lookup tags, the fraction delivered first to the then-closest live node.
    func correctRatio(of tags: [UInt64]) -> Double {
        Double(tags.filter { lookupVerdicts[$0] == true }.count) / Double(max(tags.count, 1))
    }

    /// Fraction of live joined nodes whose leaf set equals the true nearest L/2 per side.
    func leafSetConsistency() -> Double {
        let ring = liveIndices.filter { nodes[$0].pastry.isJoined }.sorted { nodes[$0].identity.id < nodes[$1].identity.id }
        let n = ring.count
        var good = 0
        for (i, index) in ring.enumerated() {
            let leaves = nodes[index].pastry.leafSet
            let width = min(leaves.half, n - 1)
            let right = (0..<width).map { nodes[ring[(i + 1 + $0) % n]].identity.id }
            let left = (0..<width).map { nodes[ring[(i - 1 - $0 + 2 * n) % n]].identity.id }
            if leaves.right.map(\.id) == right && leaves.left.map(\.id) == left { good += 1 }
        }
        return Double(good) / Double(max(n, 1))
    }

    func lookups() -> [LookupDelivered] { observations.compactMap { $0.observation as? LookupDelivered } }
}
