import CanopyCore
import CanopyPastry
import CanopyStream

extension SplitStream {
    /// Hands a new chunk to playout. A listener is owed every chunk generated after it asked
    /// to join, and a player starts at the first chunk it plays: so until the first owed chunk
    /// is here, the chunks that overtook it (another stripe's tree was quicker) wait for it.
    /// They lose nothing by waiting: each was generated after the first owed chunk, so
    /// released with it, it is no later than that chunk. A first owed chunk that does not come
    /// within `startupHold` is given up on, and playout starts with what is held.
    mutating func play(_ chunk: Chunk, _ kbr: inout KBRContext) {
        if isPlaying {
            kbr.effects.deliver(chunk)
            return
        }
        if owedFrom == nil { owedFrom = firstOwed(after: chunk, now: kbr.now) }
        let at = held.firstIndex { $0.sequence > chunk.sequence } ?? held.count
        held.insert(chunk, at: at)
        if holdingSince == nil { holdingSince = kbr.now }
        releaseHeldIfDue(&kbr)
    }

    /// Starts playout once the first owed chunk is held or the hold has lasted `startupHold`
    /// (checked on every chunk and every tick).
    mutating func releaseHeldIfDue(_ kbr: inout KBRContext) {
        guard !isPlaying, let first = held.first, let owedFrom, let since = holdingSince else { return }
        guard first.sequence <= owedFrom || kbr.now - since >= config.startupHold else { return }
        isPlaying = true
        for chunk in held { kbr.effects.deliver(chunk) }
        held = []
    }

    /// The first chunk this node is owed, from the first one it receives: it was asked for
    /// `now - joinedAt` ago, and the stream's chunks are `chunkMicros` apart, so no chunk
    /// more than that many chunks older than this one was generated after the join. Only
    /// local time spans are compared, never the source's clock with ours.
    func firstOwed(after chunk: Chunk, now: Instant) -> UInt32 {
        guard let info, info.chunkMicros > 0, let joinedAt else { return chunk.sequence }
        let back = max(0, (now - joinedAt).micros) / Int64(info.chunkMicros)
        return UInt32(max(0, Int64(chunk.sequence) - back))
    }
}
