import CanopyCore

/// A chunk the node misses and has not asked anyone for.
struct ChunkNeed: Sendable, Equatable {
    var sequence: UInt32
    /// When it should have arrived (estimated generation time + the configured deadline).
    var deadline: Instant
    /// The partner that last failed to deliver it (timed out or refused): tried last.
    var avoid: PeerAddress?
}

/// A partner as the schedulers see it.
struct Supplier: Sendable {
    var address: PeerAddress
    var holdings: BufferMap
    /// Estimated throughput to us, bit/s (its advertised spare upload).
    var rateBps: Double
    var outstanding: Int
    /// Most requests it should have from us at once: what its spare upload sends within
    /// our request timeout. More would only time out.
    var cap: Int
}

/// One decision: ask `suppliers[supplier]` for `sequence`.
struct Assignment: Sendable, Equatable {
    var sequence: UInt32
    var supplier: Int
}

/// The two request schedulers, as pure functions of a snapshot so they can be tested on
/// hand-made states. Both update `outstanding` as they assign.
enum Scheduling {
    /// DONet: chunks with the fewest potential suppliers first (ties: earliest first); each
    /// from the supplier with the highest throughput that can still deliver it before its
    /// deadline, else from the one that will deliver it soonest. A supplier at its cap is
    /// not asked: without the cap the fastest one would be handed everything its rate
    /// could carry before the deadline (seconds of work), far past what it accepts.
    static func donet(needs: [ChunkNeed], suppliers: inout [Supplier], chunkBits: Double, now: Instant) -> [Assignment] {
        var ranked: [(need: ChunkNeed, holders: [Int])] = needs.compactMap { need in
            let holders = holders(of: need, in: suppliers)
            return holders.isEmpty ? nil : (need, holders)
        }
        ranked.sort { ($0.holders.count, $0.need.sequence) < ($1.holders.count, $1.need.sequence) }
        var result: [Assignment] = []
        for (need, holders) in ranked {
            var best: (index: Int, rate: Double)?
            var soonest: (index: Int, finish: Instant)?
            for h in holders where suppliers[h].outstanding < suppliers[h].cap {
                let rate = max(suppliers[h].rateBps, 1000)
                let finish = now + .seconds(Double(suppliers[h].outstanding + 1) * chunkBits / rate)
                if finish <= need.deadline, rate > best?.rate ?? -1 { best = (h, rate) }
                if finish < soonest?.finish ?? .init(micros: .max) { soonest = (h, finish) }
            }
            guard let chosen = best?.index ?? soonest?.index else { continue }
            suppliers[chosen].outstanding += 1
            result.append(Assignment(sequence: need.sequence, supplier: chosen))
        }
        return result
    }

    /// Chainsaw: missing chunks in random order, each from a random holder under its cap,
    /// drawn in proportion to its spare upload so slow suppliers are not asked as often as
    /// fast ones.
    static func chainsaw(needs: [ChunkNeed], suppliers: inout [Supplier], rng: inout SeededRNG) -> [Assignment] {
        var order = needs
        order.shuffle(using: &rng)
        var result: [Assignment] = []
        for need in order {
            let open = holders(of: need, in: suppliers).filter { suppliers[$0].outstanding < suppliers[$0].cap }
            let weights = open.map { max(suppliers[$0].rateBps, 1000) }
            var pick = rng.unit() * weights.reduce(0, +)
            guard var chosen = open.last else { continue }
            for (h, weight) in zip(open, weights) {
                pick -= weight
                if pick < 0 { chosen = h; break }
            }
            suppliers[chosen].outstanding += 1
            result.append(Assignment(sequence: need.sequence, supplier: chosen))
        }
        return result
    }

    /// Suppliers holding the chunk; the one to avoid only if nobody else has it.
    private static func holders(of need: ChunkNeed, in suppliers: [Supplier]) -> [Int] {
        let all = suppliers.indices.filter { suppliers[$0].holdings.contains(need.sequence) }
        let others = all.filter { suppliers[$0].address != need.avoid }
        return others.isEmpty ? all : others
    }
}
