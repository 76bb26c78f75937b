import Foundation
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// The HTTP/1 connections of `quill serve`: Hummingbird's `HTTP1Channel` (with its idle timeout and the server's
/// `ConnectionWatch`), and `ConnectionClosing` between NIO's HTTP/1 decoder and Hummingbird's codec.
///
/// Hummingbird turns NIO's HTTP/1 parts into swift-http-types' parts, which carry no HTTP version: past that codec
/// an HTTP/1.0 request cannot be told from an HTTP/1.1 one, and Hummingbird keeps every connection open unless the
/// request says `Connection: close`. `ConnectionClosing` sees the request before the codec and closes as HTTP/1
/// asks (RFC 9112 §9.3).
struct QuillHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value
    let base: HTTP1Channel

    init(responder: @escaping HTTPChannelHandler.Responder, configuration: HTTP1Channel.Configuration) {
        base = HTTP1Channel(responder: responder, configuration: configuration)
    }

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(ConnectionClosing(), position: .after(decoder))
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
final class ConnectionClosing: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The requests not yet answered, in order (HTTP/1 answers in the order it asks).
    private var requests: [(version: HTTPVersion, keepAlive: Bool)] = []
    private var closeAfterResponse = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else { context.fireChannelRead(data); return }
        let keepAlive = head.isKeepAlive
        requests.append((head.version, keepAlive))
        if !keepAlive {
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.fireChannelRead(wrapInboundOut(.head(head)))
        } else {
            context.fireChannelRead(data)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.code >= 200:
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
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where closeAfterResponse:
            closeAfterResponse = false
            let loopBound = context.loopBound
            let written = context.writeAndFlush(data)
            written.whenComplete { _ in loopBound.value.close(promise: nil) }
            written.cascade(to: promise)
        default:
            context.write(data, promise: promise)
        }
    }
}
