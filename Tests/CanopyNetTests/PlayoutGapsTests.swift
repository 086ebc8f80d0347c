import CanopyNet
import XCTest

final class PlayoutGapsTests: XCTestCase {
    func testLongestRunOfMissedFramesAndItsStartAreKept() {
        var gaps = PlayoutGaps()
        XCTAssertNil(gaps.firstFrame)
        // 10 ok, 11 missed, 12 ok, 13–15 missed, 16 ok, 17–18 missed.
        let missed: Set<Int64> = [11, 13, 14, 15, 17, 18]
        for frame in Int64(10)...18 { gaps.record(frame: frame, received: !missed.contains(frame)) }
        XCTAssertEqual(gaps.longest, 3)
        XCTAssertEqual(gaps.longestStart, 13)
        XCTAssertEqual(gaps.firstFrame, 10)
        XCTAssertEqual(gaps.lastFrame, 18)
    }

    func testNoMissedFrameIsNoGap() {
        var gaps = PlayoutGaps()
        for frame in Int64(0)..<100 { gaps.record(frame: frame, received: true) }
        XCTAssertEqual(gaps.longest, 0)
        XCTAssertNil(gaps.longestStart)
        XCTAssertEqual(gaps.lastFrame, 99)
    }
}
