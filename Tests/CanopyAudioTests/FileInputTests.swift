import XCTest
@testable import CanopyAudio

final class FileInputTests: XCTestCase {
    func testResampled44100ToneMatchesTheSameToneAt48k() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("tone44.wav").path
        try writeTestWAV(path: path, rate: 44_100, channels: 2,
                         samples: sine(frequency: 1_000, rate: 44_100, seconds: 2, channels: 2))
        var reader = try AudioFileReader(path: path)
        XCTAssertEqual(reader.fileSampleRate, 44_100)
        let converted = try readAll(&reader)
        // 2 s at 48 kHz = 96000 frames = exactly 100 frames of 960.
        XCTAssertEqual(converted.count, 96_000 * 2)
        let reference = sine(frequency: 1_000, rate: 48_000, seconds: 2, channels: 2)
        let direct = Correlation.coefficient(reference: reference, signal: converted)
        // A 1 kHz tone repeats every 48 frames, so search less than half a period.
        let best = Correlation.best(reference: reference, signal: converted, maxLag: 20)
        print("44.1 kHz → 48 kHz 1 kHz tone: correlation at lag 0 \(direct); best \(best)")
        XCTAssertGreaterThanOrEqual(direct, 0.99)
        XCTAssertEqual(best.lag, 0)
        // Level is preserved (no gain error from the filter).
        let rms = { (x: ArraySlice<Int16>) in (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)).squareRoot() }
        XCTAssertEqual(rms(converted[4_800..<187_200]), rms(reference[4_800..<187_200]), accuracy: 50)
    }

    func testOddAndHigherRatesConvertCorrectly() throws {
        // 44101 Hz has 48000 distinct phases (interpolated kernel path); 96 kHz is a
        // downsampling case (exact phase path). Both must give the same 1 kHz tone.
        let reference = sine(frequency: 1_000, rate: 48_000, seconds: 1, channels: 1)
        for rate in [44_101, 96_000, 22_050] {
            var resampler = Resampler(inputRate: rate, outputRate: 48_000, channels: 1)
            var out: [Float] = []
            resampler.process(sine(frequency: 1_000, rate: rate, seconds: 1, channels: 1).map { Float($0) / 32767 }, into: &out)
            resampler.flush(into: &out)
            XCTAssertEqual(out.count, 48_000)
            let c = Correlation.coefficient(reference: reference, signal: out.map { $0.clippedInt16 }, channels: 1)
            print("\(rate) Hz → 48 kHz 1 kHz tone: correlation \(c)")
            XCTAssertGreaterThanOrEqual(c, 0.999)
        }
    }

    func testResampledMusicAt44100MatchesMusicAt48k() throws {
        // Music generated at 48 kHz, taken down to 44.1 kHz and back up must survive.
        let music = try testMusic(seconds: 2)
        var down = Resampler(inputRate: 48_000, outputRate: 44_100, channels: 2)
        var mid: [Float] = []
        down.process(music.map { Float($0) / 32767 }, into: &mid)
        down.flush(into: &mid)
        XCTAssertEqual(mid.count, 88_200 * 2)
        var up = Resampler(inputRate: 44_100, outputRate: 48_000, channels: 2)
        var back: [Float] = []
        // Feed in odd-sized pieces to exercise the streaming state.
        var i = 0
        while i < mid.count {
            let n = min(2 * 1_237, mid.count - i)
            up.process(Array(mid[i..<(i + n)]), into: &back)
            i += n
        }
        up.flush(into: &back)
        XCTAssertEqual(back.count, music.count)
        let c = Correlation.coefficient(reference: music, signal: back.map { $0.clippedInt16 })
        print("music 48k → 44.1k → 48k: correlation \(c)")
        XCTAssertGreaterThanOrEqual(c, 0.99)
    }

    func testMonoIsDuplicatedAndLastFrameIsPadded() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("mono.wav").path
        let mono: [Int16] = (0..<1_000).map { Int16($0) }
        try writeTestWAV(path: path, rate: 48_000, channels: 1, samples: mono)
        var reader = try AudioFileReader(path: path)
        let out = try readAll(&reader)
        XCTAssertEqual(out.count, 2 * AudioFormat.samplesPerFrame)
        for i in 0..<1_000 {
            XCTAssertEqual(out[2 * i], Int16(i))
            XCTAssertEqual(out[2 * i + 1], Int16(i))
        }
        XCTAssertTrue(out[2_000...].allSatisfy { $0 == 0 })
        XCTAssertNil(try reader.nextFrame())
    }

    func testMoreThanTwoChannelsIsAnErrorNamingTheCount() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("six.wav").path
        try writeTestWAV(path: path, rate: 48_000, channels: 6, samples: [Int16](repeating: 0, count: 6 * 100))
        XCTAssertThrowsError(try AudioFileReader(path: path)) { error in
            XCTAssertEqual(error as? AudioError, .unsupportedChannelCount(path: path, channels: 6))
            XCTAssertTrue("\(error)".contains("6 channels"))
        }
    }

    func testMissingFileErrorIsOneLineNamingThePath() throws {
        let path = "/nonexistent/dir/song.flac"
        XCTAssertThrowsError(try AudioFileReader(path: path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(path))
            XCTAssertTrue(text.contains("no such file"))
            XCTAssertFalse(text.contains("\n"))
            XCTAssertEqual((error as? LocalizedError)?.errorDescription, text)
        }
    }

    func testNonAudioFileIsAnError() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("notes.wav").path
        try Data("not audio at all".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try AudioFileReader(path: path)) { error in
            guard case .cannotOpenInput(let p, _)? = error as? AudioError else { return XCTFail("\(error)") }
            XCTAssertEqual(p, path)
            XCTAssertFalse("\(error)".contains("\n"))
        }
    }

    func testFLACViaSox() throws {
        guard let sox = findExecutable("sox") else { throw XCTSkip("sox not installed") }
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let wav = dir.appendingPathComponent("in.wav").path
        let flac = dir.appendingPathComponent("in.flac").path
        let music = try testMusic(seconds: 1)
        try writeTestWAV(path: wav, rate: 48_000, channels: 2, samples: music)
        _ = try runTool(sox, [wav, flac])
        var reader = try AudioFileReader(path: flac)
        XCTAssertEqual(try readAll(&reader), music)   // FLAC is lossless
    }

    func testRawPCMReaderFramesAndPads() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("raw.s16")
        let samples: [Int16] = (0..<(AudioFormat.samplesPerFrame + 10)).map { Int16(truncatingIfNeeded: $0 * 7 - 3_000) }
        var data = Data()
        for s in samples { withUnsafeBytes(of: s.littleEndian) { data.append(contentsOf: $0) } }
        try data.write(to: url)
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var reader = RawPCMReader(fileHandle: handle)
        let out = try readAll(&reader)
        XCTAssertEqual(out.count, 2 * AudioFormat.samplesPerFrame)
        XCTAssertEqual(Array(out[0..<samples.count]), samples)
        XCTAssertTrue(out[samples.count...].allSatisfy { $0 == 0 })
    }

    func testTestSignalIsMusicLikeAndDeterministic() throws {
        let a = try testMusic(seconds: 4)
        let b = try testMusic(seconds: 4)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.count, 4 * 48_000 * 2)
        // Not silent, not clipped, channels differ (panning), loudness varies (envelopes).
        let peak = a.map { abs(Int($0)) }.max()!
        XCTAssertGreaterThan(peak, 8_000)
        XCTAssertLessThan(peak, 32_767)
        XCTAssertNotEqual(stride(from: 0, to: a.count, by: 2).map { a[$0] },
                          stride(from: 1, to: a.count, by: 2).map { a[$0] })
        // The four chords differ: one second is a poor match for the next.
        let second = 96_000
        let c = Correlation.coefficient(reference: Array(a[0..<second]), signal: Array(a[second..<(2 * second)]))
        XCTAssertLessThan(c, 0.8)
        var tone = TestSignal(kind: .tone(frequency: 440), seconds: 0.05)
        XCTAssertEqual(try readAll(&tone).count, 3 * AudioFormat.samplesPerFrame)
    }
}
