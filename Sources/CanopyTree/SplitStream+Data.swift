import CanopyCore
import CanopyPastry
import CanopyStream

extension SplitStream {
    /// Verifies a chunk before anything else; plays and forwards each one once. Data from
    /// the parent also counts as its heartbeat. A late chunk (older than the stripe's newest:
    /// a fill this node received) is owed to the children instead, so it never delays live ones.
    mutating func handleChunk(_ chunk: Chunk, from sender: NodeRef, _ kbr: inout KBRContext) {
        guard let authenticator, let topics else { return }
        guard authenticator.verify(chunk) else {
            let reason: ChunkRejected.Reason = chunk.streamID == authenticator.streamID ? .badSignature : .wrongStream
            kbr.observe(ChunkRejected(reason: reason, sequence: chunk.sequence))
            return
        }
        let stripe = topics.stripe(ofSequence: chunk.sequence)
        if trees[stripe].nextParent?.ref.id == sender.id { completeMove(stripe, &kbr) }
        if trees[stripe].parent?.id == sender.id {
            trees[stripe].lastHeardFromParent = kbr.now
            trees[stripe].lastDataFromParent = kbr.now
            lastData = kbr.now
            if firstData == nil { firstData = kbr.now }
        } else if !isParentElsewhere(sender.id) {
            pruneStrayParent(stripe, sender, &kbr)
        }
        guard !isSource, received.insert(chunk.sequence) else {
            kbr.observe(DuplicateChunk(sequence: chunk.sequence))
            return
        }
        let late = newest[stripe].map { chunk.sequence < $0 } ?? false
        let firstInStripe = newest[stripe] == nil
        if !late { newest[stripe] = chunk.sequence }
        play(chunk, &kbr)
        if firstInStripe { askForMissedStart(stripe, first: chunk.sequence, from: sender, &kbr) }
        if late || isBackfill(chunk) {
            remember(chunk, stripe: stripe)
            owe([chunk], stripe: stripe, &kbr)
        } else {
            forward(chunk, stripe: stripe, &kbr)
        }
    }

    /// A chunk far older than the newest of any stripe is a repaired stripe's backfill, not
    /// the live stream: its children get it as owed chunks, with the upload live chunks leave
    /// idle. Forwarded at once, a repaired forwarder's seconds of missed chunks went to all its
    /// children in one burst (30 children, 4 s: 2 s of queue), which delayed every stripe of
    /// the whole subtree for seconds after the repair. "Far" is the stripe's parent timeout,
    /// which grows with the interval between a stripe's chunks (`stripeSilence`): with 200 ms
    /// chunks on 16 stripes, a live chunk is normally seconds behind another stripe's newest,
    /// and the fixed 1.2 s paced live chunks too (10,000 nodes, `canopy bench push-vs-pull`:
    /// the tree's continuity at 5 s 0.996 → 0.988).
    func isBackfill(_ chunk: Chunk) -> Bool {
        // Lazily: this runs for every chunk a node receives.
        guard let info, let newestAnywhere = newest.lazy.compactMap({ $0 }).max() else { return false }
        let behind = Int64(newestAnywhere) - Int64(chunk.sequence)
        return behind * Int64(info.chunkMicros) > max(config.parentTimeout, stripeSilence).micros
    }

    /// Sends a chunk to the stripe's children, those with the most nodes below them first
    /// (ties in the order they came): each send waits its turn in the upload queue, and a
    /// child's delay adds to everyone below it.
    mutating func forward(_ chunk: Chunk, stripe: Int, _ kbr: inout KBRContext) {
        remember(chunk, stripe: stripe)
        guard !trees[stripe].children.isEmpty else { return }
        let message = Message.stream(.chunk(chunk))
        // Only the order is built, from the loads in place: copying the children here made
        // their first `lastSent` write copy the whole array, on every chunk.
        let order = trees[stripe].children.indices.sorted {
            (trees[stripe].children[$0].load, $1) > (trees[stripe].children[$1].load, $0)
        }
        for c in order {
            trees[stripe].children[c].lastSent = kbr.now
            send(message, to: trees[stripe].children[c].ref, &kbr)
        }
    }

    /// Keeps the stripe's newest chunks, in sequence order (a backfilled chunk may arrive
    /// after newer ones), for children that join later.
    mutating func remember(_ chunk: Chunk, stripe: Int) {
        guard bound > 0, config.backfillChunks > 0 else { return }
        let at = recent[stripe].lastIndex { $0.sequence < chunk.sequence }.map { $0 + 1 } ?? 0
        // Full: drop the oldest first, so the array never outgrows its bound (10,000 nodes
        // keep 16 of these each).
        if recent[stripe].count < config.backfillChunks {
            recent[stripe].insert(chunk, at: at)
        } else if at > 0 {
            recent[stripe].removeFirst()
            recent[stripe].insert(chunk, at: at - 1)
        }
    }

    /// A new parent was found for stripe `i`: ask it for what this node missed — the chunks
    /// after the newest it has there or, if the stripe never delivered, every owed one. A node
    /// that does not yet know what it is owed asks at the stripe's first chunk instead
    /// (`askForMissedStart`).
    mutating func requestFill(_ i: Int, from parent: NodeRef, _ kbr: inout KBRContext) {
        trees[i].askedFill = owedFrom != nil
        guard let from = newest[i].map({ $0 &+ 1 }) ?? owedFrom else { return }
        send(.tree(.fill(topic: trees[i].id, from: from)), to: parent, &kbr)
    }

    /// The stripe's first chunk came from a parent not yet asked for a fill, and an earlier
    /// chunk of the stripe is owed: the parent was found after the stream started but before
    /// this node knew it.
    mutating func askForMissedStart(_ i: Int, first: UInt32, from sender: NodeRef, _ kbr: inout KBRContext) {
        guard !trees[i].askedFill, trees[i].parent?.id == sender.id, let owedFrom,
              first >= owedFrom &+ UInt32(stripeCount) else { return }
        trees[i].askedFill = true
        send(.tree(.fill(topic: trees[i].id, from: owedFrom)), to: sender, &kbr)
    }

    /// Owes a child the kept chunks of the stripe from `from` up to those it got live. Only a
    /// child may ask: the answer costs this node's upload. A child of another stripe gets a
    /// patch instead (`servePatch`).
    mutating func handleFill(topic: NodeID, from: UInt32, child: NodeRef, _ kbr: inout KBRContext) {
        guard let i = index(of: topic), trees[i].stripe != nil else { return }
        guard let c = trees[i].childIndex(child.id) else {
            servePatch(i, from: from, to: child, &kbr)
            return
        }
        guard let last = trees[i].children[c].adoptedAfter else { return }
        let missed = recent[i].filter { $0.sequence >= from && $0.sequence <= last }
        owe(missed, stripe: i, only: c, &kbr)
    }

    /// Adds `chunks` to what the stripe's children (or child `only`) are owed, then sends
    /// what the queue allows. The chunks themselves are kept (at most `backfillChunks` a
    /// child, the newest): a busy parent may send them only after they left `recent`.
    mutating func owe(_ chunks: [Chunk], stripe i: Int, only: Int? = nil, _ kbr: inout KBRContext) {
        for c in trees[i].children.indices where only.map({ $0 == c }) ?? true {
            var owed = trees[i].children[c].owed
            for chunk in chunks where !owed.contains(where: { $0.sequence == chunk.sequence }) { owed.append(chunk) }
            owed.sort { $0.sequence < $1.sequence }
            trees[i].children[c].owed = Array(owed.suffix(config.backfillChunks))
        }
        sendOwed(&kbr)
    }

    /// Sends owed chunks, oldest first, while the upload queue stays under `fillBacklog`:
    /// a fill uses the upload the live stream leaves idle.
    mutating func sendOwed(_ kbr: inout KBRContext) {
        for i in 0..<stripeCount {
            for c in trees[i].children.indices {
                while let chunk = trees[i].children[c].owed.first {
                    guard kbr.uploadBacklog < config.fillBacklog else { return }
                    trees[i].children[c].owed.removeFirst()
                    trees[i].children[c].lastSent = kbr.now
                    send(.stream(.chunk(chunk)), to: trees[i].children[c].ref, &kbr)
                }
            }
        }
    }
}
