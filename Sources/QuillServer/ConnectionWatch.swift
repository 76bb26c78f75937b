import Foundation
import NIOCore

/// Notices a client going away while its request is worked on, and raises the request's `CancelFlag`.
///
/// Hummingbird 2 does not cancel a handler when its connection closes: the handler's task runs on, and the server
/// keeps the connection half open (it allows remote half-closure) until the answer is written. A plain
/// `POST /v1/write` writes nothing until its page is done, so, unlike a stream, it cannot find out by writing.
/// This handler sits in each connection's pipeline (after the HTTP codec) and sees what the socket sees: the
/// client's end of input (`ChannelEvent.inputClosed`, what a client that closes its socket, or drops, sends), the
/// connection closing, or failing. A request watches its flag through it for as long as it runs.
///
/// A client that half-closes on purpose and still waits for its answer is treated as gone, as Go's net/http does.
final class ConnectionWatch: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny

    private let lock = NSLock()
    private var gone = false
    private var flags: [ObjectIdentifier: CancelFlag] = [:]

    /// Raises `flag` when the client goes away (at once if it is already gone) until `stop(watching:)`.
    func watch(_ flag: CancelFlag) {
        lock.lock()
        let already = gone
        if !already { flags[ObjectIdentifier(flag)] = flag }
        lock.unlock()
        if already { flag.raise() }
    }

    /// Whether the client has gone away.
    var isGone: Bool { lock.lock(); defer { lock.unlock() }; return gone }

    func stop(watching flag: CancelFlag) {
        lock.lock(); flags[ObjectIdentifier(flag)] = nil; lock.unlock()
    }

    /// The client is gone: every watched flag is raised.
    func clientWent() {
        lock.lock()
        gone = true
        let raised = Array(flags.values)
        flags.removeAll()
        lock.unlock()
        for flag in raised { flag.raise() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { clientWent() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        clientWent()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        clientWent()
        context.fireErrorCaught(error)
    }
}
