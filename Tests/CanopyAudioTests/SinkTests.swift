import XCTest
@testable import CanopyAudio

final class SinkTests: XCTestCase {
    func testWAVRoundTripThroughLibsndfile() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("out.wav").path
        let music = try testMusic(seconds: 2.5)
        let writer = try WAVWriter(path: path)
        var i = 0
        while i < music.count {
            try writer.write(pcm: Array(music[i..<(i + AudioFormat.samplesPerFrame)]))
            i += AudioFormat.samplesPerFrame
        }
        try writer.finish()
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        XCTAssertEqual(size, 44 + music.count * 2)
        var reader = try AudioFileReader(path: path)
        XCTAssertEqual(reader.fileSampleRate, 48_000)
        XCTAssertEqual(reader.fileChannels, 2)
        XCTAssertEqual(try readAll(&reader), music)
    }

    func testInterruptedWAVIsReadableUpToTheLastFlush() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("cut.wav").path
        let music = try testMusic(seconds: 1.5)
        let writer = try WAVWriter(path: path, flushInterval: 1.0)
        var i = 0
        while i < music.count {
            try writer.write(pcm: Array(music[i..<(i + AudioFormat.samplesPerFrame)]))
            i += AudioFormat.samplesPerFrame
        }
        // No finish(): as if the process died here. One second was flushed.
        var reader = try AudioFileReader(path: path)
        XCTAssertEqual(reader.fileFrames, 48_000)
        XCTAssertEqual(try readAll(&reader), Array(music[0..<96_000]))
        try writer.finish()
    }

    /// Encodes the music into packets.
    private func packets(for pcm: [Int16], encoder: OpusEncoder) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        while i < pcm.count {
            out.append(try encoder.encode(Array(pcm[i..<(i + AudioFormat.samplesPerFrame)])))
            i += AudioFormat.samplesPerFrame
        }
        return out
    }

    func testOggOpusDecodedByFFmpegMatchesTheSource() throws {
        guard let ffmpeg = findExecutable("ffmpeg") else { throw XCTSkip("ffmpeg not installed") }
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("out.opus").path
        let music = try testMusic(seconds: 5)
        let encoder = try OpusEncoder()
        let writer = try OggOpusWriter(path: path, preSkip: encoder.preSkip, serialNumber: 42)
        for packet in try packets(for: music, encoder: encoder) {
            try writer.write(frame: PlayoutFrame(pcm: [], packet: packet))
        }
        try writer.finish()
        let decoded = samples(fromS16LE: try runTool(ffmpeg, ["-v", "error", "-i", path, "-f", "s16le", "-ar", "48000", "-ac", "2", "-"]))
        // ffmpeg applies the pre-skip, so the output starts where the input did.
        XCTAssertEqual(decoded.count, music.count - 2 * encoder.preSkip)
        let best = Correlation.best(reference: music, signal: decoded, maxLag: 2_000)
        print("Ogg Opus via ffmpeg: \(best)")
        XCTAssertEqual(best.lag, 0)
        XCTAssertGreaterThanOrEqual(best.coefficient, 0.99)
        try checkOggStructure(path: path, preSkip: encoder.preSkip)
    }

    func testOggOpusWithLostFramesStaysDecodableAndTimed() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("lossy.opus").path
        let music = try testMusic(seconds: 3)
        let encoder = try OpusEncoder()
        let writer = try OggOpusWriter(path: path, preSkip: encoder.preSkip)
        let all = try packets(for: music, encoder: encoder)
        for (n, packet) in all.enumerated() {
            let lost = n % 10 == 5
            try writer.write(frame: PlayoutFrame(pcm: [Int16](repeating: 0, count: AudioFormat.samplesPerFrame),
                                                 packet: lost ? nil : packet))
        }
        try writer.finish()
        try checkOggStructure(path: path, preSkip: encoder.preSkip)
        var decodedBy: [String] = []
        if let ffmpeg = findExecutable("ffmpeg") {
            let decoded = samples(fromS16LE: try runTool(ffmpeg, ["-v", "error", "-i", path, "-f", "s16le", "-ar", "48000", "-ac", "2", "-"]))
            XCTAssertEqual(decoded.count, music.count - 2 * encoder.preSkip)
            let c = Correlation.best(reference: music, signal: decoded, maxLag: 2_000)
            print("Ogg Opus with 10 % lost frames via ffmpeg: \(c)")
            XCTAssertEqual(c.lag, 0)
            XCTAssertGreaterThan(c.coefficient, 0.8)
            decodedBy.append("ffmpeg")
        }
        if let opusdec = findExecutable("opusdec") {
            let wav = dir.appendingPathComponent("lossy.wav").path
            _ = try runTool(opusdec, ["--quiet", "--rate", "48000", path, wav])
            var reader = try AudioFileReader(path: wav)
            let decoded = try readAll(&reader)
            let c = Correlation.best(reference: music, signal: decoded, maxLag: 2_000)
            print("Ogg Opus with 10 % lost frames via opusdec: \(c)")
            XCTAssertGreaterThan(c.coefficient, 0.8)
            decodedBy.append("opusdec")
        }
        if decodedBy.isEmpty { throw XCTSkip("neither ffmpeg nor opusdec installed") }
    }

    func testOggOpusFromPCMAndInterruptedFile() throws {
        guard let ffmpeg = findExecutable("ffmpeg") else { throw XCTSkip("ffmpeg not installed") }
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("pcm.ogg").path
        let music = try testMusic(seconds: 2.5)
        let writer = try OggOpusWriter(path: path)
        var i = 0
        while i < music.count {
            try writer.write(pcm: Array(music[i..<(i + AudioFormat.samplesPerFrame)]))
            i += AudioFormat.samplesPerFrame
        }
        // Not finished yet: what is on disk must already play (two flushes of one second).
        let partial = samples(fromS16LE: try runTool(ffmpeg, ["-v", "error", "-i", path, "-f", "s16le", "-ac", "2", "-"]))
        XCTAssertGreaterThanOrEqual(partial.count, 2 * (96_000 - AudioFormat.defaultPreSkip) - 2 * 960)
        try writer.finish()
        let decoded = samples(fromS16LE: try runTool(ffmpeg, ["-v", "error", "-i", path, "-f", "s16le", "-ac", "2", "-"]))
        let c = Correlation.best(reference: music, signal: decoded, maxLag: 2_000)
        print("Ogg Opus from PCM via ffmpeg: \(c)")
        XCTAssertGreaterThanOrEqual(c.coefficient, 0.99)
    }

    func testRawPCMWriterWritesS16LE() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("raw.s16")
        XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: nil))
        let handle = try FileHandle(forWritingTo: url)
        let writer = RawPCMWriter(fileHandle: handle, name: url.path)
        try writer.write(pcm: [1, -2, 300, -32768])
        try writer.finish()
        try handle.close()
        XCTAssertEqual([UInt8](try Data(contentsOf: url)), [1, 0, 0xFE, 0xFF, 0x2C, 0x01, 0x00, 0x80])
    }

    func testFactoryPicksSinkByExtension() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertTrue(try AudioSinkFactory.make(path: dir.appendingPathComponent("a.wav").path) is WAVWriter)
        XCTAssertTrue(try AudioSinkFactory.make(path: dir.appendingPathComponent("a.WAV").path) is WAVWriter)
        XCTAssertTrue(try AudioSinkFactory.make(path: dir.appendingPathComponent("a.opus").path) is OggOpusWriter)
        XCTAssertTrue(try AudioSinkFactory.make(path: dir.appendingPathComponent("a.ogg").path) is OggOpusWriter)
        XCTAssertTrue(try AudioSinkFactory.make(path: "-") is RawPCMWriter)
        let mp3 = dir.appendingPathComponent("a.mp3").path
        XCTAssertThrowsError(try AudioSinkFactory.make(path: mp3)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(mp3) && text.contains(".wav") && text.contains(".opus") && text.contains(".ogg"), text)
            XCTAssertFalse(text.contains("\n"))
        }
        XCTAssertThrowsError(try AudioSinkFactory.make(path: "/nonexistent/dir/x.wav")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/dir/x.wav"))
        }
    }

    /// Parses the Ogg pages: OpusHead alone on a BOS page, OpusTags on the next page,
    /// granule positions non-decreasing, and the last page flagged end-of-stream.
    private func checkOggStructure(path: String, preSkip: Int) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var offset = 0
        var pages: [(flags: UInt8, granule: Int64, body: ArraySlice<UInt8>)] = []
        while offset + 27 <= bytes.count {
            XCTAssertEqual(Array(bytes[offset..<(offset + 4)]), Array("OggS".utf8))
            let flags = bytes[offset + 5]
            var granule: Int64 = 0
            for k in 0..<8 { granule |= Int64(bytes[offset + 6 + k]) << (8 * k) }
            let segments = Int(bytes[offset + 26])
            let bodyLength = bytes[(offset + 27)..<(offset + 27 + segments)].reduce(0) { $0 + Int($1) }
            let bodyStart = offset + 27 + segments
            pages.append((flags, granule, bytes[bodyStart..<(bodyStart + bodyLength)]))
            offset = bodyStart + bodyLength
        }
        XCTAssertEqual(offset, bytes.count)
        XCTAssertGreaterThanOrEqual(pages.count, 3)
        let head = Array(pages[0].body)
        XCTAssertEqual(pages[0].flags & 2, 2, "first page is BOS")
        XCTAssertEqual(head.count, 19)
        XCTAssertEqual(Array(head[0..<8]), Array("OpusHead".utf8))
        XCTAssertEqual(head[8], 1)
        XCTAssertEqual(head[9], 2)
        XCTAssertEqual(Int(head[10]) | Int(head[11]) << 8, preSkip)
        XCTAssertEqual(Array(head[12..<16]), [0x80, 0xBB, 0, 0])   // 48000
        XCTAssertEqual(Array(head[16..<19]), [0, 0, 0])
        XCTAssertEqual(Array(pages[1].body.prefix(8)), Array("OpusTags".utf8))
        XCTAssertTrue(Array(pages[1].body).starts(with: Array("OpusTags".utf8) + [6, 0, 0, 0] + Array("canopy".utf8)))
        XCTAssertEqual(pages[1].granule, 0)
        var last: Int64 = 0
        for page in pages.dropFirst(2) {
            XCTAssertGreaterThanOrEqual(page.granule, last)
            last = page.granule
        }
        XCTAssertEqual(pages.last!.flags & 4, 4, "last page is EOS")
        XCTAssertEqual(pages.dropLast().filter { $0.flags & 4 != 0 }.count, 0)
    }
}
