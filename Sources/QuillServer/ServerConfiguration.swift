import Foundation
import NIOCore
import QuillData
#if canImport(Glibc)
import Glibc
#endif

/// How `quill serve` runs: where it listens, how much work it takes on at once, and the limits every request is held
/// to. Defaults are `quill serve`'s.
public struct ServerConfiguration: Sendable {
    /// The address to bind: loopback unless told otherwise.
    public var host = "127.0.0.1"
    /// The TCP port; 0 lets the system choose a free one.
    public var port = 8080
    /// Sampling threads: pages written at once.
    public var workers = ProcessInfo.processInfo.activeProcessorCount
    /// Requests that may wait for a worker; nil: twice `workers`. Beyond it a request gets 503 with Retry-After.
    public var queue: Int?
    /// The most characters a text may have, counted as Unicode code points (`quill write --max-chars`): a text of
    /// combining marks is as long as its code points, not its few visible characters.
    public var maxChars = 1000
    /// The largest request body, in bytes (every route but `/v1/render`).
    public var maxBody = 65536
    /// The largest body of `POST /v1/render`, in bytes: large enough for a `/v1/write` answer of `maxChars`
    /// characters sent back as it came (with its window weights, about 3.6 MB for 1,000 characters; pretty-printed
    /// JSON more), so the page's downloads and the README's write → render pipe work at the defaults.
    public var maxRenderBody = 16 << 20
    /// Seconds a request may take from arrival to its last byte of strokes (waiting for a worker and reading its
    /// body included; a body not received by then is a 408 and the connection is closed).
    public var timeout = 30.0
    /// Seconds a connection may stay without a request part arriving while no request of it is being answered: an
    /// idle keep-alive connection, or a client that sends its request line and headers slowly (slowloris), is
    /// closed then.
    public var idleTimeout = 60.0
    /// Connections open at once; beyond them the server accepts no more until one closes (new ones wait in the
    /// system's listen backlog).
    public var maxConnections = 512
    /// The one origin browsers may call the API from (CORS); nil: none but the server's own page.
    public var cors: String?
    /// Log each request's text as well as its size.
    public var logText = false
    /// Where request log lines go (one line per request); nil: nowhere.
    public var log: (@Sendable (String) -> Void)? = { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    /// A hook run on the worker thread before each page is sampled; tests use it to hold a worker busy.
    public var beforeSampling: (@Sendable () -> Void)?
    /// A hook run on the worker thread after each `points` event of a stream is queued for sending; tests use it to
    /// drop a stream in the middle of a line.
    public var afterPointsSent: (@Sendable () -> Void)?

    public init() {}

    /// The queue length in effect.
    public var queueLimit: Int { queue ?? 2 * workers }

    /// The ranges `quill serve` accepts, checked in one place.
    public enum Range {
        public static let port = 0...65535
        public static let workers = 1...256
        public static let queue = 0...100_000
        public static let maxChars = 1...100_000
        public static let maxBody = 1024...(64 << 20)
        public static let timeout = 0.1...3600.0
        /// Up to twice the longest --timeout: the idle timeout stays above it (its default is twice --timeout).
        public static let idleTimeout = 0.1...7200.0
        public static let maxConnections = 1...100_000
    }

    /// Whether `text` is a web origin as browsers send it in `Origin` (RFC 6454): http or https, a host, an optional
    /// port, nothing else (no path, not even "/", no query, no user).
    static func isOrigin(_ text: String) -> Bool {
        guard !text.isEmpty, !text.contains(where: { $0.isWhitespace || $0 == "," }),
              let c = URLComponents(string: text), let scheme = c.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = c.host, !host.isEmpty,
              c.path.isEmpty, c.query == nil, c.fragment == nil, c.user == nil, c.password == nil else { return false }
        return true
    }

    /// What is wrong with these settings, as one line naming the option; nil when they are usable.
    public func problem() -> String? {
        if !Range.port.contains(port) { return "--port must be between 0 and 65535, got \(port)" }
        if !Range.workers.contains(workers) { return "--workers must be between 1 and 256, got \(workers)" }
        if let queue, !Range.queue.contains(queue) { return "--queue must be between 0 and 100000, got \(queue)" }
        if !Range.maxChars.contains(maxChars) { return "--max-chars must be between 1 and 100000, got \(maxChars)" }
        if !Range.maxBody.contains(maxBody) { return "--max-body must be between 1024 and \(64 << 20) bytes, got \(maxBody)" }
        if !Range.maxBody.contains(maxRenderBody) {
            return "--max-render-body must be between 1024 and \(64 << 20) bytes, got \(maxRenderBody)"
        }
        if !(timeout.isFinite && Range.timeout.contains(timeout)) { return "--timeout must be between 0.1 and 3600 seconds, got \(timeout)" }
        if !(idleTimeout.isFinite && Range.idleTimeout.contains(idleTimeout)) {
            return "--idle-timeout must be between 0.1 and 7200 seconds, got \(idleTimeout)"
        }
        if !Range.maxConnections.contains(maxConnections) {
            return "--max-connections must be between 1 and 100000, got \(maxConnections)"
        }
        if host.isEmpty { return "--host must name an address, such as 127.0.0.1" }
        if let cors, !Self.isOrigin(cors) {
            return "--cors takes one origin, scheme://host[:port] with no path or trailing slash, such as http://localhost:3000; got \(cors)"
        }
        return nil
    }
}

// MARK: - Starting to listen

extension ServerConfiguration {
    /// Why `host` cannot be listened on, as one line naming `--host`; nil when it is an IP address or a name the
    /// system resolves (getaddrinfo, as NIO's bind does). Asked before the model is loaded, so a typo costs nothing.
    public func hostProblem() -> String? {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var found: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &found)
        if let found { freeaddrinfo(found) }
        guard status != 0 else { return nil }
        return "--host \(Self.shown(host)): not an IP address or a host name this machine resolves; give an address such as 127.0.0.1, ::1 or 0.0.0.0"
    }

    /// The one line `quill serve` says when the server cannot start listening on `host:port` (`error`, what NIO threw):
    /// an address in use, not this machine's, a port that needs privileges; anything else with the system's words.
    public func startProblem(_ error: Error) -> String {
        let shownHost = host.contains(":") ? "[\(Self.shown(host))]" : Self.shown(host)
        let address = "\(shownHost):\(port)"
        if let io = error as? IOError {
            switch io.errnoCode {
            case EADDRINUSE:
                return "cannot listen on \(address): the address is already in use (another server, or another quill serve); stop it or give another --port (0 picks a free one)"
            case EADDRNOTAVAIL:
                return "cannot listen on \(address): --host \(Self.shown(host)) is not an address of this machine; give one of its addresses, 127.0.0.1 or 0.0.0.0"
            case EACCES:
                return "cannot listen on \(address): permission denied (ports below 1024 need privileges); give a --port from 1024 up"
            default:
                return "cannot listen on \(address): \(String(cString: strerror(io.errnoCode)))"
            }
        }
        if error is SocketAddressError { return hostProblem() ?? "cannot listen on \(address): the host could not be resolved" }
        return "cannot listen on \(address): \(error)"
    }

    /// A host as typed, with invisible characters shown by code point, at most 100 characters.
    static func shown(_ host: String) -> String { TextPreparation.shown(text: String(host.prefix(100))) }
}
