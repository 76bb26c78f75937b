import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOEmbedded
import XCTest
@testable import QuillCLI
@testable import QuillServer

/// What a third review of `quill serve` found: answers delivered in full but logged 499, streams that end in an
/// error logged 200, requests NIO's decoder refuses answered with an empty 400 and no log line, strings that are not
/// text reported as "must be a string", unknown fields of a render's size not named, and `--host` failures in NIO's
/// words.
extension ServerTests {
    // MARK: - (a) The log of an answer written in full

    /// A client that closes as soon as it has read its answer (curl does) is gone by the time the log line is
    /// written; its answer was delivered, so the line has the answer's status, not 499. The watch here says "gone"
    /// while the body is written, after the client has had every byte, which is when a real close lands.
    func testAnswerWrittenInFullKeepsItsStatusWhenTheClientClosesAfterReading() async throws {
        let connection = try await LoggedConnection()
        let (lines, log, watch, context) = (connection.lines, connection.log, connection.watch, connection.context)
        let request = Request(head: HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/healthz"),
                              body: RequestBody(buffer: ByteBuffer()))
        let response = try await log.handle(request, context: context) { _, _ in QuillServer.json(Data(#"{"status":"ok"}"#.utf8)) }
        try await response.body.write(ClosingAfterReadWriter(watch: watch))
        XCTAssertTrue(watch.isGone, "the client closed")
        XCTAssertEqual(lines.all.count, 1)
        XCTAssertTrue(lines.all.last?.hasPrefix("quill serve: GET /healthz 200 ") == true, lines.all.last ?? "")
    }

    /// The same over a real socket: 40 requests, each connection closed the moment its answer has been read, are
    /// all logged 200 (before, a few in a hundred were logged 499).
    func testQuickClientsThatCloseAfterReadingAreLogged200() async throws {
        let lines = Outcomes.Lines()
        try await withLiveServer(try liveServer { $0.log = { lines.append($0) } }) { port in
            for _ in 0..<40 {
                let connection = try RawConnection(port: port)
                try connection.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
                let answer = try await connection.read(until: #"{"status":"ok"}"#)
                XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200"), answer)
                connection.close()
            }
            // Each line is written once its answer is: wait for the last (at most 5 s).
            let waitUntil = ContinuousClock.now + .seconds(5)
            while lines.all.count < 40, ContinuousClock.now < waitUntil { try await Task.sleep(for: .milliseconds(10)) }
        }
        XCTAssertEqual(lines.all.count, 40)
        let other = lines.all.filter { !$0.hasPrefix("quill serve: GET /healthz 200 ") }
        XCTAssertEqual(other, [], "every answer was read in full")
    }

    // MARK: - (b) A stream that ends in an error

    /// A stream whose time runs out ends with an `error` event carrying the status the same request without a
    /// stream is answered with (504), and the log gives that status, as it does for the plain request.
    func testStreamThatTimesOutIsLoggedWithTheErrorsStatus() async throws {
        let lines = Outcomes.Lines()
        let server = try server {
            $0.timeout = 0.2
            $0.log = { lines.append($0) }
            // The job starts after its deadline: it ends at once with the time limit's error.
            $0.beforeSampling = { Thread.sleep(forTimeInterval: 0.3) }
        }
        try await withClient(server) { client in
            let stream = try await Self.post(client, "/v1/write/stream", #"{"text": "abc", "style": "none"}"#)
            XCTAssertEqual(stream.status, .ok, "the stream had begun")
            let text = String(buffer: stream.body)
            let event = try XCTUnwrap(text.components(separatedBy: "event: error\ndata: ").last?.components(separatedBy: "\n").first)
            let data = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any], event)
            XCTAssertEqual(data["status"] as? Int, 504, event)
            let message = try XCTUnwrap((data["error"] as? [String: Any])?["message"] as? String)
            XCTAssertTrue(message.contains("--timeout"), message)
            let plain = try await Self.post(client, "/v1/write", #"{"text": "abc", "style": "none"}"#)
            XCTAssertEqual(plain.status, .gatewayTimeout)
            XCTAssertEqual(try Self.error(plain).message, message, "the same error, streamed or not")
        }
        XCTAssertEqual(lines.all.count, 2, "\(lines.all)")
        XCTAssertTrue(lines.all.first?.hasPrefix("quill serve: POST /v1/write/stream 504 ") == true, lines.all.first ?? "")
        XCTAssertTrue(lines.all.last?.hasPrefix("quill serve: POST /v1/write 504 ") == true, lines.all.last ?? "")
    }

    // MARK: - (c) What NIO's decoder refuses

    /// An unknown method on a known path is a 405 with `Allow` and the JSON error, on another path a 404; a request
    /// line that is not HTTP is a 400 with the JSON error. Each is logged, and the connection closed.
    func testUnreadableRequestsGetTheJSONErrorAndALogLine() async throws {
        let lines = Outcomes.Lines()
        try await withLiveServer(try liveServer { $0.log = { lines.append($0) } }) { port in
            for (request, status, says, logged) in [
                ("FOO /v1/write HTTP/1.1", "405", "FOO is not allowed on /v1/write; it takes POST", "quill serve: FOO /v1/write 405 "),
                ("BREW /healthz?x=1 HTTP/1.1", "405", "BREW is not allowed on /healthz; it takes GET, HEAD", "quill serve: BREW /healthz 405 "),
                ("FOO /nowhere HTTP/1.1", "404", "no such endpoint: FOO /nowhere", "quill serve: FOO /nowhere 404 "),
                ("GARBAGE", "400", "the request line 'GARBAGE' is not METHOD /path HTTP/1.1", "quill serve: - - 400 "),
                ("GET /healthz HTTX/1.1", "400", "the request line 'GET /healthz HTTX/1.1' is not valid HTTP/1.1", "quill serve: GET /healthz 400 "),
                ("GET /v1/model HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 90 * 1024), "431",
                 "larger than this server reads (80 KiB of headers", "quill serve: GET /v1/model 431 "),
            ] {
                let connection = try RawConnection(port: port)
                try connection.send("\(request)\r\nHost: localhost\r\n\r\n")
                let answer = try await connection.readToEnd()
                XCTAssertTrue(answer.text.hasPrefix("HTTP/1.1 \(status)"), "\(request): \(answer.text)")
                XCTAssertTrue(answer.closed, request)
                let parts = answer.text.components(separatedBy: "\r\n\r\n")
                let head = parts[0].lowercased()
                XCTAssertTrue(head.contains("content-type: application/json"), head)
                XCTAssertTrue(head.contains("connection: close"), head)
                XCTAssertEqual(head.contains("allow: "), status == "405", head)
                let body = try XCTUnwrap(parts.count == 2 ? parts[1] : nil, answer.text)
                let error = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["error"] as? [String: Any])
                XCTAssertTrue(error.keys.contains("field"), "the error shape of every answer: \(body)")
                let message = try XCTUnwrap(error["message"] as? String)
                XCTAssertTrue(message.contains(says), "\(request): \(message)")
                let waitUntil = ContinuousClock.now + .seconds(2)
                while !lines.all.contains(where: { $0.hasPrefix(logged) }), ContinuousClock.now < waitUntil {
                    try await Task.sleep(for: .milliseconds(10))
                }
                XCTAssertTrue(lines.all.contains { $0.hasPrefix(logged) }, "\(request): \(lines.all)")
            }
            // An unknown method after a good request on the same connection: the good one is answered, then the 405.
            let kept = try RawConnection(port: port)
            try kept.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            _ = try await kept.read(until: #"{"status":"ok"}"#)
            try kept.send("FOO /v1/render HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let second = try await kept.readToEnd()
            XCTAssertTrue(second.text.hasPrefix("HTTP/1.1 405"), second.text)
            XCTAssertTrue(second.text.lowercased().contains("allow: post"), second.text)
        }
        XCTAssertEqual(UnreadableRequest.shown("a\u{1}b\u{FFFD}"), "a<U+0001>b<U+FFFD>", "control characters of a request line are shown, not logged raw")
    }

    /// The request tap finds where a request ends (head, then a body by Content-Length or chunks), so that the
    /// request line of a pipelined request after it is the one an error names.
    func testTheEndOfAPipelinedRequestIsFound() {
        func end(_ text: String) -> Int? { RequestLineTap.endOfFirstRequest(Array(text.utf8)) }
        XCTAssertEqual(end("GET / HTTP/1.1\r\n\r\nXYZ"), 18)
        XCTAssertEqual(end("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 29)
        XCTAssertEqual(end("POST / HTTP/1.1\r\ncontent-length: 3\r\n\r\nabcGET"), 41)
        XCTAssertNil(end("POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nabc"))
        XCTAssertNil(end("GET / HTTP/1.1\r\nHost: a\r\n"))
        let chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n10;x=y\r\n0123456789abcdef\r\n0\r\nT: 1\r\n\r\n"
        XCTAssertEqual(end(chunked + "XYZ"), chunked.utf8.count)
        XCTAssertNil(end(String(chunked.dropLast(2))))
        XCTAssertNil(end("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))
    }

    // MARK: - (d) Strings that are not text, and the size's fields

    /// A string with bytes that are not UTF-8, or a lone surrogate escape, is a 400 that says so and names the
    /// field (not "must be a string"); a surrogate pair is a character like any other.
    func testStringsThatAreNotTextAreNamed() async throws {
        try await withClient(try server()) { client in
            func post(_ bytes: [UInt8]) async throws -> TestResponse {
                try await client.execute(uri: "/v1/write", method: .post, headers: [.contentType: "application/json"],
                                         body: ByteBuffer(bytes: bytes))
            }
            let quoted = Array(#"{"text": "ab"#.utf8)
            for (bad, says) in [([0xFF], "byte 0xFF at offset 12"), ([0xC3], "not valid UTF-8"), ([0xC0, 0xAF], "byte 0xC0"),
                                ([0xED, 0xA0, 0x80], "byte 0xA0 at offset 13")] as [([UInt8], String)] {
                let response = try await post(quoted + bad + Array(#"c"}"#.utf8))
                XCTAssertEqual(response.status, .badRequest, says)
                let error = try Self.error(response)
                XCTAssertEqual(error.field, "text")
                XCTAssertTrue(error.message.hasPrefix("text is not valid UTF-8"), error.message)
                XCTAssertTrue(error.message.contains(says), "\(says): \(error.message)")
            }
            for escape in [#"\ud800"#, #"\udc00"#, #"ab\ud800x"#, #"\ud800\ud800"#, #"\ud800\n"#, #"\uDBFF"#] {
                let response = try await Self.post(client, "/v1/write", #"{"text": "\#(escape)"}"#)
                XCTAssertEqual(response.status, .badRequest, escape)
                let error = try Self.error(response)
                XCTAssertEqual(error.field, "text", escape)
                XCTAssertTrue(error.message.hasPrefix("text has a lone surrogate"), "\(escape): \(error.message)")
            }
            // Other fields and keys are named the same way.
            let style = try await Self.post(client, "/v1/write", #"{"text": "abc", "style": "\udfff"}"#)
            XCTAssertEqual(try Self.error(style).field, "style")
            let key = try await post(Array(#"{"text": "abc", "a"#.utf8) + [0xFE] + Array(#"": 1}"#.utf8))
            let keyMessage = try Self.error(key).message
            XCTAssertTrue(keyMessage.hasPrefix("a field name of the body is not valid UTF-8"), keyMessage)
            // A pair is one character (one the model does not have: named as such).
            let pair = try await Self.post(client, "/v1/write", #"{"text": "ab\ud83d\ude00"}"#)
            XCTAssertEqual(pair.status, .badRequest)
            let pairMessage = try Self.error(pair).message
            XCTAssertFalse(pairMessage.contains("surrogate"), pairMessage)
            let fine = try await post(Array(#"{"text": "abc \#u{00e9}"}"#.utf8))
            XCTAssertEqual(fine.status, .ok, "é is replaced by e: valid UTF-8 of two bytes")
        }
    }

    /// An unknown field inside a render's size is named as `size.<name>`, as every other unknown field is.
    func testRenderSizeNamesItsUnknownFields() async throws {
        try await withClient(try server()) { client in
            let line = #""lines": [{"points": [[1, 2, 1]]}], "format": "svg""#
            for (size, field, says) in [
                (#"{"width": 100, "height": 100, "depth": 3}"#, "size.depth", "unknown field 'size.depth'; the fields are width, height"),
                (#"{"width": "wide", "height": 100}"#, "size.width", "size.width must be a number"),
                (#"{"width": 100}"#, "size", "size must be {\"width\": w, \"height\": h}"),
                (#"[100, 100]"#, "size", "size must be {\"width\": w, \"height\": h} in points"),
            ] {
                let response = try await Self.post(client, "/v1/render", "{\(line), \"size\": \(size)}")
                XCTAssertEqual(response.status, .badRequest, size)
                let error = try Self.error(response)
                XCTAssertEqual(error.field, field, "\(size): \(error.message)")
                XCTAssertTrue(error.message.contains(says), "\(size): \(error.message)")
            }
            let fine = try await Self.post(client, "/v1/render", "{\(line), \"size\": {\"height\": 50, \"width\": 80}}")
            XCTAssertEqual(fine.status, .ok)
        }
    }

    // MARK: - (e) Where the server cannot listen

    /// `--host` that is neither an address nor a name the system resolves is one line naming it, before the model
    /// is loaded; an address in use is one line that says so (and how to get past it), without NIO's call syntax.
    func testHostAndBindFailuresAreOneClearLine() async throws {
        var c = ServerConfiguration()
        c.host = "999.1.1.1"
        XCTAssertEqual(c.hostProblem(), "--host 999.1.1.1: not an IP address or a host name this machine resolves; give an address such as 127.0.0.1, ::1 or 0.0.0.0")
        let line = errorText(["serve", "--host", "999.1.1.1", "--model", model])
        XCTAssertTrue(line.contains("--host 999.1.1.1: not an IP address"), line)
        XCTAssertFalse(line.contains("unknown(host"), line)
        c.host = "127.0.0.1"
        XCTAssertNil(c.hostProblem())
        c.port = 8080
        let inUse = c.startProblem(IOError(errnoCode: EADDRINUSE, reason: "bind(descriptor:ptr:bytes:)"))
        XCTAssertEqual(inUse, "cannot listen on 127.0.0.1:8080: the address is already in use (another server, or another quill serve); stop it or give another --port (0 picks a free one)")
        for text in [inUse, c.startProblem(IOError(errnoCode: EACCES, reason: "bind")), c.startProblem(IOError(errnoCode: EIO, reason: "bind"))] {
            XCTAssertEqual(text.filter { $0 == "(" }.count, text.filter { $0 == ")" }.count, text)
            XCTAssertFalse(text.contains("descriptor"), text)
        }

        // A port that is taken, for real: the second server's start fails with that line.
        let first = try liveServer()
        try await withLiveServer(first) { port in
            var taken = ServerConfiguration()
            taken.port = port
            taken.workers = 1
            let second = try QuillServer(configuration: taken, modelDirectory: self.model, modelFile: self.model + "/model.safetensors")
            defer { second.shutdown() }
            do {
                try await second.application().runService()
                XCTFail("a port in use cannot be listened on")
            } catch {
                XCTAssertEqual(taken.startProblem(error), "cannot listen on 127.0.0.1:\(port): the address is already in use (another server, or another quill serve); stop it or give another --port (0 picks a free one)")
            }
        }
    }
}

/// A client that reads its whole answer and closes its connection at once: the watch learns of it as soon as the
/// last byte is written, before the server has written its log line.
struct ClosingAfterReadWriter: ResponseBodyWriter {
    let watch: ConnectionWatch
    func write(_ buffer: ByteBuffer) async throws {}
    func finish(_ trailingHeaders: HTTPFields?) async throws { watch.clientWent() }
}
