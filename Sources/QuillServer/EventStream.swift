import Foundation
import Hummingbird
import QuillData
import QuillModels
import QuillRender
import QuillWriting

/// `POST /v1/write/stream`: the page as Server-Sent Events while it is written. Events, in order: `start` (the
/// lines and the scale of drafts), `points` (raw offsets of the first try, every few steps), `line` (each final,
/// placed line), and `done` (the whole `/v1/write` answer), or `error` (the error body) and the end.
extension QuillServer {
    /// Points of a line sent together in one `points` event: a few pen steps, a few milliseconds of sampling. The
    /// first point of the stream is sent alone, at once: the page draws as soon as there is ink.
    static let pointsPerEvent = 6
    /// How often the stream writes a comment line while nothing else is sent (waiting for a worker, writing a
    /// broken line again), so that a client that went away is noticed and its job stopped.
    static let heartbeat = Duration.milliseconds(250)

    /// One Server-Sent Event: `event: NAME` and its JSON `data`.
    static func event(_ name: String, _ data: Data) -> ByteBuffer {
        var buffer = ByteBuffer(string: "event: \(name)\ndata: ")
        buffer.writeBytes(data)
        buffer.writeString("\n\n")
        return buffer
    }

    static func event<T: Encodable>(_ name: String, _ value: T) -> ByteBuffer {
        event(name, (try? JSONEncoder.api.encode(value)) ?? Data("{}".utf8))
    }

    struct Start: Encodable { var lines: [String?]; var scale: Double }
    struct Points: Encodable { var line: Int; var points: [[Double]]; var phi: [[Double]]; var pi: [[Double]] }
    struct PlacedLine: Encodable {
        var line: Int, text: String, points: [[Double]], phi: [[Double]], pi: [[Double]]
    }

    /// Page points per raw model unit, for drawing drafts before the page is laid out: the line height over the
    /// height of the style's ink when there is a style (the network writes at about its size), else over 40 mean pen
    /// steps (about the height of a line of IAM-OnDB's writing). The `line` events carry the exact placement.
    func draftScale(_ job: Job) -> Double {
        let stats = writer.loaded.stats
        if let prime = try? writer.prime(for: job.request.hand),
           let ink = Rect.bounding(strokes: prime.strokes(stats: stats)), ink.height > 1e-9 {
            return job.request.lineHeight / ink.height
        }
        return job.request.lineHeight / (40 * max(stats.meanDx, 0.1 * stats.stdDx, 1e-9))
    }

    func stream(_ request: Request, _ context: ServerContext) async throws -> Response {
        let job = try await self.job(request, context)
        return try streamResponse(job, watch: await context.connectionWatch(), note: context.note)
    }

    /// The event stream of a checked job; 503 (thrown) when the queue is full. `watch`, the connection's, stops the
    /// job as soon as the client goes away (without it, the next event or heartbeat that fails to be written does);
    /// a job still waiting for a worker then leaves the queue. A stream that ends in an `error` event tells `note`
    /// that error's status, which the request log gives.
    func streamResponse(_ job: Job, watch: ConnectionWatch? = nil, note: RequestNote? = nil) throws -> Response {
        let flag = CancelFlag()
        watch?.watch(flag)
        let (events, continuation) = AsyncStream<ByteBuffer>.makeStream()
        // A reader that stops reading (the client went away) stops the job.
        continuation.onTermination = { _ in flag.raise() }
        continuation.yield(Self.event("start", Start(lines: job.lines, scale: draftScale(job))))
        let ticket = pool.submit({ writer in
            var pending: [Int: [KeptPoint]] = [:]
            var sentAny = false
            func send(_ line: Int) {
                guard let points = pending.removeValue(forKey: line), !points.isEmpty else { return }
                continuation.yield(Self.event("points", Points(
                    line: line, points: points.map { [$0.dx, $0.dy, $0.eos ? 1 : 0] },
                    phi: points.map { Answers.rounded($0.phi) }, pi: points.map { Answers.rounded($0.pi) })))
                sentAny = true
                self.configuration.afterPointsSent?()
            }
            let result = self.run(job, writer: writer, flag: flag, note: note) { point in
                pending[point.line, default: []].append(point)
                if !sentAny || pending[point.line, default: []].count >= Self.pointsPerEvent { send(point.line) }
            }
            for line in pending.keys.sorted() { send(line) }
            switch result {
            case let .success((written, answer)):
                for (i, line) in answer.lines.enumerated() {
                    guard let line, written.prepared.lines[i] != nil else { continue }
                    continuation.yield(Self.event("line", PlacedLine(line: i, text: line.text, points: line.points,
                                                                     phi: line.phi, pi: line.pi)))
                }
                continuation.yield(Self.event("done", answer))
            case let .failure(error):
                note?.status = error.status.code
                continuation.yield(Self.event("error", error.eventBody))
            }
            watch?.stop(watching: flag)
            continuation.finish()
        }, dropped: {
            if flag.isRaised { self.jobFinished?(.cancelled) }
            let error = flag.isRaised ? APIError.clientClosed : self.stopping
            note?.status = error.status.code
            continuation.yield(Self.event("error", error.eventBody))
            watch?.stop(watching: flag)
            continuation.finish()
        })
        guard let ticket else {
            watch?.stop(watching: flag)
            continuation.finish()
            throw busy
        }
        flag.whenRaised { [pool] in pool.withdraw(ticket) }
        return Response(status: .ok,
                        headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                        body: ResponseBody { writer in
                            let heartbeat = Task {
                                while !Task.isCancelled {
                                    try? await Task.sleep(for: Self.heartbeat)
                                    if Task.isCancelled { break }
                                    continuation.yield(ByteBuffer(string: ": still writing\n\n"))
                                }
                            }
                            defer { heartbeat.cancel() }
                            do {
                                for await buffer in events { try await writer.write(buffer) }
                                try await writer.finish(nil)
                            } catch {
                                // The client went away: stop the job (its remaining events go nowhere).
                                flag.raise()
                                throw error
                            }
                        })
    }
}
