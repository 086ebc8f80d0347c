import CanopyCore

/// Hop-by-hop reliability: each hop of a routed message is acknowledged; a hop that does
/// not answer in time is declared dead and the message goes again through the best
/// remaining route, so no message is lost to a dead hop while another route exists.
extension Pastry {
    /// Sends `envelope` one hop on, to `next`, and waits for its ack.
    mutating func forward(_ envelope: RouteEnvelope, to next: NodeRef, previousHop: NodeRef?, retries: Int,
                          now: Instant, effects: inout Effects) {
        guard envelope.hops < PastryMessage.maxHops else { return }
        var outgoing = envelope
        outgoing.hops += 1
        outgoing.seq = 0
        if pending.count < settings.maxPendingRoutes {
            let seq = nextSeq
            nextSeq = nextSeq == .max ? 1 : nextSeq + 1
            outgoing.seq = seq
            pending[seq] = PendingRoute(envelope: envelope, previousHop: previousHop, nextHop: next.id, retries: retries)
            effects.setTimer(TimerKey(kind: PastryTimers.ackTimeout, argument: UInt64(seq)),
                             at: departure(of: .route(outgoing), now: now) + ackTimeout(for: next.id))
        }
        let purpose: Purpose = if case .pastry(.join) = envelope.payload { .join } else { .route }
        send(.route(outgoing), to: next.address, purpose: purpose, effects: &effects)
    }

    func ackTimeout(for id: NodeID) -> TimeSpan {
        guard let rtt = rtt(to: id) else { return settings.ackTimeout }
        return rtt * 2 + settings.ackSlack
    }

    /// Acknowledges a routed message we received.
    mutating func acknowledge(seq: UInt32, to address: PeerAddress, effects: inout Effects) {
        guard seq != 0 else { return }
        send(.routeAck(seq: seq), to: address, purpose: .route, effects: &effects)
    }

    mutating func acknowledged(seq: UInt32, by sender: NodeRef, now: Instant, effects: inout Effects) {
        guard let waiting = pending[seq], waiting.nextHop == sender.id else { return }
        pending[seq] = nil
        effects.cancelTimer(TimerKey(kind: PastryTimers.ackTimeout, argument: UInt64(seq)))
        if leafSet.contains(sender.id) {
            leafHeard[sender.id] = now
            probes[sender.id] = nil
        }
    }

    mutating func ackTimedOut(seq: UInt32, now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        guard let waiting = pending.removeValue(forKey: seq) else { return }
        declareDead(waiting.nextHop, now: now, rng: &rng, effects: &effects)
        reroute(waiting)
    }
}
