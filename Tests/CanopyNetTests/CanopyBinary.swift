import XCTest
import Foundation

/// The `canopy` executable built beside the test bundle, for tests that run it as a
/// separate process. Linux: the bundle is the build folder; macOS: it is inside it.
func canopyBinary() throws -> URL {
    let bundle = Bundle(for: CanopyBinaryMarker.self).bundleURL
    let candidates = [bundle.appendingPathComponent("canopy"), bundle.deletingLastPathComponent().appendingPathComponent("canopy")]
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw XCTSkip("canopy binary not built next to the tests (\(bundle.path))")
    }
    return found
}

private final class CanopyBinaryMarker {}
