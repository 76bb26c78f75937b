import ArgumentParser
import Foundation
import QuillData
import QuillModels
import QuillServer

/// `quill serve`: the web page and the HTTP API over a synthesis model (`QuillServer`).
public struct ServeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a web page that writes what you type, and an HTTP API (see /openapi.json).",
        discussion: """
        The page (GET /) writes a text stroke by stroke as it is sampled; the API writes texts (POST /v1/write, \
        /v1/write/stream as Server-Sent Events), draws strokes (POST /v1/render) and describes the model \
        (GET /v1/model, /v1/styles). The same text, style, bias and seed give the same strokes as `quill write`.

        Pages are written by --workers threads, one copy of the model each; up to --queue requests wait for one, \
        and any beyond get 503 with Retry-After. Every request is held to --max-body bytes (--max-render-body for /v1/render), --max-chars characters \
        (Unicode code points) and --timeout seconds, body included, and checked field by field (400 naming the \
        field). A connection that sends nothing for --idle-timeout seconds (a request's head sent too slowly \
        included) is closed, and at most --max-connections are open at once. The server listens on loopback \
        unless --host says otherwise; nothing in a request names a file, a model or a command. Each request is \
        logged on standard error, without its text unless --log-text. Ctrl-C stops the server.
        """)

    @Option(help: DefaultModel.help(.synthesis)) var model: String?
    @Option(help: "The address to listen on (0.0.0.0 for every interface).") var host = "127.0.0.1"
    @Option(help: "The TCP port (0…65535; 0 picks a free one).") var port = 8080
    @Option(help: "Pages written at once, one thread and one copy of the model each (1…256; default: the number of cores).")
    var workers: Int?
    @Option(help: "Requests that may wait for a worker (0…100000; default: twice --workers); more get 503.")
    var queue: Int?
    @Option(name: .customLong("max-chars"), help: "The longest text a request may have, in Unicode code points (1…100000).")
    var maxChars = 1000
    @Option(name: .customLong("max-body"), help: "The largest request body in bytes (1024…67108864).") var maxBody = 65536
    @Option(name: .customLong("max-render-body"),
            help: "The largest body of POST /v1/render in bytes (1024…67108864): room for a /v1/write answer of --max-chars sent back.")
    var maxRenderBody = 16 << 20
    @Option(help: "Seconds a request may take, waiting and its body included (0.1…3600).") var timeout = 30.0
    @Option(name: .customLong("idle-timeout"),
            help: "Seconds a connection may send nothing while no request of it is answered (0.1…7200; default 60, or twice --timeout when that is more); above --timeout, so a stalled body gets its 408.")
    var idleTimeout: Double?
    @Option(name: .customLong("max-connections"),
            help: "Connections open at once; more wait to be accepted (1…100000).")
    var maxConnections = 512
    @Option(help: ArgumentHelp("Let pages from this origin call the API (CORS), e.g. http://localhost:3000; off by default.",
                               valueName: "origin"))
    var cors: String?
    @Flag(name: .customLong("log-text"), help: "Log the text of each request, not only its length.") var logText = false

    public init() {}

    /// The server's settings from the flags.
    var settings: ServerConfiguration {
        var c = ServerConfiguration()
        c.host = host
        c.port = port
        c.workers = workers ?? c.workers
        c.queue = queue
        c.maxChars = maxChars
        c.maxBody = maxBody
        c.maxRenderBody = maxRenderBody
        c.timeout = timeout
        c.idleTimeout = idleTimeout ?? max(60, 2 * timeout)
        c.maxConnections = maxConnections
        c.cors = cors
        c.logText = logText
        return c
    }

    public func validate() throws {
        try refuseEmptyOutput("model", model)
        typealias R = ServerConfiguration.Range
        try OptionRange.check("port", port, R.port)
        try OptionRange.check("workers", workers, R.workers)
        try OptionRange.check("queue", queue, R.queue)
        try OptionRange.check("max-chars", maxChars, R.maxChars)
        try OptionRange.check("max-body", maxBody, R.maxBody)
        try OptionRange.check("max-render-body", maxRenderBody, R.maxBody)
        try OptionRange.check("timeout", timeout, R.timeout)
        try OptionRange.check("idle-timeout", idleTimeout, R.idleTimeout)
        if let idleTimeout, idleTimeout <= timeout {
            throw ValidationError("--idle-timeout \(OptionRange.shown(idleTimeout)) must be above --timeout \(OptionRange.shown(timeout)): "
                                  + "a connection is closed after --idle-timeout, and a request whose body stalls should get its 408 first")
        }
        try OptionRange.check("max-connections", maxConnections, R.maxConnections)
        if let problem = settings.problem() ?? settings.hostProblem() { throw ValidationError(problem) }
    }

    public func run() throws {
        let dir = try DefaultModel.path(model, .synthesis)
        try refuseNonFiles([("the --model file", modelFile(dir))])
        let server = try QuillServer(configuration: settings, modelDirectory: dir, modelFile: modelFile(dir))
        defer { server.shutdown() }
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let app = server.application { port in
            print("serving http://\(shownHost):\(port)/ (model \(TextPreparation.shown(text: dir)), \(server.configuration.workers) worker\(server.configuration.workers == 1 ? "" : "s"))")
            fflush(stdout)
        }
        // The server runs on Swift's concurrent executor; this thread waits for it to stop (Ctrl-C, SIGTERM).
        let stopped = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        Task {
            do { try await app.runService() } catch { failure.error = error }
            stopped.signal()
        }
        stopped.wait()
        if let error = failure.error {
            throw CLIError(server.configuration.startProblem(error), status: .failure)
        }
    }
}

/// The error the server stopped with, handed from its task to the waiting thread.
private final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var _error: Error?
    var error: Error? {
        get { lock.lock(); defer { lock.unlock() }; return _error }
        set { lock.lock(); _error = newValue; lock.unlock() }
    }
}
