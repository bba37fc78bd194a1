import CKernels
import Glibc

/// Floats whose pages forks share until they write: the shared prefill's K/V, forked once per
/// method × budget decoded together. A fork maps the same anonymous file privately, so it costs
/// page-table entries, and a page of its own only where it writes (a few rows after the prompt
/// per layer and head), not a copy of the prompt's K/V.
///
/// Linux semantics: a fork's unwritten pages show later writes to the original, so the original
/// must stay unchanged while forks live (the harness forks after the prefill and writes the
/// shared cache again only once they are gone). Where `memfd_create` is refused, buffers are
/// plain anonymous memory and a fork is a full copy: the same results, more memory.
public final class CopyOnWriteFloats {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>
    private let bytes: Int
    /// The anonymous file behind an original; -1 for forks and copies.
    private let file: Int32

    /// `count` floats, zeroed.
    public init(count: Int) {
        self.count = count
        bytes = max(1, count) * MemoryLayout<Float>.stride
        let file = a2ats_memfd_create("a2ats-kv")
        if file >= 0, ftruncate(file, off_t(bytes)) == 0 {
            self.file = file
            pointer = Self.map(bytes: bytes, flags: MAP_SHARED, file: file)
        } else {
            if file >= 0 { close(file) }
            self.file = -1
            pointer = Self.map(bytes: bytes, flags: MAP_PRIVATE | MAP_ANONYMOUS, file: -1)
        }
    }

    private init(count: Int, bytes: Int, pointer: UnsafeMutablePointer<Float>) {
        self.count = count
        self.bytes = bytes
        self.pointer = pointer
        file = -1
    }

    /// A private view of these floats as they are now: its writes stay its own.
    public func fork() -> CopyOnWriteFloats {
        if file >= 0 {
            return CopyOnWriteFloats(count: count, bytes: bytes,
                                     pointer: Self.map(bytes: bytes, flags: MAP_PRIVATE, file: file))
        }
        let copy = Self.map(bytes: bytes, flags: MAP_PRIVATE | MAP_ANONYMOUS, file: -1)
        copy.update(from: pointer, count: count)
        return CopyOnWriteFloats(count: count, bytes: bytes, pointer: copy)
    }

    /// Whether forks share pages (false: each fork is a copy).
    public var sharesPages: Bool { file >= 0 }

    deinit {
        munmap(pointer, bytes)
        if file >= 0 { close(file) }
    }

    private static func map(bytes: Int, flags: Int32, file: Int32) -> UnsafeMutablePointer<Float> {
        let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, flags, file, 0)
        guard let address, address != MAP_FAILED else {
            fatalError("mmap of \(bytes) bytes for K/V failed: errno \(errno)")
        }
        return address.assumingMemoryBound(to: Float.self)
    }
}
