import XCTest
import NIOCore
import CanopyCore

final class BufferMapTests: XCTestCase {
    func testMembershipAndNewest() {
        let map = MeshFixtures.map(start: 10, count: 70, held: [10, 11, 74, 79])
        XCTAssertTrue(map.contains(10))
        XCTAssertTrue(map.contains(79))
        XCTAssertFalse(map.contains(12))
        XCTAssertFalse(map.contains(9), "before the window")
        XCTAssertFalse(map.contains(80), "past the window")
        XCTAssertEqual(map.newest, 79)
        XCTAssertEqual(map.heldCount, 4)
        XCTAssertNil(BufferMap(start: 5, count: 30).newest)
    }

    func testEncodeDecodeKeepsEveryBit() throws {
        var rng = SeededRNG(seed: 1)
        for count in [0, 1, 7, 8, 9, 63, 64, 65, 200, BufferMap.maxCount] {
            var map = BufferMap(start: 1_000, count: count)
            for s in 1_000..<(1_000 + UInt32(count)) where rng.next() % 3 == 0 { map.insert(s) }
            var buffer = ByteBuffer()
            map.encode(into: &buffer)
            XCTAssertEqual(buffer.readableBytes, map.encodedSize)
            XCTAssertEqual(try BufferMap.decode(from: &buffer), map)
            XCTAssertEqual(buffer.readableBytes, 0)
        }
    }

    func testSlideGrowsThenDropsTheOldest() {
        var map = BufferMap(start: 0)
        map.slide(inserting: 3, capacity: 16)
        XCTAssertEqual(map.count, 4)
        XCTAssertTrue(map.contains(3))
        map.slide(inserting: 20, capacity: 16)
        XCTAssertEqual(map.start, 5)
        XCTAssertEqual(map.count, 16)
        XCTAssertFalse(map.contains(3), "slid out of the window")
        XCTAssertTrue(map.contains(20))
        map.slide(inserting: 1, capacity: 16)
        XCTAssertFalse(map.contains(1), "older than the window: ignored")
    }
}
