import Foundation

/// A fixed set of threads that run sampling jobs, with a bounded queue in front of them. Sampling is seconds of CPU
/// work; it runs here, off Swift's cooperative threads and NIO's event loops, so the server keeps answering (health
/// checks, errors, 503s) while every worker is busy.
///
/// Each worker owns one `Resource` (a loaded model), so no two jobs ever share one. A job that has not started can
/// be withdrawn (its client went away): its queue slot is free at once, and its `dropped` closure is called.
final class WorkerPool<Resource>: @unchecked Sendable {
    /// A job, given the worker's resource.
    typealias Job = (Resource) -> Void

    /// A queued job: what it runs, and what to do instead when it is withdrawn or dropped at shutdown.
    private struct Queued {
        var ticket: Int
        var job: Job
        var dropped: () -> Void
    }

    private let condition = NSCondition()
    private var pending: [Queued] = []
    private var nextTicket = 0
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

    /// Queues `job` and returns its ticket (for `withdraw`); nil when every worker is busy and the queue is full
    /// (nothing is queued then). Exactly one of `job` and `dropped` is called: `dropped` when the job is withdrawn
    /// or the pool shuts down before it starts.
    func submit(_ job: @escaping Job, dropped: @escaping () -> Void = {}) -> Int? {
        condition.lock(); defer { condition.unlock() }
        guard !stopping, busy + pending.count < workers + queueLimit else { return nil }
        nextTicket += 1
        pending.append(Queued(ticket: nextTicket, job: job, dropped: dropped))
        condition.signal()
        return nextTicket
    }

    /// Takes the job of `ticket` out of the queue if it has not started, and calls its `dropped`; false when it has
    /// started (or ended) already.
    @discardableResult
    func withdraw(_ ticket: Int) -> Bool {
        condition.lock()
        guard let index = pending.firstIndex(where: { $0.ticket == ticket }) else { condition.unlock(); return false }
        let queued = pending.remove(at: index)
        condition.unlock()
        queued.dropped()
        return true
    }

    /// Jobs queued and not started.
    var waiting: Int { condition.lock(); defer { condition.unlock() }; return pending.count }

    /// Lets the workers finish their current jobs and end; queued jobs that have not started are dropped (their
    /// `dropped` is called).
    func shutdown() {
        condition.lock()
        stopping = true
        let dropped = pending
        pending.removeAll()
        condition.broadcast()
        condition.unlock()
        for queued in dropped { queued.dropped() }
    }

    private func work(_ resource: Resource) {
        while true {
            condition.lock()
            while pending.isEmpty && !stopping { condition.wait() }
            if stopping { condition.unlock(); return }
            let queued = pending.removeFirst()
            busy += 1
            condition.unlock()
            queued.job(resource)
            condition.lock()
            busy -= 1
            condition.unlock()
        }
    }
}

/// A flag a request raises to stop its job: its client went away (a closed connection, a dropped stream, a cancelled
/// task). Actions registered with `whenRaised` (withdrawing a queued job) run once, when it is raised.
final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false
    private var actions: [() -> Void] = []

    func raise() {
        lock.lock()
        let run = raised ? [] : actions
        raised = true
        actions = []
        lock.unlock()
        for action in run { action() }
    }

    var isRaised: Bool { lock.lock(); defer { lock.unlock() }; return raised }

    /// Runs `action` when the flag is raised: at once if it is up already.
    func whenRaised(_ action: @escaping () -> Void) {
        lock.lock()
        if raised { lock.unlock(); action(); return }
        actions.append(action)
        lock.unlock()
    }
}
