import Foundation

/// A fixed set of threads that run sampling jobs, with a bounded queue in front of them. Sampling is seconds of CPU
/// work; it runs here, off Swift's cooperative threads and NIO's event loops, so the server keeps answering (health
/// checks, errors, 503s) while every worker is busy.
///
/// Each worker owns one `Resource` (a loaded model), so no two jobs ever share one.
final class WorkerPool<Resource>: @unchecked Sendable {
    /// A job, given the worker's resource.
    typealias Job = (Resource) -> Void

    private let condition = NSCondition()
    private var pending: [Job] = []
    private var busy = 0
    private var stopping = false
    private var threads: [Thread] = []
    let workers: Int
    let queueLimit: Int

    /// Starts one thread per resource; `queueLimit` jobs may wait beyond those the workers are running.
    init(resources: [Resource], queueLimit: Int) {
        workers = resources.count
        self.queueLimit = queueLimit
        for (i, resource) in resources.enumerated() {
            // The threads hold the pool until `shutdown` lets them end.
            let thread = Thread { self.work(resource) }
            thread.name = "quill-worker-\(i + 1)"
            // Sampling keeps large buffers on the heap; the default secondary-thread stack is small on some systems.
            thread.stackSize = 16 << 20
            threads.append(thread)
            thread.start()
        }
    }

    /// Queues `job`; false when every worker is busy and the queue is full (nothing is queued then).
    func submit(_ job: @escaping Job) -> Bool {
        condition.lock(); defer { condition.unlock() }
        guard !stopping, busy + pending.count < workers + queueLimit else { return false }
        pending.append(job)
        condition.signal()
        return true
    }

    /// Lets the workers finish their current jobs and end; queued jobs that have not started are dropped.
    func shutdown() {
        condition.lock()
        stopping = true
        pending.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    private func work(_ resource: Resource) {
        while true {
            condition.lock()
            while pending.isEmpty && !stopping { condition.wait() }
            if stopping { condition.unlock(); return }
            let job = pending.removeFirst()
            busy += 1
            condition.unlock()
            job(resource)
            condition.lock()
            busy -= 1
            condition.unlock()
        }
    }
}

/// A flag a request raises to stop its sampling job: the client went away, or its time ran out.
final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false

    func raise() { lock.lock(); raised = true; lock.unlock() }

    var isRaised: Bool { lock.lock(); defer { lock.unlock() }; return raised }
}
