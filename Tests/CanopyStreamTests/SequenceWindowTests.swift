import XCTest
import CanopyStream

final class SequenceWindowTests: XCTestCase {
    func testInsertDetectsDuplicates() {
        var window = SequenceWindow(capacity: 128)
        XCTAssertTrue(window.insert(5))
        XCTAssertFalse(window.insert(5))
        XCTAssertTrue(window.contains(5))
        XCTAssertFalse(window.contains(6))
    }

    func testWindowSlidesAndForgetsOldBits() {
        var window = SequenceWindow(capacity: 128)
        window.insert(3)
        window.insert(130)            // slides the base past 3
        XCTAssertEqual(window.base, 3)
        XCTAssertTrue(window.insert(200))
        XCTAssertEqual(window.base, 73)
        XCTAssertTrue(window.contains(3), "below the window counts as held: too late to matter")
        XCTAssertFalse(window.contains(199))
        XCTAssertTrue(window.contains(130))
        XCTAssertTrue(window.insert(195))
        window.insert(10_000)
        XCTAssertFalse(window.contains(9_999))
        XCTAssertTrue(window.contains(10_000))
        XCTAssertFalse(window.contains(9_939), "a slot that held 195 long ago is clear again")
    }
}
