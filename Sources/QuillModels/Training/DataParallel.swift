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

    /// Starts an in-place sum of `count` floats at `buffer` over the ranks (MPI_Iallreduce, in pieces of at most
    /// Int32.max) and returns its requests; the buffer must stay untouched until `wait` has returned on all of them.
    func startSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) -> [UnsafeMutableRawPointer?] {
        var requests: [UnsafeMutableRawPointer?] = []
        var offset = 0
        while offset < count {
            let n = min(count - offset, Int(Int32.max))
            var request: UnsafeMutableRawPointer?
            if quill_mpi_iallreduce_sum_float(buffer + offset, Int32(n), &request) != 0 { quill_mpi_abort(70) }
            requests.append(request)
            offset += n
        }
        return requests
    }

    /// Lets MPI move `request` on (MPI_Test); true once it has completed (the request is then nil).
    func test(_ request: inout UnsafeMutableRawPointer?) -> Bool {
        guard request != nil else { return true }
        var done: Int32 = 0
        if quill_mpi_test(&request, &done) != 0 { quill_mpi_abort(70) }
        return done != 0
    }

    /// Waits for `request` to complete (MPI_Wait); it is nil afterwards.
    func wait(_ request: inout UnsafeMutableRawPointer?) {
        guard request != nil else { return }
        if quill_mpi_wait(&request) != 0 { quill_mpi_abort(70) }
    }

    /// Whether the gradients are summed in buckets that overlap the backward pass (`GradientBuckets`), from the
    /// environment variable QUILL_MPI_BUCKETS: on (the default, also when unset or empty) or off (one
    /// MPI_Allreduce after the backward pass). Throws `TrainingError.invalidOption` for any other value.
    public static func bucketsSetting(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Bool {
        switch environment["QUILL_MPI_BUCKETS"]?.lowercased() {
        case nil, "", "on", "1", "yes", "true": return true
        case "off", "0", "no", "false": return false
        case let other?:
            throw TrainingError.invalidOption("QUILL_MPI_BUCKETS must be on or off, got \"\(other)\"")
        }
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
            throw TrainingError.invalidOption("the options, data or resume point of rank\(ranks.count > 1 ? "s" : "") "
                + ranks.map(String.init).joined(separator: ", ")
                + " differ from rank 0's; give every rank the same options, data files and --out run (copy them to every machine), then start the job again")
        }
    }

    /// FNV-1a, 64 bits: a stable hash of the fingerprint's UTF-8 bytes.
    static func hash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}

/// The gradient sum of one training step in buckets, each summed over the ranks with MPI_Iallreduce as soon as the
/// backward pass has finished its layers, so that the sums of the upper layers travel while the lower layers are
/// computed (the issue's "bucketed so that communication overlaps the backward pass of earlier layers").
///
/// A bucket is one of the model's `gradientGroups` (output layer, each recurrent layer from the top, layer 1 with the
/// window, the embedding), copied into its own flat buffer when the backward pass reports it final
/// (`GradientHooks.ready`); parameters to sum that are in no group would form a last bucket (none today: every
/// model's groups cover its parameters, and weight noise's σ gradients follow from the summed ones). Buckets start strictly in the groups' order on every rank, as MPI's collectives must: a bucket
/// reported early waits for those before it, and `finish` starts whatever the backward pass did not report (a rank
/// whose share of a short batch is empty runs no backward pass, and sums zeros in the same buckets).
///
/// Progress: Open MPI over shared memory or TCP has no thread of its own that moves a nonblocking collective on; it
/// moves only inside MPI calls. So every report, and every `GradientHooks.progress` call (each step of the
/// step-by-step layer 1 with a window), calls MPI_Test on the buckets in flight. Between two such calls (inside one
/// layer's sequence-mode backward) nothing moves, and `finish` waits (MPI_Wait) for what is left.
final class GradientBuckets {
    private let world: DataParallel
    private let groups: [[Parameter<Float>]]
    /// Per bucket: its flat buffer, in the order of its parameters.
    private let buffers: [UnsafeMutablePointer<Float>]
    private let counts: [Int]
    /// The bucket of each group's first parameter.
    private let bucketOf: [ObjectIdentifier: Int]
    private var reported: [Bool]
    private var requests: [[UnsafeMutableRawPointer?]]
    /// The first bucket not started this step.
    private var next = 0
    private var seconds = 0.0

    /// `groups`: the model's gradient groups in the order its backward pass reports them; `parameters`: every
    /// gradient to sum (the trainable ones).
    init(groups: [[Parameter<Float>]], parameters: [Parameter<Float>], world: DataParallel) {
        self.world = world
        let summed = Set(parameters.map(ObjectIdentifier.init))
        var seen = Set<ObjectIdentifier>(), kept: [[Parameter<Float>]] = [], index: [ObjectIdentifier: Int] = [:]
        for g in groups {
            let mine = g.filter { summed.contains(ObjectIdentifier($0)) && !seen.contains(ObjectIdentifier($0)) }
            guard let first = g.first, !mine.isEmpty else { continue }
            index[ObjectIdentifier(first)] = kept.count
            kept.append(mine)
            mine.forEach { seen.insert(ObjectIdentifier($0)) }
        }
        let rest = parameters.filter { !seen.contains(ObjectIdentifier($0)) }
        if !rest.isEmpty { kept.append(rest) }
        self.groups = kept
        bucketOf = index
        counts = kept.map { $0.scalarCount() }
        buffers = counts.map { UnsafeMutablePointer<Float>.allocate(capacity: max($0, 1)) }
        reported = [Bool](repeating: false, count: kept.count)
        requests = [[UnsafeMutableRawPointer?]](repeating: [], count: kept.count)
    }

    deinit { buffers.forEach { $0.deallocate() } }

    /// The buckets' sizes in floats, in the order they are summed.
    var bucketSizes: [Int] { counts }

    /// The hooks to give the backward pass.
    var hooks: GradientHooks<Float> {
        GradientHooks(ready: { [unowned self] in self.ready($0) }, progress: { [unowned self] in self.progress() })
    }

    /// The backward pass finished `group`: copy its gradients and start every bucket whose turn has come.
    func ready(_ group: [Parameter<Float>]) {
        guard let first = group.first, let k = bucketOf[ObjectIdentifier(first)], !reported[k] else { return }
        let start = DispatchTime.now().uptimeNanoseconds
        copyIn(k)
        reported[k] = true
        while next < groups.count && reported[next] { begin(next); next += 1 }
        testInFlight()
        seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// MPI_Test on the buckets in flight.
    func progress() {
        guard next > 0 else { return }
        let start = DispatchTime.now().uptimeNanoseconds
        testInFlight()
        seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Starts the buckets not started yet, waits for all and writes the sums into the gradients. Returns the seconds
    /// this step spent on the sum on this rank (copies, starts, tests and waits; the overlapped travel not counted).
    func finish() -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        while next < groups.count {
            if !reported[next] { copyIn(next) }
            begin(next); next += 1
        }
        for k in groups.indices {
            for i in requests[k].indices { world.wait(&requests[k][i]) }
            var offset = 0
            for p in groups[k] { p.grad.ptr.update(from: buffers[k] + offset, count: p.count); offset += p.count }
        }
        reported = reported.map { _ in false }
        next = 0
        let total = seconds + Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        seconds = 0
        return total
    }

    private func copyIn(_ k: Int) {
        var offset = 0
        for p in groups[k] { (buffers[k] + offset).update(from: p.grad.ptr, count: p.count); offset += p.count }
    }

    private func begin(_ k: Int) { requests[k] = world.startSum(buffers[k], count: counts[k]) }

    private func testInFlight() {
        for k in 0..<next {
            for i in requests[k].indices where requests[k][i] != nil { _ = world.test(&requests[k][i]) }
        }
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
