import Foundation
import QuillFuzzing

/// One input, the bytes of one file (libFuzzer's callback).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTarget.iamXML.run(Data(bytes: data, count: size))
    return 0
}

/// Built for fuzzing (`make fuzz`), hands control to libFuzzer; otherwise replays the files or directories given.
@main struct FuzzMain {
    static func main() {
        #if FUZZING
        exit(FuzzDriver.run(fuzzOneInput))
        #else
        FuzzReplay.main(.iamXML)
        #endif
    }
}
