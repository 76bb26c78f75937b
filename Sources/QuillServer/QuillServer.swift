import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTP1
import QuillIO
import QuillData
import QuillModels
import QuillRender
import QuillWriting

/// What a request's context carries past its handler: what the request log line says about the request.
final class RequestNote: @unchecked Sendable {
    private let lock = NSLock()
    private var _text: String?
    private var _status: Int?
    var text: String? {
        get { lock.lock(); defer { lock.unlock() }; return _text }
        set { lock.lock(); _text = newValue; lock.unlock() }
    }
    /// The status the answer's body settled on, when it is not the head's: a stream (sent as 200) that ends in an
    /// `error` event has that error's status (504 past the time limit, 499 when the client went away).
    var status: Int? {
        get { lock.lock(); defer { lock.unlock() }; return _status }
        set { lock.lock(); _status = newValue; lock.unlock() }
    }

    /// When a sampling job reached each of its stages, for the log.
    struct Timing {
        /// A worker took the job.
        var worker: ContinuousClock.Instant?
        /// Sampling began: the text prepared and the style's prime loaded, the network about to read the prime (or
        /// to write, without one).
        var sampling: ContinuousClock.Instant?
        /// The first kept point (a stream sends it at once), and the network steps taken up to it: one per row of
        /// the prime but its last (the input of the first sampled step), the steps that finish the prime's last
        /// letter, and the point's own.
        var firstPoint: ContinuousClock.Instant?
        var stepsToFirstPoint = 0
    }
    private var _timing = Timing()
    var timing: Timing { lock.lock(); defer { lock.unlock() }; return _timing }
    /// Notes a stage: `change` sets its instant.
    func time(_ change: (inout Timing) -> Void) { lock.lock(); change(&_timing); lock.unlock() }
}

/// The request context of `quill serve`: Hummingbird's, a note for the log, and the request's connection (to
/// find its `ConnectionWatch`).
struct ServerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let note = RequestNote()
    let channel: any Channel
    init(source: Source) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The connection's watch (nil where there is none: Hummingbird's router test client has no pipeline of ours).
    func connectionWatch() async -> ConnectionWatch? {
        try? await channel.pipeline.handler(type: ConnectionWatch.self).get()
    }
}

/// How a sampling job ended, as `ServerConfiguration.jobFinished` is told.
public enum JobOutcome: Equatable, Sendable {
    case completed
    /// The client went away (a dropped stream or connection): the job was stopped.
    case cancelled
    /// The request's time limit ran out.
    case timedOut
    case failed(String)
}

/// `quill serve`: the web page and the HTTP API over one synthesis model (see /openapi.json and the README).
///
/// Pages are written on a pool of `workers` threads, one loaded copy of the model each, with a bounded queue in
/// front; every request is checked before it is queued and held to a body size and a time limit. Nothing in a
/// request names a file, a model or a command: styles are chosen by name among the model's own.
public final class QuillServer: Sendable {
    public let configuration: ServerConfiguration
    /// Told how each sampling job ended (tests watch cancellation through it).
    let jobFinished: (@Sendable (JobOutcome) -> Void)?
    let pool: WorkerPool<HandwritingWriter>
    /// A writer for the work done in handlers (checking a text against the alphabet, loading a style's prime).
    let writer: HandwritingWriter
    let scratch: URL

    /// Loads the synthesis model at `file` (`directory` holds its styles) once per worker.
    /// - Throws: what loading the checkpoint throws; `ServerError` for settings out of range.
    public init(configuration: ServerConfiguration, modelDirectory directory: String, modelFile file: String,
                jobFinished: (@Sendable (JobOutcome) -> Void)? = nil) throws {
        if let problem = configuration.problem() { throw ServerError(problem) }
        self.configuration = configuration
        self.jobFinished = jobFinished
        var writers: [HandwritingWriter] = []
        for _ in 0..<configuration.workers {
            writers.append(HandwritingWriter(loaded: try HandwritingCheckpoint.load(file, expecting: .synthesis),
                                             directory: directory))
        }
        // Invariant: problem() refuses fewer than one worker, so writers has one at least.
        writer = writers[0]
        pool = WorkerPool(resources: writers, queueLimit: configuration.queueLimit)
        scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("quill-serve-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    /// Stops the workers (after their current jobs) and removes the server's scratch folder.
    public func shutdown() {
        pool.shutdown()
        try? FileManager.default.removeItem(at: scratch)
    }

    // MARK: - The application

    /// The routes, with request logging, JSON errors and (with `cors`) CORS. Every GET route answers HEAD too, as
    /// GET without the body (RFC 9110 §9.3.2).
    /// `routes` learns the routes (for the connections' answers to requests the router never sees).
    func router(routes: KnownRoutes = KnownRoutes()) -> Router<ServerContext> {
        let router = Router(context: ServerContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: RequestLog(configuration: configuration))
        router.add(middleware: HeadResponses())
        // Middleware applies to the routes added after it, so CORS and the errors learn the routes once they are all
        // added.
        if let origin = configuration.cors { router.add(middleware: CORS(origin: origin, routes: routes)) }
        router.add(middleware: JSONErrors(routes: routes))
        router.get("/") { _, _ in Self.page }
        router.get("/healthz") { _, _ in Self.json(Data(#"{"status":"ok"}"#.utf8)) }
        router.get("/openapi.json") { _, _ in Self.json(Data(OpenAPI.document.utf8)) }
        router.get("/v1/model") { _, _ in try self.model() }
        router.get("/v1/styles") { _, _ in try self.styles() }
        router.post("/v1/write") { request, context in try await self.write(request, context) }
        router.post("/v1/write/stream") { request, context in try await self.stream(request, context) }
        router.post("/v1/render") { request, context in try await self.render(request, context) }
        routes.set(router.routes.map { (path: "\($0.path)", method: $0.method) })
        return router
    }

    /// The application: binds `host:port`; `onRunning` is told the port it listens on once it does. Connections
    /// idle for `idleTimeout` seconds (a request's head arriving too slowly included) are closed, at most
    /// `maxConnections` are open at once, and HTTP/1.0's and `Connection: close`'s end of the connection is kept
    /// (`QuillHTTP1Channel`), which also answers and logs requests too malformed for the router to see.
    public func application(onRunning: @escaping @Sendable (Int) -> Void = { _ in }) -> some ApplicationProtocol {
        let http1 = HTTP1Channel.Configuration(additionalChannelHandlers: [ConnectionWatch()],
                                               idleTimeout: .milliseconds(Int64(configuration.idleTimeout * 1000)))
        let routes = KnownRoutes()
        let log = configuration.log
        let (maxBody, maxRenderBody) = (configuration.maxBody, configuration.maxRenderBody)
        // `Expect: 100-continue` is answered 100 only where `body` would read the body: a POST route, JSON, a
        // Content-Length within the limit (else its 413 or 415 comes at once).
        let allowsContinue: @Sendable (HTTPRequestHead) -> Bool = { head in
            let path = String(head.uri.prefix { $0 != "?" })
            guard head.method == .POST, routes.methods(for: path)?.contains(.post) == true,
                  Self.contentTypeProblem(head.headers.first(name: "content-type")) == nil else { return false }
            let limit = path == "/v1/render" ? maxRenderBody : maxBody
            return head.headers.first(name: "content-length").flatMap(Int.init).map { $0 <= limit } ?? true
        }
        return Application(router: router(routes: routes),
                           server: HTTPServerBuilder { responder in
                               QuillHTTP1Channel(responder: responder, configuration: http1, routes: routes, log: log,
                                                 allowsContinue: allowsContinue)
                           },
                           configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                                                serverName: "quill",
                                                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections)),
                           onServerRunning: { channel in onRunning(channel.localAddress?.port ?? self.configuration.port) })
    }

    // MARK: - Simple answers

    static let page: Response = {
        let bytes = PackageResources.index_html
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }()

    static func json(_ data: Data, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func json<T: Encodable>(_ value: T) throws -> Response { json(try JSONEncoder.api.encode(value)) }

    /// Every character the model writes, in alphabet order (the unknown symbol left out).
    var alphabet: String {
        let a = writer.loaded.alphabet
        return a.symbols.dropFirst(a.hasUnknownSymbol ? 1 : 0).joined()
    }

    func model() throws -> Response {
        struct Model: Encodable {
            var kind = "synthesis", alphabet: String, parameters: Int, layers: Int, hidden: Int, mixtures: Int
            var window: Int, maxChars: Int, bias: [String: Double]
        }
        let c = writer.loaded.model.config
        return try Self.json(Model(alphabet: alphabet, parameters: writer.loaded.model.parameters.scalarCount(),
                                   layers: c.layers, hidden: c.hidden, mixtures: c.mixture.components,
                                   window: c.windowComponents, maxChars: configuration.maxChars,
                                   bias: ["min": WriteBody.biasRange.lowerBound, "max": WriteBody.biasRange.upperBound]))
    }

    func styles() throws -> Response {
        struct Styles: Encodable {
            var styles: [String]; var `default`: String?
            func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: AnyKey.self)
                try c.encode(styles, forKey: AnyKey("styles"))
                try c.encode(`default`, forKey: AnyKey("default"))  // null when the model has no default style
            }
        }
        let names = writer.styles
        return try Self.json(Styles(styles: names,
                                    default: names.contains(HandwritingStyle.defaultName) ? HandwritingStyle.defaultName : nil))
    }

    // MARK: - Reading and checking a write request

    /// A write request checked and turned into a page request, with the style's name for the answer and the
    /// prepared lines.
    struct Job: Sendable {
        var request: PageRequest
        var style: String?
        var lines: [String?]
        /// When the request must be answered by.
        var deadline: ContinuousClock.Instant
    }

    /// The body, read up to `maxBody` bytes (`maxRenderBody` with `render`) by `deadline`: 415 unless it is sent as
    /// JSON, 413 beyond the limit, 408 (and the connection closed) when it has not all arrived by then.
    func body(_ request: Request, by deadline: ContinuousClock.Instant, render: Bool = false) async throws -> ByteBuffer {
        if let problem = Self.contentTypeProblem(request.headers[.contentType]) {
            throw APIError(.unsupportedMediaType, problem)
        }
        let limit = render ? configuration.maxRenderBody : configuration.maxBody
        let option = render ? "--max-render-body" : "--max-body"
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError(.contentTooLarge, "the body has \(length) bytes, more than the server's limit of \(limit) (\(option))")
        }
        do {
            let body = try await Self.within(deadline) { try await request.body.collect(upTo: limit) }
            // A body that ends before its Content-Length: the client went away while sending it (logged as 499,
            // not as a malformed body).
            if let length = request.headers[.contentLength].flatMap(Int.init), body.readableBytes < length {
                var error = APIError.clientClosed
                error.closeConnection = true
                throw error
            }
            return body
        } catch let e as HTTPResponseError where e.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "the body has more than the server's limit of \(limit) bytes (\(option))")
        } catch is PastDeadline {
            var error = APIError(.requestTimeout, "the body did not arrive within this server's time limit of \(OptionText.seconds(configuration.timeout)) s (quill serve --timeout)")
            error.closeConnection = true
            throw error
        }
    }

    /// Thrown by `within` when the deadline comes first.
    struct PastDeadline: Error {}

    /// The value of `work`, or `PastDeadline` once `deadline` has passed (`work` is cancelled then).
    static func within<T: Sendable>(_ deadline: ContinuousClock.Instant,
                                    _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await work() }
            group.addTask { try await Task.sleep(until: deadline, clock: .continuous); return nil }
            defer { group.cancelAll() }
            let first = try await group.next()
            guard let value = first ?? nil else { throw PastDeadline() }
            return value
        }
    }

    /// Why a body with this Content-Type is refused (415), nil when it is JSON: `application/json`, with no
    /// parameter but a UTF-8 charset (JSON is UTF-8, RFC 8259). Every POST body must say so: a browser sends a
    /// cross-origin `text/plain` POST without asking first (no CORS preflight), and that is refused here.
    static func contentTypeProblem(_ header: String?) -> String? {
        let expected = "send the body as JSON, with the header Content-Type: application/json"
        guard let header, !header.isEmpty else { return "the request has no Content-Type; \(expected)" }
        let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let shown = String(header.prefix(100)).filter { !$0.isNewline }
        guard parts.first == "application/json" else { return "the body's Content-Type is '\(shown)'; \(expected)" }
        for parameter in parts.dropFirst() where !parameter.isEmpty {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0] == "charset", ["utf-8", "\"utf-8\"", "utf8"].contains(pair[1]) else {
                return "the body's Content-Type is '\(shown)'; JSON bodies are UTF-8: send Content-Type: application/json or application/json; charset=utf-8"
            }
        }
        return nil
    }

    /// Decodes a JSON body as `T`, with 400s naming the field at fault: a field given twice (`JSONCheck`), nesting
    /// too deep, or what is wrong with the JSON and where.
    static func decode<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
        let bytes = Array(buffer.readableBytesView)
        do { try JSONCheck.check(bytes) } catch let p as JSONCheck.Problem { throw APIError.bad(p.field, p.message) }
        do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch let e as APIError { throw e } catch {
            throw APIError.bad(nil, "the body is not valid JSON\(Self.syntaxDetail(bytes)); send a JSON object such as {\"text\": \"hello\"}")
        }
    }

    /// Where and why the JSON is malformed, as " (invalid value at line 1, column 16)" (`JSONSyntax`), or "".
    static func syntaxDetail(_ bytes: [UInt8]) -> String { JSONSyntax.problem(bytes).map { " (\($0))" } ?? "" }

    /// Reads and checks a write request: every 400 is found here, before the request waits for a worker.
    func job(_ request: Request, _ context: ServerContext) async throws -> Job {
        let deadline = ContinuousClock.now + .milliseconds(Int64(configuration.timeout * 1000))
        let body = try Self.decode(WriteBody.self, try await self.body(request, by: deadline))
        context.note.text = body.text
        return try job(body, deadline: deadline)
    }

    /// Checks a decoded write body against the model and the limits; 400s name the field.
    func job(_ body: WriteBody, deadline: ContinuousClock.Instant) throws -> Job {
        let normal = TextPreparation.normalisingLineBreaks(body.text)
        if normal.allSatisfy(\.isWhitespace) {
            throw APIError.bad("text", "the text is empty\(body.text.allSatisfy(\.isWhitespace) ? "" : " once its invisible characters (zero-width spaces, joiners, byte-order marks) are dropped"); give something to write")
        }
        // Code points, not Characters: a "character" of one letter and ten thousand combining marks is ten thousand
        // and one (and as costly to check and write).
        let count = normal.trimmingCharacters(in: .whitespacesAndNewlines).unicodeScalars.count
        if count > configuration.maxChars {
            throw APIError.bad("text", "the text has \(count) characters (Unicode code points), more than this server's limit of \(configuration.maxChars) (quill serve --max-chars)")
        }
        let prepared: PreparedText
        do { prepared = try writer.prepare(body.text, wrap: PageRequest(text: "").wrap) } catch let e as TextError {
            throw APIError.bad("text", e.description)
        }
        var page = PageRequest(text: body.text)
        var style: String?
        switch body.style {
        case nil:
            page.hand = .modelDefault
            style = writer.styles.contains(HandwritingStyle.defaultName) ? HandwritingStyle.defaultName : nil
        case HandwritingStyle.noStyleName?:
            page.hand = .ownHand
        case let name?:
            let known = writer.styles
            guard known.contains(name) else {
                throw APIError.bad("style", "unknown style '\(TextPreparation.shown(text: name))'; the model has "
                                   + (known.isEmpty ? "no styles" : "styles: \(known.joined(separator: ", "))") + ", and \"none\"")
            }
            page.hand = .style(name)
            style = name
        }
        page.options = WriteOptions(bias: body.bias ?? WriteOptions().bias, record: true)
        page.seed = body.seed ?? 1
        page.style = StrokeStyle(width: body.width ?? page.style.width, color: body.color)
        return Job(request: page, style: style, lines: prepared.lines, deadline: deadline)
    }

    // MARK: - Running a job

    /// Writes the page of `job` on the calling worker; `point` is told the first try's points as they come. `note`
    /// is told when the job reached its stages (`RequestNote.Timing`).
    func run(_ job: Job, writer: HandwritingWriter, flag: CancelFlag, note: RequestNote? = nil,
             point: ((KeptPoint) -> Void)? = nil) -> Result<(WrittenPageResult, Answers.Write), APIError> {
        note?.time { $0.worker = .now }
        configuration.beforeSampling?()
        let deadline = job.deadline
        let outcome: JobOutcome
        let result: Result<(WrittenPageResult, Answers.Write), APIError>
        if flag.isRaised {
            (outcome, result) = (.cancelled, .failure(.clientClosed))
        } else if ContinuousClock.now >= deadline {
            (outcome, result) = (.timedOut, .failure(timeout))
        } else {
            // The observer is asked before every network step, the prime's rows included, and told every kept point.
            var steps = 0, pointSeen = false
            let observer = SamplingObserver(point: { kept in
                if !pointSeen, let note {
                    pointSeen = true
                    note.time { [steps] in $0.firstPoint = .now; $0.stepsToFirstPoint = steps }
                }
                point?(kept)
            }, shouldStop: {
                if steps == 0 { note?.time { $0.sampling = .now } }
                steps += 1
                return flag.isRaised || ContinuousClock.now >= deadline
            })
            do {
                let written = try writer.write(job.request, observer: observer)
                (outcome, result) = (.completed, .success((written, Answers.write(written, request: job.request, style: job.style))))
            } catch is SamplingStopped {
                (outcome, result) = flag.isRaised ? (.cancelled, .failure(.clientClosed))
                    : (.timedOut, .failure(timeout))
            } catch let e as HandError {
                (outcome, result) = (.failed(e.description), .failure(APIError(e.isUnknownStyle ? .badRequest : .internalServerError,
                                                                           field: "style", e.isUnknownStyle ? e.description : "the style cannot be used; see the server's log")))
                configuration.log?("quill serve: \(e.description)")
            } catch let e as TextError {
                (outcome, result) = (.failed(e.description), .failure(APIError.bad("text", e.description)))
            } catch is NonFiniteOutputError {
                (outcome, result) = (.failed("not finite"), .failure(APIError(.internalServerError, "the model's output was not a number (NaN or infinite); the checkpoint is broken")))
            } catch {
                // The description may name a file of the server's; it goes to the log, never into an answer.
                (outcome, result) = (.failed("\(error)"), .failure(APIError(.internalServerError, "the page could not be written; see the server's log")))
                configuration.log?("quill serve: \(error)")
            }
        }
        jobFinished?(outcome)
        return result
    }

    var timeout: APIError {
        APIError(.gatewayTimeout, "the page took longer than this server's time limit of \(OptionText.seconds(configuration.timeout)) s (quill serve --timeout); write a shorter text")
    }

    /// 503 with Retry-After: every worker is busy and the queue is full.
    var busy: APIError {
        APIError(.serviceUnavailable, "the server is busy (\(pool.workers) worker\(pool.workers == 1 ? "" : "s") writing, \(pool.queueLimit) waiting); try again shortly",
                 retryAfter: 1)
    }

    /// Runs `work` on a worker and waits for it; 503 when the queue is full. A cancelled task raises `flag`; a
    /// raised flag (the task cancelled, or the connection's client gone) takes a request that still waits out of the
    /// queue, freeing its place: it ends with 499 without running.
    func onWorker<T: Sendable>(flag: CancelFlag, _ work: @escaping @Sendable (HandwritingWriter) -> Result<T, APIError>) async throws -> T {
        let result: Result<T, APIError> = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let ticket = pool.submit({ writer in continuation.resume(returning: work(writer)) }, dropped: {
                    if flag.isRaised { self.jobFinished?(.cancelled) }
                    continuation.resume(returning: .failure(flag.isRaised ? .clientClosed : self.stopping))
                })
                guard let ticket else { continuation.resume(throwing: busy); return }
                flag.whenRaised { [pool] in pool.withdraw(ticket) }
            }
        } onCancel: { flag.raise() }
        return try result.get()
    }

    /// 503: the server stopped before the request's turn came.
    var stopping: APIError { APIError(.serviceUnavailable, "the server is stopping; try again once it is back") }

    // MARK: - Endpoints that sample or draw

    func write(_ request: Request, _ context: ServerContext) async throws -> Response {
        let job = try await self.job(request, context)
        let flag = CancelFlag()
        // The handler's task is not cancelled when the client goes away (Hummingbird 2): the connection tells.
        let watch = await context.connectionWatch()
        watch?.watch(flag)
        defer { watch?.stop(watching: flag) }
        let note = context.note
        let (_, answer) = try await onWorker(flag: flag) { writer in self.run(job, writer: writer, flag: flag, note: note) }
        return try Self.json(answer)
    }

    /// `POST /v1/render`: every 400 (fields, points beyond the largest page, a PNG over `RenderBody.maximumPNGPixels`)
    /// before the request waits for a worker; then drawn on a worker under the request's time limit (504) and its
    /// connection (a client that goes away stops it).
    func render(_ request: Request, _ context: ServerContext) async throws -> Response {
        let deadline = ContinuousClock.now + .milliseconds(Int64(configuration.timeout * 1000))
        let body = try Self.decode(RenderBody.self, try await self.body(request, by: deadline, render: true))
        let flag = CancelFlag()
        let watch = await context.connectionWatch()
        watch?.watch(flag)
        defer { watch?.stop(watching: flag) }
        let data: Data = try await onWorker(flag: flag) { _ in
            self.drawn(body, flag: flag, deadline: deadline)
        }
        return Response(status: .ok, headers: [.contentType: body.mediaType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The image of a render request, drawn on the calling worker: 504 past `deadline`, 503 when `flag` is raised.
    func drawn(_ body: RenderBody, flag: CancelFlag, deadline: ContinuousClock.Instant) -> Result<Data, APIError> {
        do {
            guard let data = try draw(body, shouldStop: { flag.isRaised || ContinuousClock.now >= deadline }) else {
                return .failure(flag.isRaised ? .clientClosed : renderTimeout)
            }
            return .success(data)
        } catch let e as APIError { return .failure(e) } catch { return .failure(APIError(.internalServerError, "internal error")) }
    }

    /// Curves of a PNG's stroke rasterised in one call to Cairo. A stroke that criss-crosses the page costs time
    /// with the square of its crossings: one of 8,000 random points at pen width 50 on a 16-megapixel PNG took
    /// 45 s in one call; cut into pieces of this many curves it can be stopped every few tens of milliseconds.
    static let curvesPerPiece = 32

    /// Draws `body` into a file of the scratch folder and reads it back; nil when `shouldStop` says so. It is asked
    /// before drawing, before each stroke (each piece of `curvesPerPiece` curves of a PNG's longer strokes),
    /// before the file is written and after: what cannot be stopped is one piece, and Cairo writing the file, which
    /// for a PNG is at most `RenderBody.maximumPNGPixels` pixels. Measured on the largest PNG, 8,000 random points
    /// in one stroke (a 64 KiB body), debug build, 2 cores under load: 7.5 s in all, at most 1.2 s between two
    /// checks (the file's writing: 6.7 MB of noise); drawn whole, the stroke took 45 s in one call.
    /// - Throws: `APIError` 500 when Cairo or the file fails; the message names no path of the server's (the log
    ///   has the detail).
    func draw(_ body: RenderBody, shouldStop: () -> Bool) throws -> Data? {
        if shouldStop() { return nil }
        let file = scratch.appendingPathComponent("\(UUID().uuidString).\(body.format)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let failed = APIError(.internalServerError, "the \(body.format.uppercased()) of \(OptionText.number(body.size.width)) × \(OptionText.number(body.size.height)) points could not be made; see the server's log")
        do {
            // The scratch folder comes back if something removed it (a /tmp cleaner) while the server ran.
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            let canvas = try Canvas(path: file, width: body.size.width, height: body.size.height,
                                    pixelScale: body.format == "png" ? RenderBody.pngScale : 1)
            let style = StrokeStyle(width: body.width, color: body.color)
            let pen = LineStyle(width: body.width, color: body.color, round: true)
            for line in body.lines {
                for stroke in line {
                    if body.format == "png", stroke.count > Self.curvesPerPiece {
                        // The smooth curve `drawStrokes` draws, in pieces Cairo rasterises in bounded time.
                        for piece in Path.catmullRom(stroke).pieces(ofAtMost: Self.curvesPerPiece) {
                            if shouldStop() { return nil }
                            canvas.stroke(piece, pen)
                        }
                    } else {
                        if shouldStop() { return nil }
                        canvas.drawStrokes([stroke], transform: .identity, style: style)
                    }
                }
            }
            if shouldStop() { return nil }
            try canvas.finish()
        } catch {
            configuration.log?("quill serve: /v1/render: \(error)")
            throw failed
        }
        if shouldStop() { return nil }
        guard let data = FileManager.default.contents(atPath: file) else {
            configuration.log?("quill serve: /v1/render: \(file) could not be read back")
            throw failed
        }
        return data
    }

    var renderTimeout: APIError {
        APIError(.gatewayTimeout, "the image took longer than this server's time limit of \(OptionText.seconds(configuration.timeout)) s (quill serve --timeout); draw fewer strokes or a smaller page")
    }
}

/// Settings `quill serve` cannot run with.
public struct ServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Numbers as messages show them.
enum OptionText {
    /// 30 rather than 30.0.
    static func seconds(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e9 ? String(Int(x)) : String(x) }
    /// A number as typed: 30 rather than 30.0.
    static func number(_ x: Double) -> String { seconds(x) }
}

/// The routes of the router, path by path, with their methods: what a 405's `Allow` header lists. Filled once the
/// router has all its routes (the middleware that reads it is added before them).
final class KnownRoutes: @unchecked Sendable {
    private let lock = NSLock()
    private var methods: [String: [HTTPRequest.Method]] = [:]

    /// Learns the routes; a path with GET takes HEAD as well (the router makes HEAD of GET).
    func set(_ routes: [(path: String, method: HTTPRequest.Method)]) {
        lock.lock(); defer { lock.unlock() }
        methods = Dictionary(grouping: routes, by: \.path).mapValues { routes in
            let methods = routes.map(\.method)
            return methods.contains(.get) && !methods.contains(.head) ? methods + [.head] : methods
        }
    }

    /// The methods `path` answers, in the order they were added; nil for a path that is not a route.
    func methods(for path: String) -> [HTTPRequest.Method]? {
        lock.lock(); defer { lock.unlock() }
        return methods[path]
    }
}

/// Every error becomes the API's JSON error body: `APIError`s as they are, Hummingbird's (404, 413) with their
/// status, anything else as a 500 that does not leak details. A known path asked with a method it does not answer is
/// a 405 with `Allow` (Hummingbird's router says 404 for it).
struct JSONErrors: RouterMiddleware {
    typealias Context = ServerContext
    let routes: KnownRoutes
    func handle(_ request: Request, context: ServerContext,
                next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        do { return try await next(request, context) } catch let e as APIError { return e.response } catch let e as HTTPResponseError {
            let message: String
            switch e.status {
            case .notFound:
                if let allowed = routes.methods(for: request.uri.path), !allowed.contains(request.method) {
                    let list = allowed.map(\.rawValue).joined(separator: ", ")
                    return APIError(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path); it takes \(list) (see /openapi.json)",
                                    allow: list).response
                }
                message = "no such endpoint: \(request.method) \(request.uri.path); see /openapi.json"
            case .methodNotAllowed: message = "\(request.method) is not allowed on \(request.uri.path); see /openapi.json"
            case .contentTooLarge: message = "the body is too large"
            default: message = e.status.reasonPhrase
            }
            return APIError(e.status, message).response
        } catch {
            return APIError(.internalServerError, "internal error").response
        }
    }
}

/// One line on standard error per request, once its answer is written (a stream's when it ends): method, path,
/// status, seconds, and the text's size (the text itself only with `--log-text`).
///
/// The status is the answer's, or the one its body settled on (`RequestNote.status`: a stream that ends in an
/// `error` event is logged with that error's status, as the same request without a stream is answered). A request is
/// logged as 499 (client closed request) when its client went away before its answer was written: gone before the
/// answer's body began to be written (the connection's watch says so), or the writing failed. A client that closes
/// once it has read its answer (curl does, at once) is not gone before: its request keeps its status.
struct RequestLog: RouterMiddleware {
    typealias Context = ServerContext
    let configuration: ServerConfiguration
    func handle(_ request: Request, context: ServerContext,
                next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        guard let log = configuration.log else { return try await next(request, context) }
        let start = ContinuousClock.now
        var response = try await next(request, context)
        let status = response.status.code
        let watch = await context.connectionWatch()
        // Asked before anything of the answer is written: a client cannot have read it yet, so a client gone now
        // went before its answer.
        let goneBefore = watch?.isGone == true
        // A HEAD answer has no body to wait for (the router's HEAD of a GET replaces the GET's, this wrapper included).
        if request.method == .head {
            log(line(request, context, status: goneBefore ? AnswerStatus.clientClosed : status, since: start))
            return response
        }
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            // The head is written before the body begins; a client that reads only the head of an answer whose
            // body is empty may be gone by now, having had its whole answer.
            let gone = goneBefore || (body.contentLength != 0 && watch?.isGone == true)
            do {
                try await body.write(writer)
            } catch {
                log(line(request, context, status: AnswerStatus.clientClosed, since: start))
                throw error
            }
            let settled = context.note.status ?? status
            log(line(request, context, status: gone ? AnswerStatus.clientClosed : settled, since: start))
        }
        return response
    }

    func line(_ request: Request, _ context: ServerContext, status: Int, since start: ContinuousClock.Instant) -> String {
        let seconds = (ContinuousClock.now - start) / .milliseconds(1) / 1000
        var line = "quill serve: \(request.method) \(request.uri.path) \(status) \(String(format: "%.3f", seconds)) s"
        if let text = context.note.text {
            let count = text.unicodeScalars.count
            line += " (\(count) character\(count == 1 ? "" : "s"))"
            // Quoted, its quotes escaped and invisible characters by code point (<U+0007>), as every message shows them.
            if configuration.logText {
                line += " \"" + TextPreparation.shown(text: text).replacingOccurrences(of: "\"", with: "\\\"") + "\""
            }
        }
        // Where a sampling job's time went, from the request's start: waiting for a worker, preparing (the text and
        // the style's prime), and the network's steps up to the first point (a stream's first `points` event).
        let timing = context.note.timing
        func at(_ instant: ContinuousClock.Instant) -> String { String(format: "%.3f", (instant - start) / .milliseconds(1) / 1000) }
        var stages: [String] = []
        if let worker = timing.worker { stages.append("worker at \(at(worker)) s") }
        if let sampling = timing.sampling { stages.append("sampling at \(at(sampling)) s") }
        if let first = timing.firstPoint { stages.append("first point at \(at(first)) s after \(timing.stepsToFirstPoint) step\(timing.stepsToFirstPoint == 1 ? "" : "s")") }
        if !stages.isEmpty { line += " [" + stages.joined(separator: ", ") + "]" }
        return line
    }
}

/// Status codes the request log names.
enum AnswerStatus {
    /// The client went away before its answer (nginx's 499).
    static let clientClosed = 499
}

/// Answers HEAD without a body: errors too (a 405, a 404), which the router's HEAD-of-GET routes do not cover. The
/// headers stay those of the same GET (Content-Length included).
struct HeadResponses: RouterMiddleware {
    typealias Context = ServerContext
    func handle(_ request: Request, context: ServerContext,
                next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        guard request.method == .head else { return response }
        return response.createHeadResponse()
    }
}

/// CORS for the one origin of `--cors`: a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is
/// answered 204 only for that origin, a route's own methods and the `Content-Type` header; any other preflight is a
/// 403 with the JSON error. Answers to that origin carry `Access-Control-Allow-Origin` and expose `Retry-After` (a
/// 503's wait). Requests from other origins get no CORS headers (the browser withholds the answer from the page).
struct CORS: RouterMiddleware {
    typealias Context = ServerContext
    let origin: String
    let routes: KnownRoutes
    /// Seconds a browser may keep a preflight's answer.
    static let maxAge = 600

    func handle(_ request: Request, context: ServerContext,
                next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        guard let from = request.headers[.origin] else { return try await next(request, context) }
        if request.method == .options, let asked = request.headers[.accessControlRequestMethod] {
            return preflight(request, from: from, asked: asked)
        }
        var response = try await next(request, context)
        if from == origin {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlExposeHeaders] = "Retry-After"
        }
        response.headers[values: .vary].append("Origin")
        return response
    }

    func preflight(_ request: Request, from: String, asked: String) -> Response {
        let path = request.uri.path
        func refused(_ message: String) -> Response {
            var response = APIError(.forbidden, message).response
            response.headers[.vary] = "Origin"
            return response
        }
        guard from == origin else {
            return refused("the origin \(TextPreparation.shown(text: String(from.prefix(100)))) may not call this API; this server allows \(origin) (quill serve --cors)")
        }
        guard let methods = routes.methods(for: path) else {
            return refused("no such endpoint: \(TextPreparation.shown(text: String(path.prefix(100)))); see /openapi.json")
        }
        let list = methods.map(\.rawValue).joined(separator: ", ")
        guard let method = HTTPRequest.Method(asked), methods.contains(method) else {
            return refused("\(TextPreparation.shown(text: String(asked.prefix(20)))) is not allowed on \(path); it takes \(list)")
        }
        let headers = (request.headers[.accessControlRequestHeaders] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        if let other = headers.first(where: { $0 != "content-type" }) {
            return refused("the header \(TextPreparation.shown(text: String(other.prefix(100)))) may not be sent; requests send Content-Type only")
        }
        return Response(status: .noContent, headers: [
            .accessControlAllowOrigin: origin, .accessControlAllowMethods: list,
            .accessControlAllowHeaders: "Content-Type", .accessControlMaxAge: String(Self.maxAge), .vary: "Origin",
        ])
    }
}
