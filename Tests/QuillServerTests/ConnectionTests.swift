import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOEmbedded
import XCTest
@testable import QuillServer
#if canImport(Glibc)
import Glibc
#endif

/// What a second review of `quill serve` found: connections without a time limit or a cap, HTTP/1.0, HEAD, CORS
/// preflights, queued requests whose client left, the request log, the length limit, pen widths and render errors.
/// Most go through the router test client; those about sockets (idle connections, HTTP/1.0, the connection cap) use
/// a real loopback port, with short limits so that each takes well under a few seconds.
extension ServerTests {
    // MARK: - Connections (a loopback port)

    /// Runs `test` with the server's whole application (`application()`, as `quill serve` runs it) listening on a
    /// free loopback port, and no other connection to it (Hummingbird's live test client keeps one open).
    func withLiveServer(_ server: QuillServer, _ test: @escaping @Sendable (Int) async throws -> Void) async throws {
        defer { server.shutdown() }
        let (ports, found) = AsyncStream<Int>.makeStream()
        let app = server.application { port in found.yield(port) }
        let running = Task {
            defer { found.finish() }
            try await app.runService()
        }
        defer { running.cancel() }
        var iterator = ports.makeAsyncIterator()
        let first = await iterator.next()
        let port = try XCTUnwrap(first, "the server did not start")
        try await test(port)
        running.cancel()
        // Cancelling stops the server (ServiceLifecycle's graceful shutdown); how it ends is not under test.
        _ = await running.result
    }

    func liveServer(_ configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> QuillServer {
        try server { c in
            c.port = 0
            configure(&c)
        }
    }

    /// A connection that sends only the start of a request's head is closed after `idleTimeout` (a slowloris holds
    /// nothing); so is a keep-alive connection that asks nothing more after its answer.
    func testIdleConnectionsAreClosed() async throws {
        try await withLiveServer(try liveServer { $0.idleTimeout = 0.3 }) { port in
            let slow = try RawConnection(port: port)
            try slow.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            let nothing = try await slow.readToEnd()
            XCTAssertTrue(nothing.closed, "a request head that never ends is cut off")
            XCTAssertEqual(nothing.text, "")
            let idle = try RawConnection(port: port)
            try idle.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let answered = try await idle.readToEnd()
            XCTAssertTrue(answered.text.hasPrefix("HTTP/1.1 200"), answered.text)
            XCTAssertTrue(answered.closed, "an idle keep-alive connection is closed")
        }
    }

    /// A body that does not arrive within the request's time limit is a 408, and the connection is closed (the rest
    /// of the body is not waited for).
    func testSlowBodyIs408AndClosesTheConnection() async throws {
        try await withLiveServer(try liveServer { $0.timeout = 0.3 }) { port in
            let connection = try RawConnection(port: port)
            try connection.send("POST /v1/write HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                                + "Content-Length: 100\r\n\r\n{\"text\": \"ab")
            let answer = try await connection.readToEnd()
            XCTAssertTrue(answer.text.hasPrefix("HTTP/1.1 408"), answer.text)
            XCTAssertTrue(answer.text.lowercased().contains("connection: close"), answer.text)
            XCTAssertTrue(answer.text.contains("--timeout"), answer.text)
            XCTAssertTrue(answer.closed)
        }
    }

    /// The same through the router: a body that never ends is a 408 once the deadline passes.
    func testBodyReadHasADeadline() async throws {
        let server = try server()
        defer { server.shutdown() }
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        continuation.yield(ByteBuffer(string: #"{"text": "#))
        let request = Request(head: HTTPRequest(method: .post, scheme: "http", authority: "localhost", path: "/v1/write",
                                                headerFields: [.contentType: "application/json"]),
                              body: RequestBody(asyncSequence: stream))
        do {
            _ = try await server.body(request, by: .now + .milliseconds(100))
            XCTFail("a body that never ends should not be read")
        } catch let e as APIError {
            XCTAssertEqual(e.status, .requestTimeout)
            XCTAssertTrue(e.closeConnection)
            XCTAssertEqual(e.response.headers[.connection], "close")
        }
        continuation.finish()
    }

    /// A body that ends before its Content-Length (the client went away while sending it) is the client's leaving
    /// (499 in the log), not a malformed body (400).
    func testBodyCutShortIsTheClientLeaving() async throws {
        let server = try server()
        defer { server.shutdown() }
        let request = Request(head: HTTPRequest(method: .post, scheme: "http", authority: "localhost", path: "/v1/write",
                                                headerFields: [.contentType: "application/json", .contentLength: "100"]),
                              body: RequestBody(buffer: ByteBuffer(string: #"{"text": "ab"#)))
        do {
            _ = try await server.body(request, by: .now + .seconds(5))
            XCTFail("a body cut short should not be read")
        } catch let e as APIError {
            XCTAssertEqual(e.status.code, 499)
            XCTAssertTrue(e.closeConnection)
        }
    }

    /// HTTP/1.0 closes the connection after the answer unless it asks to keep it alive, and is answered in HTTP/1.0
    /// (no chunked bodies); HTTP/1.1 closes only on `Connection: close`.
    func testHTTP10ConnectionsCloseAfterTheAnswer() async throws {
        try await withLiveServer(try liveServer()) { port in
            let plain = try RawConnection(port: port)
            try plain.send("GET /healthz HTTP/1.0\r\n\r\n")
            let answer = try await plain.readToEnd()
            XCTAssertTrue(answer.text.hasPrefix("HTTP/1.0 200"), answer.text)
            XCTAssertTrue(answer.text.hasSuffix(#"{"status":"ok"}"#), answer.text)
            XCTAssertTrue(answer.closed, "HTTP/1.0 without keep-alive ends with its answer")

            // A stream, whose length is not known beforehand, is not chunked for HTTP/1.0: the close ends it.
            let stream = try RawConnection(port: port)
            let body = #"{"text": "abc", "style": "none"}"#
            try stream.send("POST /v1/write/stream HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            let events = try await stream.readToEnd()
            XCTAssertTrue(events.text.hasPrefix("HTTP/1.0 200"), events.text)
            XCTAssertFalse(events.text.lowercased().contains("transfer-encoding"), events.text)
            XCTAssertTrue(events.text.contains("event: done"))
            XCTAssertTrue(events.closed)

            let closing = try RawConnection(port: port)
            try closing.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            let closed = try await closing.readToEnd()
            XCTAssertTrue(closed.text.hasPrefix("HTTP/1.1 200"), closed.text)
            XCTAssertTrue(closed.closed)

            // HTTP/1.0 with keep-alive keeps the connection for a second request.
            let kept = try RawConnection(port: port)
            try kept.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let first = try await kept.read(until: #"{"status":"ok"}"#)
            XCTAssertTrue(first.hasPrefix("HTTP/1.0 200"), first)
            XCTAssertTrue(first.lowercased().contains("connection: keep-alive"), first)
            try kept.send("GET /healthz HTTP/1.0\r\n\r\n")
            let second = try await kept.readToEnd()
            XCTAssertTrue(second.text.hasPrefix("HTTP/1.0 200"), second.text)
            XCTAssertTrue(second.closed)
        }
    }

    /// Requests pipelined before an unreadable one are answered first, in order; the unreadable one then gets its
    /// own 400, named by its own bytes, and the connection closes. `Expect: 100-continue` is answered at once.
    func testPipelinedRequestsBeforeGarbageAreAnswered() async throws {
        try await withLiveServer(try liveServer()) { port in
            let get = try RawConnection(port: port)
            try get.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nXYZ\r\n\r\n")
            let answers = try await get.readToEnd()
            XCTAssertTrue(answers.text.hasPrefix("HTTP/1.1 200"), answers.text)
            XCTAssertTrue(answers.text.contains(#"{"status":"ok"}HTTP/1.1 400"#), answers.text)
            XCTAssertTrue(answers.text.contains("XYZ"), answers.text)
            XCTAssertFalse(answers.text.contains("405"), answers.text)
            XCTAssertTrue(answers.closed)

            let post = try RawConnection(port: port)
            let body = #"{"text": "abc", "style": "none"}"#
            try post.send("POST /v1/write HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                          + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nPUT\u{1} /v1/write HTTP/1.1\r\n\r\n")
            let three = try await post.readToEnd()
            XCTAssertTrue(three.text.hasPrefix("HTTP/1.1 200"), three.text)
            XCTAssertTrue(three.text.contains("\"lines\""), three.text)
            XCTAssertTrue(three.text.contains(#"{"status":"ok"}HTTP/1.1 400"#), three.text)
            XCTAssertTrue(three.text.contains("PUT<U+0001>"), three.text)
            XCTAssertTrue(three.closed)

            // A bad chunk inside a body is that request's 400, at once (not a 408 after --timeout), also behind a
            // pipelined request, whose answer comes first.
            for before in ["", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"] {
                let chunks = try RawConnection(port: port, timeout: 5)
                let started = Date()
                try chunks.send(before + "POST /v1/write HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                                + "5\r\n{\"tex\r\nZZ\r\nabc\r\n0\r\n\r\n")
                let answer = try await chunks.readToEnd()
                XCTAssertLessThan(Date().timeIntervalSince(started), 4, answer.text)
                XCTAssertTrue(answer.text.hasPrefix(before.isEmpty ? "HTTP/1.1 400" : "HTTP/1.1 200"), answer.text)
                XCTAssertTrue(answer.text.contains("the request POST /v1/write is not valid HTTP/1.1"), answer.text)
                XCTAssertTrue(answer.closed, answer.text)
            }

            // Both framings: named as such, not as a bad Content-Length.
            let both = try RawConnection(port: port)
            try both.send("POST /v1/write HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n")
            let refused = try await both.readToEnd()
            XCTAssertTrue(refused.text.hasPrefix("HTTP/1.1 400"), refused.text)
            XCTAssertTrue(refused.text.contains("has both Transfer-Encoding and Content-Length; send one"), refused.text)

            let expecting = try RawConnection(port: port)
            try expecting.send("POST /v1/write HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                               + "Content-Length: \(body.utf8.count)\r\n\r\n")
            let interim = try await expecting.read(until: "\r\n\r\n")
            XCTAssertTrue(interim.hasPrefix("HTTP/1.1 100 Continue\r\n"), interim)
            try expecting.send(body)
            let final = try await expecting.read(until: "\"lines\"")
            XCTAssertTrue(final.contains("HTTP/1.1 200"), final)

            // A head that decides the answer gets it at once, with no 100: too large a body, not JSON.
            for (headers, status) in [("Content-Type: application/json\r\nContent-Length: 99999999", "413"),
                                      ("Content-Type: text/plain\r\nContent-Length: 5", "415")] {
                let refused = try RawConnection(port: port)
                try refused.send("POST /v1/write HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\(headers)\r\n\r\n")
                let answer = try await refused.read(until: "\r\n\r\n")
                XCTAssertTrue(answer.hasPrefix("HTTP/1.1 \(status)"), answer)
            }
            // Behind an unanswered request, the 100 waits for that request's answer.
            let behind = try RawConnection(port: port)
            try behind.send("POST /v1/write HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                            + "POST /v1/write HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                            + "Content-Length: \(body.utf8.count)\r\n\r\n")
            let firstThenContinue = try await behind.read(until: "100 Continue\r\n\r\n")
            XCTAssertTrue(firstThenContinue.hasPrefix("HTTP/1.1 200"), firstThenContinue)
            try behind.send(body)
            let second = try await behind.read(until: "\"lines\"")
            XCTAssertTrue(second.contains("HTTP/1.1 200"), second)
        }
    }

    /// With `maxConnections` open, the next connection is not served until one closes.
    func testConnectionLimitHoldsNewConnections() async throws {
        try await withLiveServer(try liveServer { $0.maxConnections = 1 }) { port in
            let first = try RawConnection(port: port)
            try first.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let answered = try await first.read(until: #"{"status":"ok"}"#)
            XCTAssertTrue(answered.hasPrefix("HTTP/1.1 200"), answered)
            // The first stays open: the second connects (the system's backlog) but is not answered.
            let second = try RawConnection(port: port, timeout: 0.5)
            try second.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            let waiting = try await second.readToEnd()
            XCTAssertEqual(waiting.text, "", "a connection beyond the limit is not served")
            XCTAssertFalse(waiting.closed)
            first.close()
            second.timeout = 5
            let served = try await second.readToEnd()
            XCTAssertTrue(served.text.hasPrefix("HTTP/1.1 200"), served.text)
        }
    }

    // MARK: - HEAD

    /// HEAD on a GET route answers as GET without the body (same status, type and length); elsewhere its error has
    /// no body either.
    func testHeadAnswersLikeGetWithoutABody() async throws {
        try await withClient(try server()) { client in
            for path in ["/", "/healthz", "/openapi.json", "/v1/model", "/v1/styles"] {
                let get = try await client.execute(uri: path, method: .get)
                let head = try await client.execute(uri: path, method: .head)
                XCTAssertEqual(head.status, .ok, path)
                XCTAssertEqual(head.body.readableBytes, 0, path)
                XCTAssertEqual(head.headers[.contentType], get.headers[.contentType], path)
                XCTAssertEqual(head.headers[.contentLength], String(get.body.readableBytes), path)
            }
            let post = try await client.execute(uri: "/v1/write", method: .head)
            XCTAssertEqual(post.status, .methodNotAllowed)
            XCTAssertEqual(post.headers[.allow], "POST")
            XCTAssertEqual(post.body.readableBytes, 0)
            let get = try await client.execute(uri: "/v1/write", method: .get)
            XCTAssertEqual(get.headers[.allow], "POST")
            let put = try await client.execute(uri: "/healthz", method: .put)
            XCTAssertEqual(put.headers[.allow], "GET, HEAD")
        }
    }

    // MARK: - CORS

    /// A preflight is allowed only for the configured origin, a route's own methods and Content-Type; anything else
    /// is a 403 with the JSON error. Answers to the origin expose Retry-After.
    func testCORSPreflightAllowsOnlyTheOriginAndTheRoutesMethods() async throws {
        let origin = "http://example.com"
        try await withClient(try server { $0.cors = origin }) { client in
            func preflight(_ path: String, from: String = origin, method: String,
                           headers: String? = nil) async throws -> TestResponse {
                var fields: HTTPFields = [.origin: from, .accessControlRequestMethod: method]
                if let headers { fields[.accessControlRequestHeaders] = headers }
                return try await client.execute(uri: path, method: .options, headers: fields)
            }
            let allowed = try await preflight("/v1/write", method: "POST", headers: "content-type")
            XCTAssertEqual(allowed.status, .noContent)
            XCTAssertEqual(allowed.headers[.accessControlAllowOrigin], origin)
            XCTAssertEqual(allowed.headers[.accessControlAllowMethods], "POST")
            XCTAssertEqual(allowed.headers[.accessControlAllowHeaders], "Content-Type")
            let styles = try await preflight("/v1/styles", method: "GET")
            XCTAssertEqual(styles.status, .noContent)
            XCTAssertEqual(styles.headers[.accessControlAllowMethods], "GET, HEAD")
            for (response, says) in [(try await preflight("/v1/write", from: "http://evil.example", method: "POST"), "origin"),
                                     (try await preflight("/v1/write", method: "DELETE"), "DELETE is not allowed on /v1/write"),
                                     (try await preflight("/v1/styles", method: "POST"), "POST is not allowed on /v1/styles"),
                                     (try await preflight("/v1/nothing", method: "GET"), "no such endpoint"),
                                     (try await preflight("/v1/write", method: "POST", headers: "content-type, x-secret"), "x-secret")] {
                XCTAssertEqual(response.status, .forbidden, says)
                XCTAssertNil(response.headers[.accessControlAllowOrigin], says)
                XCTAssertEqual(response.headers[.contentType], "application/json", says)
                let message = try Self.error(response).message
                XCTAssertTrue(message.contains(says), message)
            }
            let get = try await client.execute(uri: "/healthz", method: .get, headers: [.origin: origin])
            XCTAssertEqual(get.headers[.accessControlAllowOrigin], origin)
            XCTAssertEqual(get.headers[.accessControlExposeHeaders], "Retry-After")
            let other = try await client.execute(uri: "/healthz", method: .get, headers: [.origin: "http://evil.example"])
            XCTAssertNil(other.headers[.accessControlAllowOrigin])
        }
        // Without --cors a preflight is a method the route does not take.
        try await withClient(try server()) { client in
            let response = try await client.execute(uri: "/v1/write", method: .options,
                                                    headers: [.origin: origin, .accessControlRequestMethod: "POST"])
            XCTAssertEqual(response.status, .methodNotAllowed)
            XCTAssertNil(response.headers[.accessControlAllowOrigin])
        }
    }

    // MARK: - A queued request whose client leaves

    /// A request waiting for a worker whose task is cancelled, or whose client goes away, leaves the queue at once
    /// (499) and its place is free for the next request; the worker is held by a hook, not by time.
    func testCancelledWaiterFreesItsQueueSlot() async throws {
        let gate = Gate()
        let server = try server {
            $0.workers = 1
            $0.queue = 1
            $0.beforeSampling = { gate.holdFirst() }
        }
        defer { server.shutdown() }
        let body = try JSONDecoder().decode(WriteBody.self, from: Data(#"{"text": "abc"}"#.utf8))
        let job = try server.job(body, deadline: .now + .seconds(3600))
        let running = CancelFlag()
        let first = Task { try await server.onWorker(flag: running) { writer in server.run(job, writer: writer, flag: running) } }
        await gate.waitUntilHeld()
        for leave in ["task cancelled", "client gone"] {
            let flag = CancelFlag()
            let waiter = Task { try await server.onWorker(flag: flag) { writer in server.run(job, writer: writer, flag: flag) } }
            while server.pool.waiting == 0 { await Task.yield() }
            XCTAssertNil(server.pool.submit { _ in }, "\(leave): the queue is full")
            if leave == "task cancelled" { waiter.cancel() } else { flag.raise() }
            do {
                _ = try await waiter.value
                XCTFail("\(leave): a request that left should not be answered")
            } catch let e as APIError {
                XCTAssertEqual(e.status.code, 499, leave)
            }
            XCTAssertEqual(server.pool.waiting, 0, "\(leave): its place is free")
        }
        // The place is taken by the next request, which is written once the worker is free.
        let flag = CancelFlag()
        let next = Task { try await server.onWorker(flag: flag) { writer in server.run(job, writer: writer, flag: flag) } }
        gate.release()
        _ = try await first.value
        let answer = try await next.value
        XCTAssertEqual(answer.1.lines.count, 1)
    }

    // MARK: - The request log

    /// A request whose client went away is logged as 499, once its answer was to be written: a plain write (the
    /// connection's watch says so) and a stream that fails to be written; "1 character", not "1 characters".
    func testRequestLogSays499WhenTheClientLeft() async throws {
        let connection = try await LoggedConnection()
        let (lines, log, channel, watch, context) = (connection.lines, connection.log, connection.channel,
                                                     connection.watch, connection.context)
        context.note.text = "a"
        let request = Request(head: HTTPRequest(method: .post, scheme: "http", authority: "localhost", path: "/v1/write"),
                              body: RequestBody(buffer: ByteBuffer()))
        // Answered while the client is there: its status, logged once the body is written.
        let answered = try await log.handle(request, context: context) { _, _ in APIError(.serviceUnavailable, "busy").response }
        XCTAssertTrue(lines.all.isEmpty, "logged when written, not before")
        try await answered.body.write(CollectingWriter())
        XCTAssertTrue(lines.all.last?.hasPrefix("quill serve: POST /v1/write 503 ") == true, lines.all.last ?? "")
        XCTAssertTrue(lines.all.last?.hasSuffix("(1 character)") == true, lines.all.last ?? "")
        // A stream whose client drops while it is written.
        let stream = try await log.handle(request, context: context) { _, _ in
            Response(status: .ok, body: ResponseBody { writer in try await writer.write(ByteBuffer(string: "event: points\n\n")) })
        }
        do { try await stream.body.write(DroppingWriter(dropAt: "event: points")); XCTFail("the write should fail") } catch {}
        XCTAssertTrue(lines.all.last?.hasPrefix("quill serve: POST /v1/write 499 ") == true, lines.all.last ?? "")
        // The client has closed its end: whatever the answer, 499.
        try await channel.testingEventLoop.executeInContext {
            channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
        let gone = try await log.handle(request, context: context) { _, _ in APIError(.serviceUnavailable, "busy").response }
        try await gone.body.write(CollectingWriter())
        XCTAssertTrue(lines.all.last?.hasPrefix("quill serve: POST /v1/write 499 ") == true, lines.all.last ?? "")
        XCTAssertEqual(lines.all.count, 3)
    }

    // MARK: - What the body says

    /// --max-chars counts code points: one letter with thirty combining marks is 31, not one character.
    func testMaxCharsCountsCodePoints() async throws {
        try await withClient(try server { $0.maxChars = 20 }) { client in
            let text = "a" + String(repeating: "\u{0301}", count: 30)
            XCTAssertEqual(text.count, 1)
            let body = try JSONSerialization.data(withJSONObject: ["text": text])
            let response = try await client.execute(uri: "/v1/write", method: .post, headers: [.contentType: "application/json"],
                                                    body: ByteBuffer(bytes: body))
            XCTAssertEqual(response.status, .badRequest)
            let error = try Self.error(response)
            XCTAssertEqual(error.field, "text")
            XCTAssertTrue(error.message.contains("31 characters (Unicode code points)"), error.message)
        }
    }

    /// `replaced` lists at most 20 changes; `replacedCount` says how many there were.
    func testReplacedListIsCapped() async throws {
        let many = Set((0..<25).map { String(format: "U+%04X→''", 0xE000 + $0) })
        let listed = Answers.listed(many)
        XCTAssertEqual(listed.shown, Array(many.sorted().prefix(20)))
        XCTAssertEqual(listed.count, 25)
        try await withClient(try server()) { client in
            let text = "“abc” „a« »b\u{200B}\u{200C}\u{200D}\u{2060}\u{00AD}\u{200E}\u{200F}\u{FEFF} ø œ æ ł\tc\u{2028}a\u{2029}b"
            let body = try JSONSerialization.data(withJSONObject: ["text": text])
            let answer = try Self.json(try await client.execute(uri: "/v1/write", method: .post, headers: [.contentType: "application/json"],
                                                                body: ByteBuffer(bytes: body)))
            XCTAssertEqual(answer["replacedCount"] as? Int, 20)
            XCTAssertEqual((answer["replaced"] as? [String])?.count, 20)
            let plain = try Self.json(try await Self.post(client, "/v1/write", #"{"text": "abc"}"#))
            XCTAssertEqual(plain["replacedCount"] as? Int, 0)
        }
    }

    /// Pen widths are those of `quill write --pen-width` (0.1…50): a width of 1e-300 is refused, as 0 and 51 are.
    func testWidthsAreInThePenRange() async throws {
        try await withClient(try server()) { client in
            for width in ["1e-300", "0.05", "0", "51", "1e300"] {
                for (path, body) in [("/v1/write", #"{"text": "abc", "width": \#(width)}"#),
                                     ("/v1/render", #"{"lines": [{"points": [[1, 2, 1]]}], "format": "svg", "width": \#(width)}"#)] {
                    let response = try await Self.post(client, path, body)
                    XCTAssertEqual(response.status, .badRequest, "\(path) \(width)")
                    let error = try Self.error(response)
                    XCTAssertEqual(error.field, "width", "\(path) \(width)")
                    XCTAssertTrue(error.message.contains("from 0.1 to 50"), error.message)
                }
            }
            let thin = try await Self.post(client, "/v1/render", #"{"lines": [{"points": [[1, 2, 1]]}], "format": "svg", "width": 0.1}"#)
            XCTAssertEqual(thin.status, .ok)
        }
    }

    /// Every fault in a render body's lines is named one way, by index: `lines[i]`, `lines[i].points`,
    /// `lines[i].points[j]`, `lines[i].<field>`.
    func testRenderLineErrorsNameTheLineAndPoint() async throws {
        try await withClient(try server()) { client in
            for (lines, field, says) in [
                (#"[{"points": [[1, 2, 1]]}, {"points": [[1, 2, 0], [3, 4]]}]"#, "lines[1].points[1]", "lines[1].points[1] must be a point"),
                (#"[{"points": [[1, 2, 1]]}, null, {"points": [[1, 2, 0], [1e6, 4, 1]]}]"#, "lines[2].points[1]", "-100000 to 100000"),
                (#"[{"points": [[1, 2, 2]]}]"#, "lines[0].points[0]", "end 0 or 1"),
                (#"[{"points": "x"}]"#, "lines[0].points", "a list of points"),
                (#"[{"points": [[1, 2, 1]]}, {"text": "a"}]"#, "lines[1].points", "needs its points"),
                (#"[{"points": [[1, 2, 1]]}, 7]"#, "lines[1]", "each line is"),
                (#"[{"points": [[1, 2, 1]], "path": "/etc"}]"#, "lines[0].path", "unknown field 'lines[0].path'"),
                (#"[{"points": [[1, 2, 1]], "points": [[1, 2, 1]]}]"#, "lines[0].points", "given twice"),
            ] {
                let response = try await Self.post(client, "/v1/render", #"{"lines": \#(lines), "format": "svg"}"#)
                XCTAssertEqual(response.status, .badRequest, lines)
                let error = try Self.error(response)
                XCTAssertEqual(error.field, field, "\(lines): \(error.message)")
                XCTAssertTrue(error.message.contains(says), "\(lines): \(error.message)")
            }
        }
    }
}

// MARK: - Test helpers

/// A response body writer that keeps nothing: a client that reads the whole answer.
struct CollectingWriter: ResponseBodyWriter {
    func write(_ buffer: ByteBuffer) async throws {}
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// A plain TCP connection to the loopback server, with blocking reads bounded by `timeout` seconds, for the tests
/// that are about connections themselves (what a browser or curl would not show).
final class RawConnection: @unchecked Sendable {
    private let socket: Int32
    /// Seconds a read waits for bytes before it gives up (a connection that stays open and silent).
    var timeout: Double {
        didSet { setTimeout() }
    }

    init(port: Int, timeout: Double = 5) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.timeout = timeout
        guard socket >= 0 else { throw POSIXError(.EBADF) }
        setTimeout()
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { close(); throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close() }

    private var closed = false
    func close() {
        if !closed { closed = true; _ = Glibc.close(socket) }
    }

    private func setTimeout() {
        var value = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        _ = setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        let sent = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else { throw POSIXError(.EPIPE) }
    }

    /// Runs a blocking read on a thread of its own, not one of Swift's few cooperative threads (the server's
    /// handlers need those).
    private func blocking<T: Sendable>(_ read: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try read() }) }.start()
        }
    }

    /// Everything the server sends until it closes the connection (`closed`) or is silent for `timeout` seconds.
    func readToEnd() async throws -> (text: String, closed: Bool) {
        try await blocking { try self.readToEndNow() }
    }

    /// What the server sends up to and including `marker`; throws if the connection ends or is silent first.
    func read(until marker: String) async throws -> String {
        try await blocking { try self.readNow(until: marker) }
    }

    private func readToEndNow() throws -> (text: String, closed: Bool) {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if n > 0 { bytes += buffer[0..<n]; continue }
            if n == 0 { return (String(decoding: bytes, as: UTF8.self), true) }
            if errno == EAGAIN || errno == EWOULDBLOCK { return (String(decoding: bytes, as: UTF8.self), false) }
            if errno == ECONNRESET { return (String(decoding: bytes, as: UTF8.self), true) }
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }

    private func readNow(until marker: String) throws -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: bytes, as: UTF8.self).contains(marker) {
            let n = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw POSIXError(.ETIMEDOUT) }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A request log that keeps its lines, and a server context on a test channel that a `ConnectionWatch` watches: the
/// set-up of the tests that check what the log says when a client stays or leaves.
struct LoggedConnection {
    let lines = Outcomes.Lines()
    let log: RequestLog
    let channel = NIOAsyncTestingChannel()
    let watch = ConnectionWatch()
    let context: ServerContext

    init() async throws {
        var configuration = ServerConfiguration()
        configuration.log = { [lines] in lines.append($0) }
        log = RequestLog(configuration: configuration)
        try await channel.pipeline.addHandler(watch)
        context = ServerContext(source: .init(channel: channel, logger: Logger(label: "quill-serve-test")))
    }
}
