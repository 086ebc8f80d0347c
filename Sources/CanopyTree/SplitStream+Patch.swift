import CanopyCore
import CanopyPastry

extension SplitStream {
    /// Pull repair under the push trees. A cut-off stripe used to wait for detection, a new
    /// parent and that parent's fill before a missing chunk arrived. After a 10% crash one
    /// repair in ten took over 5 s, and on scenarios/tree-1k-crash.json (seeds 7–11) only
    /// 4–20% of survivors played without a gap at a 5 s playout delay. Meanwhile the node's
    /// parents in the other stripes are fed, and every node that forwards keeps the recent
    /// chunks of every stripe it plays (`remember`). So every `patchInterval`, a stripe with
    /// an overdue hole (`overdueHole`) asks one of those parents, at random, with a `fill`.
    /// It never asks the source, whose upload feeds every stripe; tried, that cost delay and
    /// gained nothing. The parent sends what it holds from the upload the live stream leaves
    /// idle (`servePatch`). The stripe's children get the patched chunks as usual, so a whole
    /// orphaned subtree keeps playing while its top looks for a parent. With this, the same
    /// seeds gave 97–99.8% gapless survivors, and every survivor held every stripe 10 s after
    /// the crash.
    mutating func askForPatches(_ kbr: inout KBRContext) {
        guard !isSource, config.patchChunks > 0, let info, let lastData, kbr.now - lastData < stripeSilence else { return }
        // The parents (not the source) that fed their stripe lately, with that stripe.
        let fed: [(stripe: Int, parent: NodeRef)] = (0..<stripeCount).compactMap { j in
            guard let parent = trees[j].parent, parent.id != info.source.id,
                  kbr.now - trees[j].lastDataFromParent < stripeSilence else { return nil }
            return (j, parent)
        }
        guard !fed.isEmpty, let newestAnywhere = newest.lazy.compactMap({ $0 }).max() else { return }
        for i in 0..<stripeCount where kbr.now >= trees[i].nextPatch {
            guard let from = overdueHole(i, newestAnywhere: newestAnywhere, now: kbr.now) else { continue }
            let helpers = fed.filter { $0.stripe != i && $0.parent.id != trees[i].parent?.id }.map(\.parent)
            guard !helpers.isEmpty else { continue }
            trees[i].nextPatch = kbr.now + config.patchInterval
            let first = Int(kbr.rng.next() % UInt64(helpers.count))
            send(.tree(.fill(topic: trees[i].id, from: from)), to: helpers[first], &kbr)
            // A hole that has outlived a few asks goes to a second helper too: the first may
            // lack the chunk (cut off itself) or have no upload to spare.
            let old = newestAnywhere - from > UInt32(clamping: (config.patchInterval * 4).micros / Int64(info.chunkMicros))
            if old, helpers.count > 1 {
                let second = (first + 1 + Int(kbr.rng.next() % UInt64(helpers.count - 1))) % helpers.count
                send(.tree(.fill(topic: trees[i].id, from: from)), to: helpers[second], &kbr)
            }
        }
    }

    /// The oldest chunk of stripe `i` this node is owed and lacks, if it is overdue: the
    /// stripe's parent has passed nothing for a stripe's silence (so every missing chunk up to
    /// the newest of any stripe is), or two later chunks of the stripe came without it (a new
    /// parent's live chunks came but its fill did not, or the parent was cut off itself and
    /// never had it). Not merely behind the other stripes: a deep stripe always is, and at
    /// 10,000 nodes asking for that made 1.9% duplicates and delayed live chunks. Looks back
    /// as far as a helper keeps chunks (`backfillChunks` of the stripe). A stripe that has
    /// brought nothing yet is silent only a parent timeout later: at the stream's start its
    /// first chunk comes down its own tree, often deeper than the one that brought this
    /// node's first chunk, and at 3,000 nodes the first 5 s of stream drew 7,500 patch asks
    /// (100 to 200 in any 5 s after).
    func overdueHole(_ i: Int, newestAnywhere: UInt32, now: Instant) -> UInt32? {
        guard let owedFrom else { return nil }
        let step = UInt32(stripeCount)
        let patience = stripeSilence + (newest[i] == nil ? config.parentTimeout : .zero)
        let silent = trees[i].parent == nil || now - lastFed(i) > patience
        let limit: UInt32
        if silent {
            limit = newestAnywhere
        } else if let newestHere = newest[i], newestHere >= 2 * step {
            limit = newestHere - 2 * step
        } else {
            return nil
        }
        let span = UInt32(config.backfillChunks) * step
        var sequence = Self.firstOfStripe(i, atOrAfter: max(owedFrom, newestAnywhere >= span ? newestAnywhere - span : 0), stripes: step)
        while sequence <= limit {
            if !received.contains(sequence) { return sequence }
            sequence &+= step
        }
        return nil
    }

    /// Stripe `i`'s first sequence at or after `from` (chunks are dealt round-robin).
    static func firstOfStripe(_ i: Int, atOrAfter from: UInt32, stripes step: UInt32) -> UInt32 {
        from &+ (UInt32(i) &+ step &- from % step) % step
    }

    /// A child of ours (in some other stripe) asks for stripe `i`'s chunks from `from`, its
    /// oldest hole. We send the kept ones in a run without gaps, oldest first: at most
    /// `patchChunks`, and only while our upload queue stays under `fillBacklog`. The asker
    /// asks again for whatever we do not send. A run stops at the first chunk we lack; the
    /// asker's next ask goes to another helper, starting there. Nothing is kept per asker,
    /// so a flood of asks costs no memory, and only children may ask.
    mutating func servePatch(_ i: Int, from: UInt32, to child: NodeRef, _ kbr: inout KBRContext) {
        guard trees.indices.contains(where: { trees[$0].stripe != nil && trees[$0].hasChild(child.id) }) else { return }
        let step = UInt32(stripeCount)
        var next = Self.firstOfStripe(i, atOrAfter: from, stripes: step)
        var sent = 0
        for chunk in recent[i] where chunk.sequence >= next {
            guard chunk.sequence == next, sent < config.patchChunks, kbr.uploadBacklog < config.fillBacklog else { return }
            send(.stream(.chunk(chunk)), to: child, &kbr)
            next = next &+ step
            sent += 1
        }
    }

    /// True if `sender` is our parent in some stripe: its data for another stripe is a patch
    /// we asked for, not a sign that it still counts us as a child there.
    func isParentElsewhere(_ sender: NodeID) -> Bool {
        trees.contains { $0.stripe != nil && $0.parent?.id == sender }
    }
}
