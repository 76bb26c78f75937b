import Foundation
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// The HTTP/1 connections of `quill serve`: Hummingbird's `HTTP1Channel` (with its idle timeout and the server's
/// `ConnectionWatch`), `RequestLineTap` before NIO's HTTP/1 decoder and `ConnectionClosing` between the decoder and
/// Hummingbird's codec.
///
/// Hummingbird turns NIO's HTTP/1 parts into swift-http-types' parts, which carry no HTTP version: past that codec
/// an HTTP/1.0 request cannot be told from an HTTP/1.1 one, and Hummingbird keeps every connection open unless the
/// request says `Connection: close`. `ConnectionClosing` sees the request before the codec and closes as HTTP/1
/// asks (RFC 9112 §9.3). It also answers what the decoder cannot read (an unknown method, a garbled request line),
/// which Hummingbird would answer with an empty 400 and no log line.
struct QuillHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value
    let base: HTTP1Channel
    /// The router's routes and the request log, for the answers to requests the decoder cannot read.
    let routes: KnownRoutes
    let log: (@Sendable (String) -> Void)?
    /// Whether a request that asks `Expect: 100-continue` may send its body: its head alone does not decide the
    /// answer (a route that takes a body, a JSON Content-Type, a Content-Length within the limit).
    let allowsContinue: @Sendable (HTTPRequestHead) -> Bool

    init(responder: @escaping HTTPChannelHandler.Responder, configuration: HTTP1Channel.Configuration,
         routes: KnownRoutes = KnownRoutes(), log: (@Sendable (String) -> Void)? = nil,
         allowsContinue: @escaping @Sendable (HTTPRequestHead) -> Bool = { _ in true }) {
        base = HTTP1Channel(responder: responder, configuration: configuration)
        self.routes = routes
        self.log = log
        self.allowsContinue = allowsContinue
    }

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { [routes, log, allowsContinue] value in
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            let tap = RequestLineTap()
            try channel.pipeline.syncOperations.addHandler(tap, position: .before(decoder))
            try channel.pipeline.syncOperations.addHandler(ConnectionClosing(tap: tap, routes: routes, log: log,
                                                                             allowsContinue: allowsContinue),
                                                           position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Closes a connection after a response when HTTP/1 says so, between NIO's decoder and Hummingbird's codec (where
/// requests still have their version).
///
/// - A request that does not keep the connection alive (HTTP/1.0 without `Connection: keep-alive`, or any request
///   with `Connection: close`) is passed on with `Connection: close`, which makes Hummingbird end the connection
///   after its response; the response says `Connection: close` too.
/// - A response to an HTTP/1.0 request is sent as HTTP/1.0: NIO would frame a body of unknown length (the event
///   stream) as chunked for HTTP/1.1, which an HTTP/1.0 client cannot read; as HTTP/1.0 its end is the connection's
///   close (even if keep-alive was asked). A kept HTTP/1.0 connection is answered `Connection: keep-alive`, as
///   HTTP/1.0 clients expect.
/// - A response that says `Connection: close` (a 408 whose body never came) closes the connection once written,
///   even if the request's body is still arriving.
/// - A request the decoder cannot read (`HTTPParserError`) is answered with the API's JSON error and logged, and the
///   connection closed (what follows an unreadable request cannot be framed): an unknown method is a 405 with `Allow`
///   on a known path, a 404 on any other (as the router answers a known method there); a head larger than the
///   decoder's limits a 431; anything else a 400 that says what NIO found wrong.
final class ConnectionClosing: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let tap: RequestLineTap?
    let routes: KnownRoutes
    let log: (@Sendable (String) -> Void)?
    let allowsContinue: @Sendable (HTTPRequestHead) -> Bool

    init(tap: RequestLineTap? = nil, routes: KnownRoutes = KnownRoutes(), log: (@Sendable (String) -> Void)? = nil,
         allowsContinue: @escaping @Sendable (HTTPRequestHead) -> Bool = { _ in true }) {
        self.tap = tap
        self.routes = routes
        self.log = log
        self.allowsContinue = allowsContinue
    }

    /// The requests not yet answered, in order (HTTP/1 answers in the order it asks); `continues`: a 100 Continue is
    /// owed to it once the answers before it are written.
    private var requests: [(version: HTTPVersion, keepAlive: Bool, continues: Bool)] = []
    private var closeAfterResponse = false
    /// A response's head is written and its end is not.
    private var responding = false
    /// The decoder failed and its error is answered: what it reports after that is dropped.
    private var failed = false
    /// The answer to an unreadable request that followed requests not yet answered, and how many answers are still to
    /// be written before it.
    private var pending: (answer: UnreadableRequest.Answer, before: Int)?
    /// A request's head has been read and its end has not: a decoder error now is in its body.
    private var readingBody = false

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let parserError = error as? HTTPParserError else {
            if failed, error is ByteToMessageDecoderError { return }
            context.fireErrorCaught(error)
            return
        }
        guard !failed else { return }
        failed = true
        let line = tap?.requestLine ?? ""
        let answer = UnreadableRequest.answer(parserError, requestLine: line, routes: routes,
                                              bothFramings: tap?.hasBothFramings ?? false)
        // Requests read before the unreadable one are answered first, in order (pipelining): the error follows
        // the last of their answers. An error inside a request's body (a bad chunk) is that request's own answer,
        // given without waiting for it (its body will never be whole), after those of the requests before it.
        var before = requests.count + (responding ? 1 : 0)
        if readingBody && !requests.isEmpty { before -= 1 }
        guard before == 0 else {
            pending = (answer, before)
            return
        }
        answerUnreadable(answer, context: context)
    }

    /// Writes the answer to an unreadable request, logs it and closes the connection.
    private func answerUnreadable(_ answer: UnreadableRequest.Answer, context: ChannelHandlerContext) {
        let started = ContinuousClock.now
        // An answer already begun cannot be followed by another: the connection just closes, as NIO's own handler does.
        if !responding {
            var headers = HTTPHeaders([("Content-Type", "application/json"), ("Connection", "close")])
            let body = answer.error.body
            headers.add(name: "Content-Length", value: String(body.count))
            if let allow = answer.error.allow { headers.add(name: "Allow", value: allow) }
            let head = HTTPResponseHead(version: .http1_1,
                                        status: HTTPResponseStatus(statusCode: answer.error.status.code,
                                                                   reasonPhrase: answer.error.status.reasonPhrase),
                                        headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
            let loopBound = context.loopBound
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in loopBound.value.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
        let seconds = (ContinuousClock.now - started) / .milliseconds(1) / 1000
        log?("quill serve: \(answer.method) \(answer.path) \(answer.error.status.code) \(String(format: "%.3f", seconds)) s; \(answer.error.message)")
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) { tap?.requestEnded(); readingBody = false }
        guard case .head(var head) = unwrapInboundIn(data) else { context.fireChannelRead(data); return }
        readingBody = true
        let keepAlive = head.isKeepAlive
        // RFC 9110 §10.1.1: a client that sent `Expect: 100-continue` waits for a 100 before its body (curl for a
        // second); NIO and Hummingbird do not send it. It is sent when the head alone does not decide the answer
        // (else the 413 or 415 comes without it), and only once this request is the next to be answered: a 100 between
        // an earlier request's answer and its head would be read as that answer's.
        let continues = (head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1))
            && head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" })
            && allowsContinue(head)
        let next = requests.isEmpty && !responding
        requests.append((head.version, keepAlive, continues && !next))
        if continues && next { sendContinue(context: context) }
        if !keepAlive {
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.fireChannelRead(wrapInboundOut(.head(head)))
        } else {
            context.fireChannelRead(data)
        }
    }

    private func sendContinue(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code < 200:
            // An interim answer (100 Continue): it answers no request yet.
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .head(var head):
            let request = requests.isEmpty ? nil : requests.removeFirst()
            var close = request?.keepAlive == false
            if let request, request.version.major == 1, request.version.minor == 0 {
                head.version = .http1_0
                // HTTP/1.0 has no chunks: a body of unknown length ends with the connection.
                if !head.headers.contains(name: "content-length") { close = true }
                if !close { head.headers.replaceOrAdd(name: "connection", value: "keep-alive") }
            }
            if close { head.headers.replaceOrAdd(name: "connection", value: "close") }
            closeAfterResponse = head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "close" }
            responding = true
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where closeAfterResponse:
            responding = false
            closeAfterResponse = false
            pending = nil
            let loopBound = context.loopBound
            let written = context.writeAndFlush(data)
            written.whenComplete { _ in loopBound.value.close(promise: nil) }
            written.cascade(to: promise)
        case .end:
            responding = false
            context.write(data, promise: promise)
            if let waiting = pending {
                pending = waiting.before > 1 ? (waiting.answer, waiting.before - 1) : nil
                if waiting.before <= 1 { answerUnreadable(waiting.answer, context: context) }
            } else if requests.first?.continues == true {
                requests[0].continues = false
                sendContinue(context: context)
            }
        default:
            context.write(data, promise: promise)
        }
    }
}

/// The bytes of the request being read, before NIO's decoder, so that a request the decoder refuses can be named
/// (its method and path) in its answer and the log. Keeps at most `limit` bytes of it.
final class RequestLineTap: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// More than any request line the decoder takes: NIO's limit on a request's head is 80 KiB, but a method and a
    /// path worth naming fit here.
    static let limit = 8192
    private var bytes: [UInt8] = []
    /// The last request ended: the next read begins a new one. Reads are not split at a request's end, so with
    /// pipelined requests the bytes may begin with the end of the one before.
    private var ended = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if ended { bytes.removeAll(keepingCapacity: true); ended = false }
        if bytes.count < Self.limit {
            bytes += buffer.readableBytesView.prefix(Self.limit - bytes.count)
        }
        context.fireChannelRead(data)
    }

    /// The request read so far has ended (its `.end` was decoded): its bytes are dropped, so that what follows it in
    /// the same read (a pipelined request) is the request being read. When its end cannot be found in the bytes kept
    /// (a head or body beyond `limit`), they are all dropped at the next read.
    func requestEnded() {
        if let end = Self.endOfFirstRequest(bytes) { bytes.removeFirst(end) } else { ended = true }
    }

    /// Where the first request in `bytes` ends (after its head and a body framed by Content-Length or chunks), or
    /// nil when `bytes` do not hold all of it.
    /// Where `needle` first occurs in `bytes` at or after `start`, or nil.
    static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int = 0) -> Int? {
        guard start >= 0, needle.count <= bytes.count - start else { return nil }
        var i = start
        while i + needle.count <= bytes.count {
            if bytes[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    static func endOfFirstRequest(_ bytes: [UInt8]) -> Int? {
        func find(_ needle: [UInt8], from start: Int) -> Int? { Self.find(needle, in: bytes, from: start) }
        let crlf: [UInt8] = [0x0D, 0x0A]
        let start = bytes.firstIndex { $0 != 0x0D && $0 != 0x0A } ?? bytes.endIndex
        guard let headEnd = find(crlf + crlf, from: start) else { return nil }
        var length = 0, chunked = false
        for line in String(decoding: bytes[start..<headEnd], as: UTF8.self).split(separator: "\r\n").dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].lowercased(), value = parts[1].trimmingCharacters(in: .whitespaces).lowercased()
            if name == "content-length", let n = Int(value), n >= 0 { length = n }
            if name == "transfer-encoding", value.hasSuffix("chunked") { chunked = true }
        }
        var at = headEnd + 4
        guard chunked else { return length <= bytes.count - at ? at + length : nil }
        while true {
            guard let sizeEnd = find(crlf, from: at) else { return nil }
            let sizeText = String(decoding: bytes[at..<sizeEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else { return nil }
            at = sizeEnd + 2
            if size == 0 {
                // Trailer fields, then an empty line.
                while true {
                    guard let lineEnd = find(crlf, from: at) else { return nil }
                    let empty = lineEnd == at
                    at = lineEnd + 2
                    if empty { return at }
                }
            }
            guard size <= bytes.count - at - 2 else { return nil }
            at += size + 2
        }
    }

    /// Whether the head of the request being read names both Transfer-Encoding and Content-Length, which HTTP/1.1
    /// refuses (RFC 9112 §6.1: a request smuggling risk) and NIO reports as a bad Content-Length.
    var hasBothFramings: Bool {
        let end = RequestLineTap.find([0x0D, 0x0A, 0x0D, 0x0A], in: bytes) ?? bytes.endIndex
        let names = String(decoding: bytes[..<end], as: UTF8.self).split(separator: "\r\n").dropFirst()
            .compactMap { $0.split(separator: ":", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces).lowercased() }
        return names.contains("transfer-encoding") && names.contains("content-length")
    }

    /// The first line of the request being read, without its line break (up to `limit` bytes, as UTF-8 with
    /// replacement characters).
    var requestLine: String {
        let start = bytes.firstIndex { $0 != 0x0D && $0 != 0x0A } ?? bytes.endIndex  // RFC 9112 §2.2: empty lines first
        let end = bytes[start...].firstIndex { $0 == 0x0D || $0 == 0x0A } ?? bytes.endIndex
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}

/// The answer to a request NIO's HTTP/1 decoder cannot read, from what the decoder said and the request's first line.
enum UnreadableRequest {
    /// The error, and the method and path as the log shows them ("-" for what cannot be read).
    struct Answer { var error: APIError; var method: String; var path: String }

    /// Part of a request line as a message shows it: control characters, invisible format characters and the
    /// message's own quote shown by code point, at most 100 characters.
    static func shown(_ part: Substring) -> String {
        let clean = part.unicodeScalars.prefix(100).map { s -> String in
            guard s.value < 0x20 || s.value == 0x7F || s == "'" || s == "\u{FFFD}" || s.properties.generalCategory == .format else {
                return String(s)
            }
            let hex = String(s.value, radix: 16, uppercase: true)
            return "<U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex + ">"
        }.joined()
        return part.unicodeScalars.count > 100 ? clean + "…" : clean
    }

    /// - Parameter bothFramings: the request's head names both Transfer-Encoding and Content-Length.
    static func answer(_ error: HTTPParserError, requestLine line: String, routes: KnownRoutes,
                       bothFramings: Bool = false) -> Answer {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        let method = parts.first.map(shown) ?? "-"
        let target = parts.count > 1 ? parts[1] : ""
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let shownPath = path.isEmpty ? "-" : shown(Substring(path))
        let tchar = CharacterSet(charactersIn: "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        let isToken = !(parts.first ?? "").isEmpty && (parts.first ?? "").unicodeScalars.allSatisfy(tchar.contains)
        switch error {
        case .invalidMethod where isToken && parts.count == 3 && path.hasPrefix("/"):
            if let allowed = routes.methods(for: path) {
                let list = allowed.map(\.rawValue).joined(separator: ", ")
                return Answer(error: APIError(.methodNotAllowed, "\(method) is not allowed on \(shownPath); it takes \(list) (see /openapi.json)",
                                              allow: list), method: method, path: shownPath)
            }
            return Answer(error: APIError(.notFound, "no such endpoint: \(method) \(shownPath); see /openapi.json"),
                          method: method, path: shownPath)
        case .invalidMethod:
            return Answer(error: APIError(.badRequest, "the request line '\(shown(Substring(line)))' is not METHOD /path HTTP/1.1 (such as GET /healthz HTTP/1.1)"),
                          method: "-", path: "-")
        case _ where bothFramings && isToken:
            return Answer(error: APIError(.badRequest, "the request \(method) \(shownPath) has both Transfer-Encoding and Content-Length; send one (RFC 9112 §6.1)"),
                          method: method, path: shownPath)
        case .headerOverflow:
            return Answer(error: APIError(.requestHeaderFieldsTooLarge, "the request's head is larger than this server reads (80 KiB of headers, 1000 header fields)"),
                          method: isToken ? method : "-", path: shownPath)
        default:
            let said = "\(error)".unicodeScalars.reduce(into: "") { words, s in
                // invalidURL → "invalid URL": NIO's case names, as words.
                if CharacterSet.uppercaseLetters.contains(s), let last = words.unicodeScalars.last,
                   CharacterSet.lowercaseLetters.contains(last) { words += " " }
                words += String(s)
            }.lowercased()
            let what = parts.count == 3 && parts[2].hasPrefix("HTTP/") && isToken
                ? "the request \(method) \(shownPath) is not valid HTTP/1.1 (\(said))"
                : "the request line '\(shown(Substring(line)))' is not valid HTTP/1.1 (\(said)); send METHOD /path HTTP/1.1, such as GET /healthz HTTP/1.1"
            return Answer(error: APIError(.badRequest, what), method: isToken ? method : "-", path: isToken ? shownPath : "-")
        }
    }
}
