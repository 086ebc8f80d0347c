import CanopyAudio
import CanopyCore
import CanopyStream
import NIOCore

/// A listener's application: estimates the source's clock offset, plays every frame at
/// `t_gen + playout delay` (FEC from the next frame or concealment when it is missing),
/// writes what it played to the sink and keeps the listener's statistics.
///
/// `@unchecked Sendable`: created off the loop, then used only on its node's event loop
/// (the driver calls it there; `start`, `report` and `finish` are called there too).
/// The decoder and sink it owns are never touched from anywhere else.
public final class ListenerPlayout: NodeApplication, @unchecked Sendable {
    public let info: StreamInfo
    /// Where clock probes go: the source.
    public let clockPeer: PeerAddress
    /// Each chunk plays this long after the source generated it.
    public let delay: TimeSpan
    private let framesPerChunk: Int64
    private let frameDuration: TimeSpan
    private var buffer: PlayoutBuffer
    private var clock = ClockOffsetEstimator()
    private var delays = DelaySamples()
    private var gaps = PlayoutGaps()
    private let decoder: OpusDecoder
    private var sink: (any AudioSink)?
    private var early: [Chunk] = []
    private var chunksReceived = 0
    private var decodeErrors = 0
    private var sinkError: String?
    private var node: NodeDriver?
    private var tick: (at: Instant, task: Scheduled<Void>)?
    private var probeTask: Scheduled<Void>?
    private var probesSent = 0
    private var pcm: [Int16] = []

    static let maxEarlyChunks = 256
    static let initialProbes = 5

    public init(info: StreamInfo, clockPeer: PeerAddress, delay: TimeSpan, sink: (any AudioSink)?) throws {
        self.info = info
        self.clockPeer = clockPeer
        frameDuration = .milliseconds(Int64(AudioFormat.frameMilliseconds))
        framesPerChunk = max(1, Int64(info.chunkMicros) / frameDuration.micros)
        self.delay = delay
        buffer = PlayoutBuffer(delay: delay, frameDuration: frameDuration)
        decoder = try OpusDecoder()
        self.sink = sink
    }

    /// Starts clock probing. Loop only.
    public func start(node: NodeDriver) {
        node.eventLoop.preconditionInEventLoop()
        self.node = node
        probe()
    }

    // MARK: NodeApplication

    public func node(_ node: NodeDriver, delivered chunk: Chunk, now: Instant) {
        chunksReceived += 1
        delays.add(receivedAt: now.micros, generatedAt: chunk.generatedAt)
        guard clock.offset != nil else {
            if early.count < Self.maxEarlyChunks { early.append(chunk) }
            return
        }
        enqueue(chunk, now: now)
        scheduleTick(now: now)
    }

    public func node(_ node: NodeDriver, clockReplyFrom from: PeerAddress, probeSentAt: Int64, answeredAt: Int64, now: Instant) {
        guard from == clockPeer, clock.add(probeSentAt: probeSentAt, answeredAt: answeredAt, receivedAt: now.micros) else { return }
        guard !early.isEmpty else { return }
        let held = early.sorted { $0.sequence < $1.sequence }
        early.removeAll()
        for chunk in held { enqueue(chunk, now: now) }
        scheduleTick(now: now)
    }

    // MARK: Playout

    private func enqueue(_ chunk: Chunk, now: Instant) {
        guard let generated = clock.localTime(ofRemote: chunk.generatedAt),
              let packets = ChunkPayload.unpack(chunk.payload), !packets.isEmpty else { return }
        buffer.insert(firstFrame: Int64(chunk.sequence) * framesPerChunk, generatedAt: generated, packets: packets, now: now)
    }

    private func scheduleTick(now: Instant) {
        guard let node, let due = buffer.nextDeadline else { return }
        if let tick, tick.at <= due { return }
        tick?.task.cancel()
        let task = node.eventLoop.scheduleTask(deadline: MonotonicClock.deadline(due)) { self.playDue() }
        tick = (due, task)
    }

    private func playDue() {
        tick = nil
        let now = MonotonicClock.now()
        while let step = buffer.popDue(now: now) { play(step) }
        scheduleTick(now: now)
    }

    private func play(_ step: PlayoutBuffer.Step) {
        var packet: [UInt8]?
        do {
            switch step {
            case .play(let frame, let received):
                gaps.record(frame: frame, received: true)
                try decoder.decode(received, into: &pcm)
                packet = received
            case .fec(let frame, let next):
                gaps.record(frame: frame, received: false)
                try decoder.decodeFEC(next, into: &pcm)
            case .conceal(let frame):
                gaps.record(frame: frame, received: false)
                try decoder.conceal(into: &pcm)
            }
        } catch {
            decodeErrors += 1
            packet = nil
            if (try? decoder.conceal(into: &pcm)) == nil { pcm = [Int16](repeating: 0, count: AudioFormat.samplesPerFrame) }
        }
        guard sink != nil else { return }
        do {
            try sink!.write(frame: PlayoutFrame(pcm: pcm, packet: packet))
        } catch {
            sinkError = "\(error)"
            sink = nil
        }
    }

    private func probe() {
        guard let node else { return }
        let now = MonotonicClock.now()
        clock.probeSent(at: now.micros)
        node.send(.stream(.clockProbe(sentAt: now.micros)), to: clockPeer)
        probesSent += 1
        let pause: Int64 = probesSent < Self.initialProbes ? 20 : 1_000
        probeTask = node.eventLoop.scheduleTask(in: .milliseconds(pause)) { self.probe() }
    }

    // MARK: Reporting

    /// The listener's figures so far. Loop only.
    public func report() -> ListenerReport {
        let offset = clock.offset
        let quantiles = offset.flatMap { delays.quantiles([0.5, 0.99], offset: $0) }
        return ListenerReport(chunksReceived: chunksReceived, playoutDelay: delay, frameDuration: frameDuration,
                              playout: buffer.counters, gaps: gaps,
                              delayP50: quantiles?[0], delayP99: quantiles?[1], clockOffset: offset,
                              clockRoundTrip: clock.bestRoundTrip, decodeErrors: decodeErrors, sinkError: sinkError)
    }

    /// Stops playing and completes the output file (sizes, end-of-stream). Loop only.
    public func finish() -> ListenerReport {
        tick?.task.cancel()
        tick = nil
        probeTask?.cancel()
        probeTask = nil
        node = nil
        if sink != nil {
            do { try sink!.finish() } catch { sinkError = "\(error)" }
            sink = nil
        }
        return report()
    }
}

/// One listener's figures, as the demo table and `canopy listen` print them.
public struct ListenerReport: Sendable {
    public var chunksReceived: Int
    /// The delay this listener plays at: its `--playout-delay`, or its mode's default.
    public var playoutDelay: TimeSpan
    public var frameDuration: TimeSpan
    public var playout: PlayoutBuffer.Counters
    public var gaps: PlayoutGaps
    /// `t_recv − t_gen`, corrected by the estimated clock offset.
    public var delayP50: TimeSpan?
    public var delayP99: TimeSpan?
    /// Source clock minus listener clock, as estimated.
    public var clockOffset: TimeSpan?
    public var clockRoundTrip: TimeSpan?
    public var decodeErrors: Int
    /// Set when writing the output failed (the listener kept playing without it).
    public var sinkError: String?
    /// The node's counters (rejected datagrams by reason...), filled in by the session.
    public var node = NodeCounters()

    /// The longest run of frames not played as received, as audio time.
    public var longestGap: TimeSpan { frameDuration * gaps.longest }
}
