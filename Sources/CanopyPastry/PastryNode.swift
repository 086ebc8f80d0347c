import CanopyCore

/// A complete overlay node: Pastry plus the application riding on it, as one `ProtocolCore`.
///
/// The node runs the routing steps (they need `forward`/`deliver` upcalls) and hands the
/// application everything that is not Pastry's. Lookups (`NodeCommand.lookup`) are served
/// here for every application, so tree mode reports lookup figures as overlay mode does.
public struct PastryNode<App: KBRApplication>: ProtocolCore, Sendable {
    public private(set) var pastry: Pastry
    public var app: App
    /// Routes the application asked for, carried out after its upcall returned.
    private var queuedRoutes: [(key: NodeID, payload: Message)] = []

    public var identity: NodeRef { pastry.local }

    public init(identity: NodeRef, settings: PastrySettings = PastrySettings(), app: App) {
        self.pastry = Pastry(local: identity, settings: settings, uploadKbps: app.modeledUploadKbps)
        self.app = app
    }

    public mutating func handle(_ event: Event, now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        guard !pastry.hasLeft else { return }
        pastry.clock = now
        switch event {
        case .received(.pastry(.route(let envelope)), let from, let sender?):
            receiveRoute(envelope, from: NodeRef(id: sender, address: from), now: now, rng: &rng, effects: &effects)
        case .received(.pastry(let message), let from, let sender?):
            pastry.handle(message, from: NodeRef(id: sender, address: from), now: now, rng: &rng, effects: &effects)
        case .received(let message, let from, let sender?):
            let ref = NodeRef(id: sender, address: from)
            upcall(now: now, rng: &rng, effects: &effects) { $0.receive(message, from: ref, kbr: &$1) }
        case .received:
            // Short-header messages belong to the mesh; nothing Pastry or its apps send.
            return
        case .timer(let key) where PastryTimers.reservedKinds.contains(key.kind):
            pastry.handleTimer(key, now: now, rng: &rng, effects: &effects)
        case .timer(let key):
            upcall(now: now, rng: &rng, effects: &effects) { $0.timer(key, kbr: &$1) }
        case .command(.join(let bootstrap)):
            pastry.join(bootstrap: bootstrap, now: now, rng: &rng, effects: &effects)
            upcall(now: now, rng: &rng, effects: &effects) { $0.command(.join(bootstrap: bootstrap), kbr: &$1) }
        case .command(.leave):
            upcall(now: now, rng: &rng, effects: &effects) { $0.command(.leave, kbr: &$1) }
            drain(now: now, rng: &rng, effects: &effects)
            pastry.leave(effects: &effects)
            return
        case .command(.lookup(let key, let tag)):
            let payload = Message.pastry(.lookup(tag: tag, issuedAt: now.micros))
            startRoute(key: key, payload: payload, now: now, rng: &rng, effects: &effects)
        case .command(let command):
            upcall(now: now, rng: &rng, effects: &effects) { $0.command(command, kbr: &$1) }
        }
        drain(now: now, rng: &rng, effects: &effects)
    }

    // MARK: routing

    private mutating func startRoute(key: NodeID, payload: Message, now: Instant, rng: inout SeededRNG,
                                     effects: inout Effects) {
        guard pastry.isJoined else { return }
        let envelope = RouteEnvelope(seq: 0, key: key, origin: pastry.local, hops: 0, payload: payload)
        step(envelope, previousHop: nil, upcalls: true, retries: 0, now: now, rng: &rng, effects: &effects)
    }

    private mutating func receiveRoute(_ envelope: RouteEnvelope, from sender: NodeRef, now: Instant,
                                       rng: inout SeededRNG, effects: inout Effects) {
        // Not yet joined, or drowning in our own upload queue: stay silent, so the sender's
        // ack times out and it routes around us.
        guard pastry.isJoined, !pastry.isDrowning(now) else { return }
        switch envelope.payload {
        case .pastry(.join), .pastry(.lookup): break
        case .pastry: return // no other Pastry message travels inside a route
        default: break
        }
        pastry.acknowledge(seq: envelope.seq, to: sender.address, effects: &effects)
        let joinFirstHop = envelope.origin.id == sender.id && { if case .pastry(.join) = envelope.payload { true } else { false } }()
        if !joinFirstHop { pastry.learn(sender, direct: true, rtt: nil, now: now, effects: &effects) }
        step(envelope, previousHop: sender, upcalls: true, retries: 0, now: now, rng: &rng, effects: &effects)
    }

    /// One routing step at this node: deliver here, or forward to the next hop (after the
    /// application's `forward` upcall, unless this is a retry it has already seen).
    private mutating func step(_ envelope: RouteEnvelope, previousHop: NodeRef?, upcalls: Bool, retries: Int,
                               now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        var envelope = envelope
        let isJoin = if case .pastry(.join) = envelope.payload { true } else { false }
        if isJoin && upcalls { pastry.contributeRows(joiner: envelope.origin, previousHop: previousHop, effects: &effects) }
        let route = RouteInfo(key: envelope.key, origin: envelope.origin, previousHop: previousHop, hops: Int(envelope.hops))
        guard let next = pastry.nextHop(for: envelope.key) else {
            deliver(envelope, route: route, now: now, rng: &rng, effects: &effects)
            return
        }
        if upcalls, case .pastry = envelope.payload {
            // Pastry's own payloads need no upcall.
        } else if upcalls {
            var payload = envelope.payload
            let decision = upcall(now: now, rng: &rng, effects: &effects) {
                $0.forward(&payload, route: route, nextHop: next, kbr: &$1)
            }
            guard decision == .proceed else { return }
            envelope.payload = payload
        }
        pastry.forward(envelope, to: next, previousHop: previousHop, retries: retries, now: now, effects: &effects)
    }

    private mutating func deliver(_ envelope: RouteEnvelope, route: RouteInfo, now: Instant, rng: inout SeededRNG,
                                  effects: inout Effects) {
        switch envelope.payload {
        case .pastry(.join):
            pastry.answerJoin(joiner: envelope.origin, effects: &effects)
        case .pastry(.lookup(let tag, let issuedAt)):
            effects.observe(LookupDelivered(key: envelope.key, tag: tag, hops: Int(envelope.hops), deliverer: pastry.local,
                                            origin: envelope.origin, issuedAt: Instant(micros: issuedAt)))
        case .pastry:
            break
        default:
            upcall(now: now, rng: &rng, effects: &effects) { $0.deliver(envelope.payload, route: route, kbr: &$1) }
        }
    }

    // MARK: upcalls

    /// Runs one application upcall with a context holding this event's effects and rng.
    @discardableResult
    private mutating func upcall<R>(now: Instant, rng: inout SeededRNG, effects: inout Effects,
                                    _ body: (inout App, inout KBRContext) -> R) -> R {
        var context = KBRContext(overlay: pastry, now: now, rng: rng, effects: Effects())
        swap(&context.effects, &effects)
        let result = body(&app, &context)
        swap(&context.effects, &effects)
        rng = context.rng
        pastry.meter = context.meter
        queuedRoutes.append(contentsOf: context.routeRequests)
        return result
    }

    /// Carries out what Pastry and the application left for after the event: neighbour
    /// updates, the ready signal, re-routes of failed hops, and queued routes.
    private mutating func drain(now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        while true {
            if !pastry.outbox.updates.isEmpty {
                let updates = pastry.outbox.updates
                pastry.outbox.updates.removeAll()
                for (node, joined) in updates {
                    upcall(now: now, rng: &rng, effects: &effects) { $0.update(node, joined: joined, kbr: &$1) }
                }
            } else if pastry.outbox.becameReady {
                pastry.outbox.becameReady = false
                upcall(now: now, rng: &rng, effects: &effects) { $0.overlayReady(kbr: &$1) }
            } else if !pastry.outbox.reroutes.isEmpty {
                let (envelope, previousHop, retries) = pastry.outbox.reroutes.removeFirst()
                step(envelope, previousHop: previousHop, upcalls: false, retries: retries, now: now, rng: &rng,
                     effects: &effects)
            } else if !queuedRoutes.isEmpty {
                let (key, payload) = queuedRoutes.removeFirst()
                startRoute(key: key, payload: payload, now: now, rng: &rng, effects: &effects)
            } else {
                return
            }
        }
    }
}

/// A core with a Pastry overlay inside, whatever its application: lets drivers and the
/// simulator check leaf sets, state sizes and join costs without knowing the app type.
public protocol OverlayHosting {
    var pastry: Pastry { get }
}

extension PastryNode: OverlayHosting {}
