import A2ATSFuzzTargets
import Foundation

/// The parser under fuzz, named by `FUZZ_TARGET` (libFuzzer owns the command line).
private let target: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget.named(name) else {
        let names = FuzzTarget.all.map(\.name).joined(separator: ", ")
        FileHandle.standardError.write(Data("FUZZ_TARGET=\"\(name)\" is not a fuzz target (\(names))\n".utf8))
        exit(2)
    }
    return target
}()

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                                 _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                                 _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// libFuzzer's per-input callback. A `FuzzFailure` is exactly what the fuzzer hunts: stopping
/// here makes libFuzzer save the input as `crash-…`, with the message above it in the log.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    do {
        _ = try target.run(UnsafeRawBufferPointer(start: data, count: size))
    } catch {
        fatalError("\(error)")
    }
    return 0
}

/// SwiftPM links an executable's `main` to `<module>_main`, and `-sanitize=fuzzer` links
/// libFuzzer's own `main` too (scripts/fuzz.sh lets the linker keep one of the two). Either
/// way the same driver runs: this one hands the command line to libFuzzer's.
@_cdecl("a2ats_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    // libFuzzer ends with exit(); crashes leave the scratch files beside the reproducer's log.
    atexit { FuzzScratch.removeAll() }
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { fuzzOneInput($0, $1) }
}
