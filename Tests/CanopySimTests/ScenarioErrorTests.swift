import CanopySim
import Foundation
import XCTest

/// A bad scenario is a one-line error that names the field.
final class ScenarioErrorTests: XCTestCase {
    func testNodesMustBeAPositiveInteger() {
        XCTAssertEqual(scenarioError(#"{"nodes": "many", "mode": "direct"}"#),
                       #"scenario: "nodes" must be a positive integer, got "many""#)
        XCTAssertEqual(scenarioError(#"{"nodes": 0, "mode": "direct"}"#),
                       #"scenario: "nodes" must be a positive integer, got 0"#)
    }

    func testUnknownFieldIsNamed() throws {
        let message = try XCTUnwrap(scenarioError(#"{"nodez": 10, "nodes": 10, "mode": "direct"}"#))
        XCTAssertTrue(message.hasPrefix(#"scenario: unknown field "nodez" (expected one of: "#), message)
        XCTAssertTrue(message.contains("nodes"), message)
        let nested = try XCTUnwrap(scenarioError(#"{"nodes": 10, "mode": "direct", "stream": {"rate": 64}}"#))
        XCTAssertTrue(nested.hasPrefix(#"scenario: unknown field "stream.rate""#), nested)
        let churn = try XCTUnwrap(scenarioError(#"{"nodes": 10, "mode": "direct", "churn": [{"at_s": 1, "crash_fraction": 0.1, "why": 1}]}"#))
        XCTAssertTrue(churn.hasPrefix(#"scenario: unknown field "churn[0].why""#), churn)
        XCTAssertFalse(message.contains("\n"))
    }

    func testBadValuesAreNamed() {
        XCTAssertEqual(scenarioError(#"{"nodes": 10, "mode": "broadcast"}"#),
                       #"scenario: "mode" must be one of "direct", got "broadcast""#.replacingOccurrences(
                           of: #"one of "direct""#, with: "one of " + SimModeRegistry.names.map { "\"\($0)\"" }.joined(separator: ", ")))
        XCTAssertEqual(scenarioError(#"{"nodes": 10, "mode": "direct", "loss": 2}"#),
                       #"scenario: "loss" must be a probability in [0, 1), got 2"#)
        XCTAssertEqual(scenarioError(#"{"nodes": 10, "mode": "direct", "upload_kbps": [[0.5, 0], [0.4, 10]]}"#),
                       #"scenario: "upload_kbps" fractions sum to 0.9, they must sum to 1"#)
        XCTAssertEqual(scenarioError(#"{"nodes": 10, "mode": "direct", "tree": {}}"#),
                       #"scenario: field "tree" does not apply to mode "direct" (it reads: none)"#)
    }

    func testMissingMatrixFileNamesThePath() throws {
        let folder = try temporaryFolder()
        let message = try XCTUnwrap(scenarioError(
            #"{"nodes": 3, "mode": "direct", "topology": {"kind": "matrix", "file": "no-such.txt"}}"#, baseDirectory: folder))
        XCTAssertTrue(message.contains(#""no-such.txt""#), message)
        XCTAssertTrue(message.contains(folder + "/no-such.txt"), message)
        XCTAssertTrue(message.contains("relative to the scenario file"), message)
    }

    func testMatrixSizeMismatchIsNamed() throws {
        let folder = try temporaryFolder()
        try "0 5\n5 0\n".write(toFile: folder + "/two.txt", atomically: true, encoding: .utf8)
        try "0 5 1\n5 0\n".write(toFile: folder + "/ragged.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(scenarioError(#"{"nodes": 3, "mode": "direct", "topology": {"kind": "matrix", "file": "two.txt"}}"#,
                                     baseDirectory: folder),
                       #"scenario: topology matrix "two.txt" has 2 rows but the scenario needs 3 nodes ("nodes" plus churn joins)"#)
        XCTAssertEqual(scenarioError(#"{"nodes": 2, "mode": "direct", "topology": {"kind": "matrix", "file": "ragged.txt"}}"#,
                                     baseDirectory: folder),
                       #"scenario: topology matrix "ragged.txt" must be square: row 0 has 3 numbers but there are 2 rows"#)
    }
}
