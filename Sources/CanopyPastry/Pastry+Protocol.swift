import CanopyCore

/// Pastry's own messages and timers (everything but routed messages, which `PastryNode`
/// handles because they involve the application).
extension Pastry {
    mutating func handle(_ message: PastryMessage, from sender: NodeRef, now: Instant, rng: inout SeededRNG,
                         effects: inout Effects) {
        switch message {
        case .route, .join, .lookup:
            return // routes are the node's; join and lookup only travel inside a route
        case .routeAck(let seq):
            acknowledged(seq: seq, by: sender, now: now, effects: &effects)
        case .joinReply(let members):
            joinReplied(from: sender, leafSet: members, now: now, rng: &rng, effects: &effects)
        case .rowRequest(let row):
            guard isJoined else { return }
            learn(sender, direct: true, rtt: nil, now: now, effects: &effects)
            // Busy: the asker refreshes its table from someone else (or next period).
            guard !isSwamped(now) else { return }
            let entries = table.row(Int(row)).map(\.ref)
            send(.rowReply(row: row, entries: entries), to: sender.address, purpose: .maintenance, effects: &effects)
        case .neighbourRequest:
            guard isJoined else { return }
            learn(sender, direct: true, rtt: nil, now: now, effects: &effects)
            send(.neighbourReply(entries: neighbourhood.map(\.ref)), to: sender.address, purpose: .maintenance,
                 effects: &effects)
        case .rowReply(_, let entries), .neighbourReply(let entries):
            learn(sender, direct: true, rtt: nil, now: now, effects: &effects)
            for ref in entries { learn(ref, direct: false, rtt: nil, compare: true, now: now, effects: &effects) }
        case .leafProbe(let sentAt, let members):
            guard isJoined else { return }
            learn(sender, direct: true, rtt: nil, now: now, effects: &effects)
            // A probe carrying a leaf set asks for ours in return (an exchange); a bare one
            // is a liveness check, answered with our leaf set only if it is news to the prober.
            // A swamped node answers bare: its liveness is what the prober needs most.
            let reply = isSwamped(now) ? [] : leaves(for: sender.id, exchange: !members.isEmpty)
            send(.leafReply(echo: sentAt, leafSet: reply), to: sender.address, purpose: .maintenance, effects: &effects)
            for ref in members { learn(ref, direct: false, rtt: nil, now: now, effects: &effects) }
        case .leafReply(let echo, let members):
            learn(sender, direct: true, rtt: rttSample(echo: echo, now: now), now: now, effects: &effects)
            probes[sender.id] = nil
            for ref in members { learn(ref, direct: false, rtt: nil, now: now, effects: &effects) }
        case .ping(let sentAt):
            send(.pong(echo: sentAt), to: sender.address, purpose: .maintenance, effects: &effects)
            if isJoined { learn(sender, direct: true, rtt: nil, now: now, effects: &effects) }
        case .pong(let echo):
            guard let rtt = rttSample(echo: echo, now: now) else { return }
            learn(sender, direct: true, rtt: rtt, now: now, effects: &effects)
        case .leave(let members):
            declareDead(sender.id, now: now, rng: &rng, effects: &effects)
            for ref in members { learn(ref, direct: false, rtt: nil, now: now, effects: &effects) }
        }
    }

    mutating func handleTimer(_ key: TimerKey, now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        switch key.kind {
        case PastryTimers.leafTick: leafTick(now: now, rng: &rng, effects: &effects)
        case PastryTimers.probeCheck: checkProbes(now: now, rng: &rng, effects: &effects)
        case PastryTimers.tableTick: tableTick(now: now, rng: &rng, effects: &effects)
        case PastryTimers.joinRetry: sendJoin(now: now, effects: &effects)
        case PastryTimers.ackTimeout: ackTimedOut(seq: UInt32(truncatingIfNeeded: key.argument), now: now, rng: &rng,
                                                   effects: &effects)
        default: break
        }
    }
}
