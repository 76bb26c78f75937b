import QuillCLI
#if canImport(Glibc)
import Glibc

/// Debian's OpenBLAS sees recent Xeons as Haswell and reads OPENBLAS_CORETYPE only when it loads, so on a CPU with
/// AVX-512 Quill sets it and re-executes itself once. QUILL_NO_REEXEC=1 turns this off.
func selectOpenBLASKernels() {
    guard getenv("OPENBLAS_CORETYPE") == nil, getenv("QUILL_NO_REEXEC") == nil,
          let cpuinfo = fopen("/proc/cpuinfo", "r") else { return }
    var hasAVX512 = false
    var line: UnsafeMutablePointer<CChar>? = nil
    var cap = 0
    while getline(&line, &cap, cpuinfo) > 0 {
        if let l = line, strncmp(l, "flags", 5) == 0 {
            hasAVX512 = strstr(l, " avx512f ") != nil && strstr(l, " avx512bw ") != nil
            break
        }
    }
    free(line)
    fclose(cpuinfo)
    guard hasAVX512 else { return }
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
    setenv("QUILL_NO_REEXEC", "1", 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
    // execv returns only on failure: carry on with the kernels already loaded.
}
selectOpenBLASKernels()
#endif

QuillEntry.run()
