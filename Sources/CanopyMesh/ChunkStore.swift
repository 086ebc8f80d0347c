import CanopyCore

/// The chunks a node holds for its partners: a ring indexed by sequence number, so memory
/// is fixed and old chunks fall out as new ones arrive.
struct ChunkStore: Sendable {
    private var slots: [Chunk?]

    init(capacity: Int) {
        slots = Array(repeating: nil, count: max(1, capacity))
    }

    var capacity: Int { slots.count }

    func chunk(_ sequence: UInt32) -> Chunk? {
        guard let chunk = slots[Int(sequence % UInt32(slots.count))], chunk.sequence == sequence else { return nil }
        return chunk
    }

    func holds(_ sequence: UInt32) -> Bool { chunk(sequence) != nil }

    mutating func put(_ chunk: Chunk) {
        slots[Int(chunk.sequence % UInt32(slots.count))] = chunk
    }
}
