import CanopyCore
import NIOCore
import NIOPosix

/// Runs one protocol core — any mode — on one UDP socket in real time.
///
/// The driver decodes each datagram (dropping and counting what does not decode),
/// reassembles fragments, feeds the core with the monotonic clock and a system-seeded
/// RNG, and carries out its effects: sends (fragmented above 1,200 bytes, through the
/// upload pacer), timers (NIO scheduled tasks), deliveries and observations (to the
/// `NodeApplication`). Clock probes are answered here for every mode, so cores need not.
///
/// `@unchecked Sendable`: every mutable member is touched only on `eventLoop` (each
/// entry point hops there first, internal ones assert it), which NIO runs on one thread.
public final class NodeDriver: @unchecked Sendable {
    public let eventLoop: any EventLoop
    /// The address the socket is bound to (the port resolved when 0 was asked for).
    public private(set) var localAddress: PeerAddress
    public private(set) var identity: NodeRef

    private var channel: (any Channel)?
    private var core: (any ProtocolCore)?
    private weak var application: (any NodeApplication)?
    private var rng = SeededRNG.systemSeeded()
    private var counters = NodeCounters()
    private var fragmenter: Fragmenter
    private var nextMessageID: UInt32 = 0
    private var timers: [TimerKey: (generation: UInt64, task: Scheduled<Void>)] = [:]
    private var timerGeneration: UInt64 = 0
    private var pacer: UploadPacer<AddressedEnvelope<ByteBuffer>>?
    private var pacerDrainScheduled = false
    private var pendingFlush = false
    private var closed = false

    private init(eventLoop: any EventLoop, configuration: NodeConfiguration, application: (any NodeApplication)?) {
        self.eventLoop = eventLoop
        self.application = application
        localAddress = configuration.bind
        identity = NodeRef(id: configuration.nodeID, address: configuration.bind)
        fragmenter = Fragmenter(maxPending: configuration.maxPendingReassemblies)
        pacer = configuration.uploadBytesPerSecond.map { UploadPacer(bytesPerSecond: $0) }
    }

    /// Binds a socket on one loop of `group`, builds the core with the node's bound
    /// identity and starts feeding it. The core gets no command yet: send `.join` next.
    /// - Parameter application: held weakly; keep it alive as long as the node runs.
    public static func start(on group: any EventLoopGroup, configuration: NodeConfiguration,
                             application: (any NodeApplication)? = nil,
                             makeCore: @escaping @Sendable (NodeRef) throws -> any ProtocolCore) async throws -> NodeDriver {
        let loop = group.next()
        let driver = NodeDriver(eventLoop: loop, configuration: configuration, application: application)
        let channel = try await DatagramBootstrap(group: loop)
            // No SO_REUSEADDR: on a UDP socket it lets the kernel hand an ephemeral port
            // (port 0) that another live socket already holds, and the older node then
            // silently stops receiving — two overlay nodes behind one address.
            .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)   // ride out bursts; the kernel caps it
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 2_048))
            .channelOption(.maxMessagesPerRead, value: 16)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DatagramHandler(driver: driver))
                }
            }
            .bind(host: configuration.bind.hostString, port: Int(configuration.bind.port))
            .get()
        do {
            try await loop.submit {
                try driver.attach(channel: channel, makeCore: makeCore)
            }.get()
        } catch {
            try? await channel.close()
            throw error
        }
        return driver
    }

    private func attach(channel: any Channel, makeCore: (NodeRef) throws -> any ProtocolCore) throws {
        eventLoop.preconditionInEventLoop()
        self.channel = channel
        if let bound = PeerAddress(channel.localAddress) { localAddress = bound }
        identity = NodeRef(id: identity.id, address: localAddress)
        core = try makeCore(identity)
    }

    // MARK: Entry points (any thread)

    /// Gives the core a local command (join, leave, publish...).
    public func command(_ command: NodeCommand) {
        eventLoop.execute { self.handle(.command(command)) }
    }

    /// A snapshot of the counters.
    public func counters() async throws -> NodeCounters {
        try await eventLoop.submit {
            var snapshot = self.counters
            snapshot.pacerDropped = self.pacer?.droppedDatagrams ?? 0
            return snapshot
        }.get()
    }

    /// Runs `body` on the node's loop with the core, to read mode-specific state.
    public func inspectCore<T: Sendable>(_ body: @escaping @Sendable (any ProtocolCore) -> T) async throws -> T? {
        try await eventLoop.submit { self.core.map(body) }.get()
    }

    /// Tells the core to leave (it may say goodbye), then closes the socket.
    public func close() async {
        let future: EventLoopFuture<Void> = eventLoop.flatSubmit {
            guard !self.closed, let channel = self.channel else { return self.eventLoop.makeSucceededVoidFuture() }
            self.handle(.command(.leave))
            self.drainPacer()
            self.flushIfNeeded()
            self.closed = true
            for (_, timer) in self.timers { timer.task.cancel() }
            self.timers.removeAll()
            return channel.close()
        }
        try? await future.get()
    }

    // MARK: On the loop

    /// Sends an application message (a clock probe...) as this node. Loop only.
    public func send(_ message: Message, to address: PeerAddress) {
        eventLoop.preconditionInEventLoop()
        transmit(message, to: address, now: MonotonicClock.now())
        flushIfNeeded()
    }

    func receive(_ datagram: ByteBuffer, from address: PeerAddress?) {
        eventLoop.preconditionInEventLoop()
        counters.datagramsIn += 1
        counters.bytesIn += datagram.readableBytes
        guard let address, core != nil, !closed else {
            counters.rejected["not_ready", default: 0] += 1
            return
        }
        let now = MonotonicClock.now()
        do {
            let envelope = try Envelope.decode(datagram)
            if case .stream(.fragment(let fragment)) = envelope.message {
                guard let whole = fragmenter.add(fragment, from: address, now: now) else { return }
                counters.messagesReassembled += 1
                dispatch(try Envelope.decode(whole, maxSize: Fragmenter.maxReassembled), from: address, now: now)
            } else {
                dispatch(envelope, from: address, now: now)
            }
        } catch {
            counters.rejected[error.reason, default: 0] += 1
        }
        flushIfNeeded()
    }

    func socketErrorCaught() {
        counters.rejected["socket_error", default: 0] += 1
    }

    private func dispatch(_ envelope: Envelope, from address: PeerAddress, now: Instant) {
        switch envelope.message {
        case .stream(.clockProbe(let sentAt)):
            transmit(.stream(.clockReply(probeSentAt: sentAt, answeredAt: now.micros)), to: address, now: now)
        case .stream(.clockReply(let sentAt, let answeredAt)):
            application?.node(self, clockReplyFrom: address, probeSentAt: sentAt, answeredAt: answeredAt, now: now)
        default:
            handle(.received(envelope.message, from: address, sender: envelope.sender), now: now)
        }
    }

    private func handle(_ event: Event, now: Instant = MonotonicClock.now()) {
        eventLoop.preconditionInEventLoop()
        guard !closed, core != nil else { return }
        var effects = Effects()
        core!.handle(event, now: now, rng: &rng, effects: &effects)
        for effect in effects.items { perform(effect, now: now) }
        flushIfNeeded()
    }

    private func perform(_ effect: Effect, now: Instant) {
        switch effect {
        case .send(let message, let address):
            transmit(message, to: address, now: now)
        case .setTimer(let key, let at):
            timers[key]?.task.cancel()
            timerGeneration += 1
            let generation = timerGeneration
            let task = eventLoop.scheduleTask(deadline: MonotonicClock.deadline(at)) {
                self.timerFired(key, generation: generation)
            }
            timers[key] = (generation, task)
        case .cancelTimer(let key):
            timers.removeValue(forKey: key)?.task.cancel()
        case .deliver(let chunk):
            counters.delivered += 1
            application?.node(self, delivered: chunk, now: now)
        case .observe(let observation):
            counters.count(observation)
            application?.node(self, observed: observation, now: now)
        }
    }

    private func timerFired(_ key: TimerKey, generation: UInt64) {
        guard timers[key]?.generation == generation else { return }
        timers[key] = nil
        fragmenter.expire(now: MonotonicClock.now())
        handle(.timer(key))
    }

    // MARK: Sending

    private func transmit(_ message: Message, to address: PeerAddress, now: Instant) {
        guard !closed else { return }
        if message.isData { counters.chunksSent += 1 }
        let envelope = Envelope(sender: identity.id, message: message)
        nextMessageID &+= 1
        guard let datagrams = Fragmenter.datagrams(for: envelope, messageID: nextMessageID) else {
            counters.rejected["unsendable_oversized", default: 0] += 1
            return
        }
        let remote = address.socketAddress
        for datagram in datagrams {
            let outgoing = AddressedEnvelope(remoteAddress: remote, data: datagram)
            if pacer == nil {
                write(outgoing)
            } else if let ready = pacer!.offer(outgoing, bytes: datagram.readableBytes, now: now) {
                write(ready)
            }
        }
        schedulePacerDrain(now: now)
    }

    private func write(_ envelope: AddressedEnvelope<ByteBuffer>) {
        guard let channel else { return }
        counters.datagramsOut += 1
        counters.bytesOut += envelope.data.readableBytes
        channel.write(envelope, promise: nil)
        pendingFlush = true
    }

    private func flushIfNeeded() {
        guard pendingFlush, let channel else { return }
        pendingFlush = false
        channel.flush()
    }

    private func drainPacer() {
        let now = MonotonicClock.now()
        while let ready = pacer?.popReady(now: now) { write(ready) }
    }

    private func schedulePacerDrain(now: Instant) {
        guard !pacerDrainScheduled, let at = pacer?.nextReadyTime(now: now) else { return }
        pacerDrainScheduled = true
        eventLoop.scheduleTask(deadline: MonotonicClock.deadline(at)) {
            self.pacerDrainScheduled = false
            guard !self.closed else { return }
            self.drainPacer()
            self.flushIfNeeded()
            self.schedulePacerDrain(now: MonotonicClock.now())
        }
    }
}
