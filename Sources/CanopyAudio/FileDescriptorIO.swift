import Foundation

/// Small POSIX helpers shared by the sinks: writing whole buffers and positional
/// patches without going through Foundation's buffering, so a flush really reaches
/// the kernel.
enum FileDescriptorIO {
    /// Writes all of `bytes` at the current offset, retrying on EINTR and short writes.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, name: String) throws {
        try retrying(bytes, name: name) { offset in write(fd, bytes.baseAddress! + offset, bytes.count - offset) }
    }

    /// Writes `bytes` at absolute `position` without moving the file offset.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at position: Int, name: String) throws {
        try retrying(bytes, name: name) { offset in
            pwrite(fd, bytes.baseAddress! + offset, bytes.count - offset, off_t(position + offset))
        }
    }

    /// Calls `step(offset)` until every byte is written; EINTR retries, anything else throws.
    private static func retrying(_ bytes: UnsafeRawBufferPointer, name: String, _ step: (Int) -> Int) throws {
        var offset = 0
        while offset < bytes.count {
            let n = step(offset)
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                throw AudioError.writeFailed(path: name, reason: n < 0 ? String(cString: strerror(errno)) : "no progress")
            }
        }
    }

    /// Creates (truncating) `path` for writing.
    static func create(_ path: String) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd < 0 {
            throw AudioError.cannotCreateOutput(path: path, reason: String(cString: strerror(errno)))
        }
        return fd
    }
}

/// Int16 samples to s16le bytes.
enum PCMBytes {
    static func appendLittleEndian(_ pcm: [Int16], to out: inout [UInt8]) {
        #if _endian(little)
        pcm.withUnsafeBytes { out.append(contentsOf: $0) }
        #else
        for s in pcm {
            let v = UInt16(bitPattern: s)
            out.append(UInt8(truncatingIfNeeded: v))
            out.append(UInt8(truncatingIfNeeded: v >> 8))
        }
        #endif
    }
}
