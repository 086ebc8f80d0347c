import CanopyCore
import CanopyPastry
import CanopyStream

extension SplitStream {
    /// Verifies a chunk before anything else; delivers and forwards each one once. Data from
    /// the parent also counts as its heartbeat.
    mutating func handleChunk(_ chunk: Chunk, from sender: NodeRef, _ kbr: inout KBRContext) {
        guard let authenticator, let topics else { return }
        guard authenticator.verify(chunk) else {
            let reason: ChunkRejected.Reason = chunk.streamID == authenticator.streamID ? .badSignature : .wrongStream
            kbr.observe(ChunkRejected(reason: reason, sequence: chunk.sequence))
            return
        }
        let stripe = topics.stripe(ofSequence: chunk.sequence)
        if trees[stripe].parent?.id == sender.id {
            trees[stripe].lastHeardFromParent = kbr.now
            trees[stripe].lastDataFromParent = kbr.now
            lastData = kbr.now
            if firstData == nil { firstData = kbr.now }
        } else {
            pruneStrayParent(stripe, sender, &kbr)
        }
        guard !isSource, received.insert(chunk.sequence) else {
            kbr.observe(DuplicateChunk(sequence: chunk.sequence))
            return
        }
        if newest[stripe].map({ chunk.sequence > $0 }) ?? true { newest[stripe] = chunk.sequence }
        kbr.effects.deliver(chunk)
        forward(chunk, stripe: stripe, &kbr)
    }

    /// Sends a chunk to the stripe's children, those that forward first: each send waits
    /// its turn in the upload queue, and a forwarding child's delay adds to its whole subtree.
    mutating func forward(_ chunk: Chunk, stripe: Int, _ kbr: inout KBRContext) {
        guard !trees[stripe].children.isEmpty else { return }
        let message = Message.stream(.chunk(chunk))
        for pass in [true, false] {
            for c in trees[stripe].children.indices where trees[stripe].children[c].forwards == pass {
                trees[stripe].children[c].lastSent = kbr.now
                send(message, to: trees[stripe].children[c].ref, &kbr)
            }
        }
    }
}
