import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOEmbedded
import XCTest
@testable import QuillServer

/// What a fresh user's review of `quill serve` found: rasters without a bound, server paths in answers, methods,
/// content types, dropped characters, duplicate keys, deep nesting, and plain writes whose client went away.
extension ServerTests {
    // MARK: - /v1/render: bounded rasters, the time limit, pages that can be drawn

    /// A PNG over 16 megapixels is a 400 naming the field that made it so (`size`, or `lines` when the ink sets the
    /// page), before any worker draws it; 16 megapixels and under are drawn.
    func testRenderRefusesPNGsOverSixteenMegapixels() async throws {
        let server = try server()
        try await withClient(server) { client in
            // 2000 × 2000 points at 150 dpi: 4167 × 4167 pixels, 17.4 megapixels.
            let big = try await Self.post(client, "/v1/render",
                                          #"{"lines": [{"points": [[10, 10, 0], [20, 20, 1]]}], "format": "png", "size": {"width": 2000, "height": 2000}}"#)
            XCTAssertEqual(big.status, .badRequest)
            let error = try Self.error(big)
            XCTAssertEqual(error.field, "size")
            XCTAssertTrue(error.message.contains("4167 × 4167 pixels") && error.message.contains("16777216"), error.message)
            // The same page as SVG is vector: drawn.
            let svg = try await Self.post(client, "/v1/render",
                                          #"{"lines": [{"points": [[10, 10, 0], [20, 20, 1]]}], "format": "svg", "size": {"width": 2000, "height": 2000}}"#)
            XCTAssertEqual(svg.status, .ok)
            // Ink that reaches 2100 points makes the page: the fault is the lines'.
            let inky = try await Self.post(client, "/v1/render", #"{"lines": [{"points": [[10, 10, 0], [2100, 2100, 1]]}], "format": "png"}"#)
            XCTAssertEqual(inky.status, .badRequest)
            XCTAssertEqual(try Self.error(inky).field, "lines")
            // A long thin page over Cairo's 32767 pixels a side, though under 16 megapixels.
            let thin = try await Self.post(client, "/v1/render", #"{"lines": [{"points": [[10, 10, 0], [20, 16000, 1]]}], "format": "png"}"#)
            XCTAssertEqual(thin.status, .badRequest)
            XCTAssertEqual(try Self.error(thin).field, "lines")
            XCTAssertTrue(try Self.error(thin).message.contains("32767"))
            // 1900 × 1900 points is 3959 × 3959 pixels, 15.7 megapixels: drawn.
            let fits = try await Self.post(client, "/v1/render",
                                           #"{"lines": [{"points": [[10, 10, 0], [20, 20, 1]]}], "format": "png", "size": {"width": 1900, "height": 1900}}"#)
            XCTAssertEqual(fits.status, .ok)
            XCTAssertEqual(fits.headers[.contentType], "image/png")
        }
    }

    /// A render obeys the request's time limit: a request whose time is up is a 504 before anything is drawn, and
    /// the drawing asks whether to stop before each stroke (a stop is asked for without any clock).
    func testRenderObeysTheTimeLimit() throws {
        let server = try server()
        defer { server.shutdown() }
        let body = try JSONDecoder().decode(RenderBody.self, from: Data(#"""
            {"lines": [{"points": [[10, 10, 1], [20, 20, 1], [30, 30, 1]]}, null, {"points": [[40, 40, 0], [50, 50, 1], [60, 60, 1]]}],
             "format": "png"}
            """#.utf8))
        switch server.drawn(body, flag: CancelFlag(), deadline: .now - .seconds(1)) {
        case .success: XCTFail("a render past its time should fail")
        case let .failure(e):
            XCTAssertEqual(e.status, .gatewayTimeout)
            XCTAssertTrue(e.message.contains("--timeout"), e.message)
        }
        // Asked before drawing and before each of the 5 strokes: told to stop at the third stroke, it stops there.
        var asked = 0
        XCTAssertNil(try server.draw(body, shouldStop: { asked += 1; return asked == 4 }))
        XCTAssertEqual(asked, 4)
        // Never told to stop, it asks before drawing, before each stroke, before writing the file and after.
        asked = 0
        let png = try XCTUnwrap(try server.draw(body, shouldStop: { asked += 1; return false }))
        XCTAssertEqual(asked, 1 + 5 + 2)
        XCTAssertEqual(png.prefix(4), Data([0x89, 0x50, 0x4E, 0x47]))
        // A PNG's long stroke is drawn in pieces of 32 curves, asked about before each: 100 points, 99 curves, 4
        // pieces. An SVG draws it whole.
        let long = (0..<100).map { i in "[\(10 + i * 3), \(10 + (i * i) % 50), \(i == 99 ? 1 : 0)]" }.joined(separator: ", ")
        for (format, checks) in [("png", 1 + 4 + 2), ("svg", 1 + 1 + 2)] {
            let one = try JSONDecoder().decode(RenderBody.self, from: Data(#"{"lines": [{"points": [\#(long)]}], "format": "\#(format)"}"#.utf8))
            asked = 0
            XCTAssertNotNil(try server.draw(one, shouldStop: { asked += 1; return false }))
            XCTAssertEqual(asked, checks, format)
        }
        // A client that went away stops it too (499, client closed request; nobody is there to read it).
        let flag = CancelFlag()
        flag.raise()
        if case let .failure(e) = server.drawn(body, flag: flag, deadline: .now + .seconds(3600)) {
            XCTAssertEqual(e.status.code, 499)
        } else {
            XCTFail("a cancelled render should fail")
        }
    }

    /// Points are page points within the largest page (100,000 points a side), and a page made from the ink must
    /// fit it, margin included: 400s naming the point (`lines[0].points[0]`) or, for the page, `lines`; never a
    /// failure in Cairo.
    func testRenderPointsMustFitTheLargestPage() async throws {
        let server = try server()
        try await withClient(server) { client in
            for (points, field, says) in [("[[150000, 10, 1]]", "lines[0].points[0]", "from -100000 to 100000"),
                                          ("[[10, -1000000, 1]]", "lines[0].points[0]", "from -100000 to 100000"),
                                          ("[[99990, 10, 1]]", "lines", "more than the largest page")] {
                for format in ["svg", "pdf"] {
                    let response = try await Self.post(client, "/v1/render", #"{"lines": [{"points": \#(points)}], "format": "\#(format)"}"#)
                    XCTAssertEqual(response.status, .badRequest, points)
                    let error = try Self.error(response)
                    XCTAssertEqual(error.field, field, points)
                    XCTAssertTrue(error.message.contains(says), error.message)
                }
            }
            let wide = try await Self.post(client, "/v1/render", #"{"lines": [{"points": [[10, 10, 0], [50000, 10, 1]]}], "format": "svg"}"#)
            XCTAssertEqual(wide.status, .ok)
        }
    }

    /// No answer shows a path of the server's: a render whose scratch folder cannot be made is a 500 that says to
    /// see the log, and the log has the detail.
    func testErrorsNeverShowTheServersPaths() async throws {
        let lines = Outcomes.Lines()
        let server = try server { $0.log = { lines.append($0) } }
        let scratch = server.scratch.path
        // Something took the scratch folder's place: a file where the folder should be.
        try FileManager.default.removeItem(atPath: scratch)
        XCTAssertTrue(FileManager.default.createFile(atPath: scratch, contents: Data()))
        let modelDirectory = model
        try await withClient(server) { client in
            var answers: [TestResponse] = []
            for format in ["svg", "png", "pdf"] {
                let response = try await Self.post(client, "/v1/render", #"{"lines": [{"points": [[10, 10, 0], [20, 20, 1]]}], "format": "\#(format)"}"#)
                XCTAssertEqual(response.status, .internalServerError, format)
                XCTAssertTrue(try Self.error(response).message.contains("see the server's log"))
                answers.append(response)
            }
            answers.append(try await Self.post(client, "/v1/render", #"{"lines": [{"points": [[1e6, 10, 1]]}], "format": "svg"}"#))
            for answer in answers {
                let body = String(buffer: answer.body)
                for path in [scratch, "quill-serve-", modelDirectory, NSTemporaryDirectory(), "/tmp"] {
                    XCTAssertFalse(body.contains(path), "\(answer.status.code): \(body)")
                }
            }
        }
        XCTAssertTrue(lines.all.contains { $0.contains(scratch) }, "the log has what went wrong: \(lines.all)")
    }

    // MARK: - Methods and content types

    /// A known path asked with another method is a 405 with `Allow` and the JSON error; an unknown path stays 404.
    func testWrongMethodIs405WithAllow() async throws {
        try await withClient(try server()) { client in
            for (method, path, allow) in [(HTTPRequest.Method.get, "/v1/write", "POST"), (.get, "/v1/write/stream", "POST"),
                                          (.put, "/v1/render", "POST"), (.post, "/healthz", "GET, HEAD"), (.delete, "/v1/model", "GET, HEAD"),
                                          (.post, "/", "GET, HEAD"), (.post, "/openapi.json", "GET, HEAD"), (.post, "/v1/styles", "GET, HEAD")] {
                let response = try await client.execute(uri: path, method: method, headers: [.contentType: "application/json"],
                                                        body: ByteBuffer(string: "{}"))
                XCTAssertEqual(response.status, .methodNotAllowed, "\(method) \(path)")
                XCTAssertEqual(response.headers[.allow], allow, "\(method) \(path)")
                XCTAssertEqual(response.headers[.contentType], "application/json")
                let error = try Self.error(response)
                XCTAssertNil(error.field)
                XCTAssertTrue(error.message.contains("\(method) is not allowed on \(path)"), error.message)
            }
            let missing = try await client.execute(uri: "/v1/writes", method: .get)
            XCTAssertEqual(missing.status, .notFound)
        }
    }

    /// POST bodies are JSON and say so: `application/json`, with a UTF-8 charset or none; anything else, or no
    /// Content-Type, is a 415 with the JSON error (a cross-origin text/plain POST, which a browser sends without a
    /// CORS preflight, is refused).
    func testPostBodiesMustBeSentAsJSON() async throws {
        try await withClient(try server()) { client in
            let bodies = ["/v1/write": #"{"text": "abc"}"#, "/v1/write/stream": #"{"text": "abc"}"#,
                          "/v1/render": #"{"lines": [{"points": [[10, 10, 1]]}], "format": "svg"}"#]
            for (path, body) in bodies.sorted(by: { $0.key < $1.key }) {
                for type in [nil, "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                             "multipart/form-data; boundary=x", "application/jsonx", "application/json; charset=latin1"] {
                    var headers: HTTPFields = [:]
                    if let type { headers[.contentType] = type }
                    let response = try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
                    XCTAssertEqual(response.status, .unsupportedMediaType, "\(path) \(type ?? "none")")
                    XCTAssertTrue(try Self.error(response).message.contains("Content-Type: application/json"), "\(path) \(type ?? "none")")
                }
                for type in ["application/json", "application/json; charset=utf-8", "Application/JSON;Charset=\"UTF-8\""] {
                    let response = try await client.execute(uri: path, method: .post, headers: [.contentType: type],
                                                            body: ByteBuffer(string: body))
                    XCTAssertEqual(response.status, .ok, "\(path) \(type)")
                }
            }
        }
    }

    // MARK: - What the body says

    /// Characters text preparation drops (zero-width space, byte-order mark, soft hyphen, …) or turns into line
    /// breaks are listed in `replaced`, with the characters the model lacks.
    func testReplacedListsDroppedCharacters() async throws {
        try await withClient(try server()) { client in
            let text = "a\u{200B}b\u{FEFF}c\u{00AD}\u{2060} “hello”\u{2028}abc\u{200E}"
            let body = try JSONSerialization.data(withJSONObject: ["text": text])
            for path in ["/v1/write", "/v1/write/stream"] {
                let response = try await client.execute(uri: path, method: .post, headers: [.contentType: "application/json"],
                                                        body: ByteBuffer(bytes: body))
                XCTAssertEqual(response.status, .ok)
                let answer = path == "/v1/write" ? try Self.json(response)
                    : try XCTUnwrap(try Self.events(String(buffer: response.body)).last?.data as? [String: Any])
                XCTAssertEqual(answer["replaced"] as? [String],
                               ["'“'→\"", "'”'→\"", "U+00AD→''", "U+200B→''", "U+200E→''", "U+2028→U+000A", "U+2060→''", "U+FEFF→''"], path)
                let lines = try XCTUnwrap(answer["lines"] as? [[String: Any]])
                XCTAssertEqual(lines.map { $0["text"] as? String }, ["abc \"hello\"", "abc"])
            }
            // Nothing dropped, nothing listed.
            let plain = try Self.json(try await Self.post(client, "/v1/write", #"{"text": "abc"}"#))
            XCTAssertEqual(plain["replaced"] as? [String], [])
        }
    }

    /// A key given twice anywhere in a body is a 400 naming it as field errors name fields; nesting beyond 32
    /// levels is said to be that, not "not valid JSON"; malformed JSON says where.
    func testDuplicateKeysAndDeepNestingAreNamed() async throws {
        try await withClient(try server()) { client in
            for (body, field) in [(#"{"lines": [{"points": [[1, 2, 1]], "points": [[3, 4, 1]]}], "format": "svg"}"#, "lines[0].points"),
                                  (#"{"lines": [{"points": [[1, 2, 1]]}], "format": "svg", "size": {"width": 10, "height": 10, "width": 20}}"#, "size.width"),
                                  (#"{"format": "png", "lines": [{"points": [[1, 2, 1]]}], "format": "svg"}"#, "format")] {
                let response = try await Self.post(client, "/v1/render", body)
                XCTAssertEqual(response.status, .badRequest, body)
                let error = try Self.error(response)
                XCTAssertEqual(error.field, field, body)
                XCTAssertTrue(error.message.contains("'\(field)' is given twice"), error.message)
            }
            // The same key in two different objects is fine.
            let two = try await Self.post(client, "/v1/render", #"{"lines": [{"points": [[1, 2, 1]]}, {"points": [[3, 4, 1]]}], "format": "svg"}"#)
            XCTAssertEqual(two.status, .ok)
            let deep = String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
            let response = try await Self.post(client, "/v1/render", #"{"lines": \#(deep), "format": "svg"}"#)
            XCTAssertEqual(response.status, .badRequest)
            XCTAssertTrue(try Self.error(response).message.contains("nests objects and arrays more than 32 levels deep"))
            let broken = try await Self.post(client, "/v1/write", #"{"text": "abc" "seed": 1}"#)
            XCTAssertEqual(broken.status, .badRequest)
            let message = try Self.error(broken).message
            XCTAssertTrue(message.contains("not valid JSON (invalid value at line 1, column 16)"), message)
            // A trailing comma, which Foundation's decoder accepts, is refused like other malformed JSON.
            let trailing = try await Self.post(client, "/v1/write", #"{"text": "abc",}"#)
            XCTAssertEqual(trailing.status, .badRequest)
            XCTAssertTrue(try Self.error(trailing).message.contains("a comma before '}' at line 1, column 15"))
        }
    }

    // MARK: - A plain write whose client goes away

    /// Hummingbird does not cancel a handler whose client has gone, so a plain POST /v1/write watches its
    /// connection: when the client closes its end (what a client that drops sends) while the page is written, the
    /// job is stopped. The connection here is NIO's testing channel with the server's `ConnectionWatch`, as
    /// `application()` puts one in every connection's pipeline; the worker is held by a hook, not by time.
    func testPlainWriteStopsWhenTheClientGoesAway() async throws {
        let gate = Gate()
        let outcomes = Outcomes()
        let server = try server({ $0.beforeSampling = { gate.holdFirst() } }, jobFinished: { outcomes.append($0) })
        defer { server.shutdown() }
        let channel = NIOAsyncTestingChannel()
        let watch = ConnectionWatch()
        try await channel.pipeline.addHandler(watch)
        let context = ServerContext(source: .init(channel: channel, logger: Logger(label: "quill-serve-test")))
        let found = await context.connectionWatch()
        XCTAssertTrue(found === watch, "the request finds its connection's watch")
        let request = Request(head: HTTPRequest(method: .post, scheme: "http", authority: "localhost", path: "/v1/write",
                                                headerFields: [.contentType: "application/json"]),
                              body: RequestBody(buffer: ByteBuffer(string: #"{"text": "hello world abc", "style": "none"}"#)))
        let answer = Task { try await server.write(request, context) }
        await gate.waitUntilHeld()
        // The client closes its end of the connection while its page is being written.
        try await channel.testingEventLoop.executeInContext {
            channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
        gate.release()
        let outcome = await outcomes.first()
        XCTAssertEqual(outcome, .cancelled)
        do {
            _ = try await answer.value
            XCTFail("a write whose client went away should not be answered")
        } catch let e as APIError {
            XCTAssertEqual(e.status.code, 499, "client closed request")
        }
        // A request that starts watching after its client went is stopped at once.
        let late = CancelFlag()
        watch.watch(late)
        XCTAssertTrue(late.isRaised)
        // A connection that stays does not stop its requests.
        let calm = ConnectionWatch(), flag = CancelFlag()
        calm.watch(flag)
        calm.stop(watching: flag)
        calm.clientWent()
        XCTAssertFalse(flag.isRaised)
    }
}
