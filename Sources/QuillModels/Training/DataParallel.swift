import CQuillMPI
import Foundation
import QuillNumerics

/// The processes of one synchronous data-parallel training job, and the MPI calls the training run makes.
///
/// Quill loads Open MPI at run time (`CQuillMPI`: dlopen of libmpi.so.40), and only when a launcher started the
/// process with more than one rank (mpirun sets OMPI_COMM_WORLD_SIZE; srun sets PMI_SIZE or PMIX_SIZE). So a
/// `quill` built on a machine without MPI builds and runs alone, and the same binary joins an MPI job where Open MPI
/// is installed. A process started alone, or by `mpirun -np 1`, never touches MPI: it is the single world.
public final class DataParallel {
    /// This process's rank, 0..<size; rank 0 alone writes checkpoints, metrics and progress.
    public let rank: Int
    /// The number of processes in the job.
    public let size: Int

    init(rank: Int, size: Int) {
        self.rank = rank
        self.size = size
    }

    /// The rank the launcher gave this process (OMPI_COMM_WORLD_RANK, PMI_RANK or PMIX_RANK), 0 outside a job;
    /// known before MPI starts.
    public static let launcherRank: Int = {
        let env = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"].lazy.compactMap { env[$0].flatMap(Int.init) }.first ?? 0
    }()

    /// A process on its own: rank 0 of 1, no MPI.
    public static let single = DataParallel(rank: 0, size: 1)
    nonisolated(unsafe) private static var joined: DataParallel?
    private static let lock = NSLock()

    /// The job this process belongs to: `single` unless a launcher started more than one rank, in which case the
    /// first call loads Open MPI and initialises it. Throws `TrainingError.invalidOption` naming what to install
    /// when Open MPI cannot be loaded.
    public static func world() throws -> DataParallel {
        lock.lock(); defer { lock.unlock() }
        if let joined { return joined }
        guard quill_mpi_launcher_size() > 1 else { return single }
        var message = [CChar](repeating: 0, count: 512)
        guard quill_mpi_init(&message, message.count) == 0 else {
            throw TrainingError.invalidOption(String(cString: message))
        }
        let world = DataParallel(rank: Int(quill_mpi_rank()), size: Int(quill_mpi_size()))
        joined = world
        return world
    }

    /// Ends MPI cleanly (MPI_Finalize) if this process joined a job; call once, as the process ends well.
    public static func finish() {
        lock.lock(); defer { lock.unlock() }
        if joined != nil { _ = quill_mpi_finalize() }
        joined = nil
    }

    /// Ends every rank of the job (MPI_Abort with `code`) if this process joined one; returns otherwise. The error
    /// path calls it after printing its message, so that the other ranks stop instead of waiting for this one.
    public static func abortJob(code: Int32) {
        lock.lock(); let inJob = joined != nil; lock.unlock()
        if inJob { quill_mpi_abort(code) }
    }

    // MARK: - Collectives (every rank must call each, in the same order)

    /// Sums `values` over the ranks, in place.
    func sum(_ values: inout [Float]) {
        guard size > 1 else { return }
        let rc = values.withUnsafeMutableBufferPointer { quill_mpi_allreduce_sum_float($0.baseAddress, $0.count) }
        if rc != 0 { quill_mpi_abort(70) }
    }

    /// Sums `values` over the ranks, in place.
    func sum(_ values: inout [Double]) {
        guard size > 1 else { return }
        let rc = values.withUnsafeMutableBufferPointer { quill_mpi_allreduce_sum_double($0.baseAddress, $0.count) }
        if rc != 0 { quill_mpi_abort(70) }
    }

    /// Rank 0's `values` on every rank (all ranks pass arrays of the same length).
    func fromRankZero(_ values: [Double]) -> [Double] {
        guard size > 1 else { return values }
        var v = values
        let rc = v.withUnsafeMutableBytes { quill_mpi_bcast_bytes($0.baseAddress, Int32($0.count), 0) }
        if rc != 0 { quill_mpi_abort(70) }
        return v
    }

    /// Sums the gradients of `parameters` over the ranks through one flat buffer (one MPI_Allreduce per step).
    /// Returns the seconds spent in the sum, copies included.
    @discardableResult
    func sumGradients(_ parameters: [Parameter<Float>], buffer: inout [Float]) -> Double {
        guard size > 1 else { return 0 }
        let start = DispatchTime.now().uptimeNanoseconds
        let total = parameters.reduce(0) { $0 + $1.count }
        if buffer.count != total { buffer = [Float](repeating: 0, count: total) }
        buffer.withUnsafeMutableBufferPointer { flat in
            guard let base = flat.baseAddress else { return }
            var offset = 0
            for p in parameters { (base + offset).update(from: p.grad.ptr, count: p.count); offset += p.count }
        }
        sum(&buffer)
        buffer.withUnsafeBufferPointer { flat in
            guard let base = flat.baseAddress else { return }
            var offset = 0
            for p in parameters { p.grad.ptr.update(from: base + offset, count: p.count); offset += p.count }
        }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Compares `fingerprint` (the options and data of this rank) with rank 0's. Throws
    /// `TrainingError.invalidOption` on every rank when any rank differs, naming the ranks.
    func checkSameRun(_ fingerprint: String) throws {
        guard size > 1 else { return }
        let mine = Self.hash(fingerprint)
        // A 64-bit hash as two exact 32-bit halves (Doubles hold integers below 2^53 exactly).
        let rootHash = fromRankZero([Double(mine >> 32), Double(mine & 0xFFFF_FFFF)])
        var differs = [Double](repeating: 0, count: size)
        if UInt64(rootHash[0]) << 32 | UInt64(rootHash[1]) != mine { differs[rank] = 1 }
        sum(&differs)
        let ranks = differs.indices.filter { differs[$0] != 0 }
        guard ranks.isEmpty else {
            throw TrainingError.invalidOption("the options or data of rank\(ranks.count > 1 ? "s" : "") "
                + ranks.map(String.init).joined(separator: ", ")
                + " differ from rank 0's; give every rank the same options and the same data files (copy them to every machine), then start the job again")
        }
    }

    /// FNV-1a, 64 bits: a stable hash of the fingerprint's UTF-8 bytes.
    static func hash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}

/// The share of every global batch that one rank computes.
public struct Shard: Equatable, Sendable {
    public var rank: Int
    public var size: Int

    public init(rank: Int = 0, size: Int = 1) {
        self.rank = rank
        self.size = size
    }

    /// The whole batch: one process.
    public static let whole = Shard()

    /// This rank's contiguous block of `count` items: [count·rank/size, count·(rank+1)/size). The blocks of all ranks
    /// cover 0..<count once, in order; their sizes differ by at most one.
    public func block(of count: Int) -> Range<Int> {
        (count * rank / size)..<(count * (rank + 1) / size)
    }

    /// Why a global batch of `batch` cannot be split evenly over the ranks, or nil.
    public func batchProblem(_ batch: Int) -> String? {
        batch % size == 0 ? nil
            : "--batch \(batch) is not divisible by the \(size) ranks of the MPI job; give a --batch that is a multiple of \(size), or start a number of ranks that divides \(batch)"
    }
}
