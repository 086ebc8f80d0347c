import CanopyCore
import CanopyStream

/// Wraps a node's core to measure it the way the simulator does: every send is classed
/// as data or control by `Message.dataPayloadBytes` and costed with `Fragmenter.wireCost`,
/// every delivery is timed against the chunk's generation time, and duplicates are
/// counted. Measuring at the core boundary keeps the real bench's "control overhead"
/// the same quantity as the simulator's, with no change to the driver.
///
/// The tally can also make the node fall silent (a crash): the core then sees nothing
/// and says nothing, as if the host had died.
struct MeteredCore: ProtocolCore {
    var inner: any ProtocolCore
    let tally: NodeTally

    var identity: NodeRef { inner.identity }

    mutating func handle(_ event: Event, now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        guard !tally.silenced else { return }
        let first = effects.items.count
        inner.handle(event, now: now, rng: &rng, effects: &effects)
        for effect in effects.items[first...] {
            switch effect {
            case .send(let message, _):
                tally.sent(message)
            case .deliver(let chunk):
                tally.deliveries.append(ChunkReception(sequence: chunk.sequence, generatedAt: chunk.generatedAt,
                                                       receivedAt: now.micros))
            case .observe(let observation):
                if observation is DuplicateChunk { tally.traffic.duplicates += 1 }
            case .setTimer, .cancelTimer:
                break
            }
        }
    }
}

/// What one node's `MeteredCore` counted.
///
/// `@unchecked Sendable`: written only by the core, on its node's event loop; read by the
/// bench after the node has closed (or on that loop).
final class NodeTally: @unchecked Sendable {
    var silenced = false
    var traffic = TrafficCounters()
    /// Times in µs of `MonotonicClock`.
    var deliveries: [ChunkReception] = []

    func sent(_ message: Message) {
        let cost = Fragmenter.wireCost(envelopeSize: message.envelopeSize)
        traffic.messages += 1
        traffic.datagrams += cost.datagrams
        if let payload = message.dataPayloadBytes {
            traffic.dataBytes += Int64(cost.bytes)
            traffic.payloadBytes += Int64(payload)
        } else {
            traffic.controlBytes += Int64(cost.bytes)
        }
    }
}
