import CanopyCore
import CanopyMesh
import CanopyStream
import NIOCore
import NIOPosix

/// One mode of `canopy bench push-vs-pull --real`: a source and N listeners in this
/// process, each on its own loopback UDP socket behind an upload pacer set to its drawn
/// capacity, running the same cores as `canopy source`/`listen` (`StreamModes`).
///
/// All nodes share one monotonic clock, so a delivery's delay is simply its local receive
/// time minus the chunk's generation time: no clock-offset estimate is involved. The
/// source publishes synthetic chunks of the scenario's size (not Opus), so the bytes on
/// the wire match what the simulator models for the same scenario.
public enum LoopbackBench {
    /// What to run. Node 0 is the source, nodes 1... the listeners.
    public struct Plan: Sendable {
        public var mode: StreamMode
        public var scheduler: MeshScheduler
        /// Upload capacity per node (kbit/s); a listener with 0 forwards no data.
        public var uploadKbps: [Double]
        /// Pacer rate for the control traffic of a node whose capacity is 0.
        public var controlFloorKbps: Double
        /// When each node joins, seconds from the start (the source's entry is ignored: it starts first).
        public var joinSeconds: [Double]
        /// Per node, the node it joins through (0: the source).
        public var bootstrap: [Int]
        /// The source starts streaming at `joinOverSeconds` and stops `streamSeconds` later, when the run ends.
        public var joinOverSeconds: Double
        public var streamSeconds: Double
        public var bitrateKbps: Double
        public var chunkMilliseconds: Double
        /// Listeners that crash (fall silent and close their socket, no goodbye), and when.
        public var crashes: [(atSeconds: Double, nodes: [Int])]

        public init(mode: StreamMode, scheduler: MeshScheduler, uploadKbps: [Double], controlFloorKbps: Double,
                    joinSeconds: [Double], bootstrap: [Int], joinOverSeconds: Double, streamSeconds: Double, bitrateKbps: Double,
                    chunkMilliseconds: Double, crashes: [(atSeconds: Double, nodes: [Int])]) {
            self.mode = mode
            self.scheduler = scheduler
            self.uploadKbps = uploadKbps
            self.controlFloorKbps = controlFloorKbps
            self.joinSeconds = joinSeconds
            self.bootstrap = bootstrap
            self.joinOverSeconds = joinOverSeconds
            self.streamSeconds = streamSeconds
            self.bitrateKbps = bitrateKbps
            self.chunkMilliseconds = chunkMilliseconds
            self.crashes = crashes
        }

        var chunkCount: Int { Int((streamSeconds * 1000 / chunkMilliseconds).rounded(.down)) }
        var payloadBytes: Int { Int((bitrateKbps * chunkMilliseconds / 8).rounded()) }
    }

    /// What was measured; times are µs from the start of the run.
    public struct Record: Sendable {
        public var joinedAt: [Int64]
        /// `Int64.max` for a node present to the end.
        public var departedAt: [Int64]
        /// Per node, what it received (times relative to the start of the run).
        public var deliveries: [[ChunkReception]]
        /// When each chunk was published.
        public var publishedAt: [Int64]
        /// Bytes each node's socket sent (after its pacer).
        public var uploadedBytes: [Int64]
        public var traffic = TrafficCounters()
        public var runMicros: Int64
        public var streamStartMicros: Int64
    }

    /// Runs `plan` in real time; `progress(elapsed, total)` is called about twice a second.
    public static func run(_ plan: Plan, progress: (@Sendable (Double, Double) -> Void)? = nil) async throws -> Record {
        let nodeCount = plan.uploadKbps.count
        precondition(nodeCount >= 2 && plan.joinSeconds.count == nodeCount && plan.bootstrap.count == nodeCount && plan.chunkCount > 0)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let loopback = PeerAddress(host: 0x7F00_0001, port: 0)
        let tallies = (0..<nodeCount).map { _ in NodeTally() }
        var drivers: [NodeDriver?] = Array(repeating: nil, count: nodeCount)
        func pace(_ node: Int) -> Int {
            Int(max(plan.uploadKbps[node], plan.controlFloorKbps) * 1000 / 8)
        }
        do {
            let key = SourceKey()
            let template = StreamInfo(streamID: key.streamID, publicKey: ByteBuffer(bytes: key.publicKeyBytes), mode: plan.mode,
                                      modeParameter: StreamModes.parameter(for: plan.mode, scheduler: plan.scheduler),
                                      chunkMicros: UInt32(plan.chunkMilliseconds * 1000),
                                      bitrateKbps: UInt16(clamping: Int(plan.bitrateKbps.rounded())), preSkip: 0,
                                      source: NodeRef(id: key.streamID, address: loopback))
            let source = try await NodeDriver.start(
                on: group, configuration: NodeConfiguration(bind: loopback, nodeID: key.streamID, uploadBytesPerSecond: pace(0)),
                makeCore: { [tally = tallies[0], upload = plan.uploadKbps[0]] identity in
                    var info = template
                    info.source = identity
                    return MeteredCore(inner: StreamModes.sourceCore(info: info, identity: identity, uploadKbps: upload), tally: tally)
                })
            drivers[0] = source
            var info = template
            info.source = source.identity
            source.command(.join(bootstrap: nil))
            let start = MonotonicClock.now()
            let total = plan.joinOverSeconds + plan.streamSeconds
            let publisher = Publisher(node: source, key: key, start: start + .seconds(plan.joinOverSeconds),
                                      chunk: TimeSpan(micros: Int64(plan.chunkMilliseconds * 1000)),
                                      count: plan.chunkCount, frame: [UInt8](repeating: 0, count: max(0, plan.payloadBytes - 2)))
            try await source.eventLoop.submit { publisher.scheduleNext() }.get()

            var joinedAt = [Int64](repeating: 0, count: nodeCount)
            var departedAt = [Int64](repeating: .max, count: nodeCount)
            let order = (1..<nodeCount).sorted { (plan.joinSeconds[$0], $0) < (plan.joinSeconds[$1], $1) }
            for node in order {
                try await sleep(until: start + .seconds(plan.joinSeconds[node]), start: start, total: total, progress: progress)
                let listenerInfo = info
                let driver = try await NodeDriver.start(
                    on: group, configuration: NodeConfiguration(bind: loopback, uploadBytesPerSecond: pace(node)),
                    makeCore: { [tally = tallies[node], upload = plan.uploadKbps[node]] identity in
                        MeteredCore(inner: StreamModes.listenerCore(info: listenerInfo, identity: identity, uploadKbps: upload),
                                    tally: tally)
                    })
                drivers[node] = driver
                joinedAt[node] = (MonotonicClock.now() - start).micros
                driver.command(.join(bootstrap: (drivers[plan.bootstrap[node]] ?? source).localAddress))
            }
            for crash in plan.crashes.sorted(by: { $0.atSeconds < $1.atSeconds }) {
                try await sleep(until: start + .seconds(crash.atSeconds), start: start, total: total, progress: progress)
                for node in crash.nodes where departedAt[node] == .max {
                    guard let driver = drivers[node] else { continue }
                    try await silence(driver, tallies[node])
                    departedAt[node] = (MonotonicClock.now() - start).micros
                    await driver.close()
                }
            }
            try await sleep(until: start + .seconds(total), start: start, total: total, progress: progress)
            // The run ends here, as a simulation does: nobody says goodbye.
            for node in 0..<nodeCount { if let driver = drivers[node] { try await silence(driver, tallies[node]) } }

            var record = Record(joinedAt: joinedAt, departedAt: departedAt, deliveries: [], publishedAt: [],
                                uploadedBytes: [], runMicros: (MonotonicClock.now() - start).micros,
                                streamStartMicros: TimeSpan.seconds(plan.joinOverSeconds).micros)
            record.publishedAt = try await source.eventLoop.submit { publisher.publishedAt.map { $0 - start.micros } }.get()
            for node in 0..<nodeCount {
                guard let driver = drivers[node] else {
                    record.deliveries.append([])
                    record.uploadedBytes.append(0)
                    continue
                }
                let counters = try await driver.counters()
                // Every node is silenced: its core no longer writes the tally, so it can be read here.
                let tally = tallies[node]
                let deliveries = try await driver.eventLoop.submit {
                    tally.deliveries.map {
                        ChunkReception(sequence: $0.sequence, generatedAt: $0.generatedAt - start.micros,
                                       receivedAt: $0.receivedAt - start.micros)
                    }
                }.get()
                record.deliveries.append(deliveries)
                record.uploadedBytes.append(Int64(counters.bytesOut))
                record.traffic.pacerDropped += counters.pacerDropped
                record.traffic.rejected += counters.rejectedTotal
                record.traffic += tally.traffic
            }
            for driver in drivers.compactMap({ $0 }) { await driver.close() }
            try await group.shutdownGracefully()
            return record
        } catch {
            for driver in drivers.compactMap({ $0 }) { await driver.close() }
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Makes a node deaf and mute from now on.
    private static func silence(_ driver: NodeDriver, _ tally: NodeTally) async throws {
        try await driver.eventLoop.submit { tally.silenced = true }.get()
    }

    private static func sleep(until deadline: Instant, start: Instant, total: Double,
                              progress: (@Sendable (Double, Double) -> Void)?) async throws {
        while true {
            let now = MonotonicClock.now()
            progress?((now - start).seconds, total)
            guard now < deadline else { return }
            try await Task.sleep(nanoseconds: UInt64(min(500_000, (deadline - now).micros)) * 1_000)
        }
    }
}

/// Publishes the stream on the source's loop, one signed chunk per chunk duration, each
/// at its due time (not after the previous one, so the rate does not drift).
///
/// `@unchecked Sendable`: used only on the source's event loop.
private final class Publisher: @unchecked Sendable {
    let node: NodeDriver
    let start: Instant
    let chunk: TimeSpan
    let count: Int
    let frame: [UInt8]
    var chunker: LiveChunker
    var publishedAt: [Int64] = []

    init(node: NodeDriver, key: SourceKey, start: Instant, chunk: TimeSpan, count: Int, frame: [UInt8]) {
        self.node = node
        self.start = start
        self.chunk = chunk
        self.count = count
        self.frame = frame
        chunker = LiveChunker(key: key, framesPerChunk: 1)
    }

    func scheduleNext() {
        guard publishedAt.count < count else { return }
        let due = start + chunk * Int64(publishedAt.count)
        node.eventLoop.scheduleTask(deadline: MonotonicClock.deadline(due)) { self.publish() }
    }

    private func publish() {
        let now = MonotonicClock.now()
        publishedAt.append(now.micros)
        // Signing a fixed-size frame cannot fail; if it ever did, the chunk would simply be missing.
        if let chunk = try? chunker.add(frame: frame, now: now.micros) { node.command(.publish(chunk)) }
        scheduleNext()
    }
}
