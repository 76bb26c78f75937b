import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOEmbedded
import QuillData
import QuillModels
import QuillNN
import QuillNumerics
import QuillRender
import QuillTestSupport
import QuillWriting
import XCTest
@testable import QuillCLI
@testable import QuillServer

/// `quill serve`'s HTTP API through Hummingbird's router test client (no port is opened), on a small untrained
/// model the tests make.
final class ServerTests: XCTestCase {
    var dir: TempDir!
    var model = ""

    override func setUpWithError() throws {
        dir = TempDir("quill-serve")
        model = try Self.makeModel(dir, style: "default")
    }

    override func tearDown() { dir?.cleanup() }

    /// An untrained synthesis model over a small alphabet in `dir/model`, with a style named `style`.
    static func makeModel(_ dir: TempDir, style: String?) throws -> String {
        var rng = SeededGenerator(seed: 1)
        let alphabet = try Alphabet(storedSymbols: ["\u{FFFD}", " ", "a", "b", "c", "e", "h", "l", "o", "t", "w", "r", "d", "\""])
        let net = HandwritingModel<Float>(config: HandwritingConfig(kind: .synthesis, layers: 2, hidden: 8,
                                                                     mixture: MixtureDensity(components: 2),
                                                                     alphabetSize: alphabet.count), rng: &rng)
        let out = dir.path("model")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let stats = OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 10, stdDy: 10)
        try HandwritingCheckpoint.save(net, alphabet: alphabet, stats: stats, to: out + "/model.safetensors")
        if let style {
            let loaded = try HandwritingCheckpoint.load(out + "/model.safetensors", expecting: .synthesis)
            let sampler = HandwritingSampler(model: loaded.model, alphabet: loaded.alphabet, stats: loaded.stats)
            var line = sampler.write(["abc"], options: WriteOptions(stepsPerCharacter: 10), seed: 3)[0]
            line.eos[line.eos.count - 1] = true
            try HandwritingStyle(name: style, prime: line.prime(text: "abc"), source: "test").save(model: out)
        }
        return out
    }

    func server(_ configure: (inout ServerConfiguration) -> Void = { _ in },
                jobFinished: (@Sendable (JobOutcome) -> Void)? = nil) throws -> QuillServer {
        var c = ServerConfiguration()
        c.workers = 1
        c.log = nil
        configure(&c)
        return try QuillServer(configuration: c, modelDirectory: model, modelFile: model + "/model.safetensors",
                               jobFinished: jobFinished)
    }

    /// Runs `test` against the server's router.
    func withClient(_ server: QuillServer, _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        defer { server.shutdown() }
        let app = Application(router: server.router())
        try await app.test(.router, test)
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        let body = response.body
        guard let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
            throw NSError(domain: "not an object", code: 0)
        }
        return object
    }

    static func post(_ client: any TestClientProtocol, _ uri: String, _ body: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: [.contentType: "application/json"],
                                 body: ByteBuffer(string: body))
    }

    /// The field and message of an error answer.
    static func error(_ response: TestResponse) throws -> (field: String?, message: String) {
        let error = try XCTUnwrap(try json(response)["error"] as? [String: Any])
        return (error["field"] as? String, try XCTUnwrap(error["message"] as? String))
    }

    // MARK: - Each endpoint

    /// A bias of -0 is 0: the answer echoes `"bias": 0`, never -0.
    func testNegativeZeroBiasIsZero() throws {
        let body = try JSONDecoder().decode(WriteBody.self, from: Data(#"{"text": "abc", "bias": -0.0}"#.utf8))
        XCTAssertEqual(body.bias, 0)
        XCTAssertEqual(body.bias?.sign, .plus)
    }

    func testSimpleEndpoints() async throws {
        let server = try server()
        try await withClient(server) { client in
            let page = try await client.execute(uri: "/", method: .get)
            XCTAssertEqual(page.status, .ok)
            XCTAssertEqual(page.headers[.contentType], "text/html; charset=utf-8")
            XCTAssertTrue(String(buffer: page.body).contains("/v1/write"))
            let health = try await client.execute(uri: "/healthz", method: .get)
            XCTAssertEqual(try Self.json(health)["status"] as? String, "ok")
            let model = try Self.json(try await client.execute(uri: "/v1/model", method: .get))
            XCTAssertEqual(model["kind"] as? String, "synthesis")
            XCTAssertEqual(model["alphabet"] as? String, " abcehlotwrd\"")
            XCTAssertEqual(model["layers"] as? Int, 2)
            XCTAssertEqual(model["hidden"] as? Int, 8)
            XCTAssertEqual(model["mixtures"] as? Int, 2)
            XCTAssertEqual(model["window"] as? Int, 10)
            XCTAssertEqual(model["maxChars"] as? Int, 1000)
            XCTAssertGreaterThan(model["parameters"] as? Int ?? 0, 100)
            XCTAssertEqual((model["bias"] as? [String: Double])?["max"], 20)
            let styles = try Self.json(try await client.execute(uri: "/v1/styles", method: .get))
            XCTAssertEqual(styles["styles"] as? [String], ["default"])
            XCTAssertEqual(styles["default"] as? String, "default")
            let missing = try await client.execute(uri: "/v2/nothing", method: .get)
            XCTAssertEqual(missing.status, .notFound)
            XCTAssertTrue(try Self.error(missing).message.contains("no such endpoint"))
        }
    }

    /// /openapi.json is JSON, and its paths and methods are exactly the router's routes.
    func testOpenAPIDocumentListsEveryRoute() async throws {
        let server = try server()
        let routes = Set(server.router().routes.map { "\($0.method.rawValue.lowercased()) \($0.path)" })
        XCTAssertEqual(routes.count, 8)
        try await withClient(server) { client in
            let document = try Self.json(try await client.execute(uri: "/openapi.json", method: .get))
            XCTAssertEqual(document["openapi"] as? String, "3.0.3")
            let paths = try XCTUnwrap(document["paths"] as? [String: [String: Any]])
            let documented = Set(paths.flatMap { path, methods in methods.keys.map { "\($0) \(path)" } })
            XCTAssertEqual(documented, routes)
        }
    }

    func testWriteAnswersStrokesWindowAndWeights() async throws {
        let server = try server()
        try await withClient(server) { client in
            let response = try await Self.post(client, "/v1/write",
                                               #"{"text": "abc\n\nhello", "seed": 5, "bias": 2, "color": "red", "width": 3}"#)
            XCTAssertEqual(response.status, .ok)
            XCTAssertEqual(response.headers[.contentType], "application/json")
            let answer = try Self.json(response)
            XCTAssertEqual(answer["seed"] as? Int, 5)
            XCTAssertEqual(answer["bias"] as? Double, 2)
            XCTAssertEqual(answer["style"] as? String, "default")
            XCTAssertEqual(answer["color"] as? String, "#ff0000")
            XCTAssertEqual(answer["width"] as? Double, 3)
            let size = try XCTUnwrap(answer["size"] as? [String: Double])
            XCTAssertGreaterThan(size["width"] ?? 0, 40)
            XCTAssertGreaterThan(size["height"] ?? 0, 3 * 60)
            let lines = try XCTUnwrap(answer["lines"] as? [Any])
            XCTAssertEqual(lines.count, 3)
            XCTAssertTrue(lines[1] is NSNull, "a paragraph gap is null")
            for (i, text) in [(0, "abc"), (2, "hello")] {
                let line = try XCTUnwrap(lines[i] as? [String: Any])
                XCTAssertEqual(line["text"] as? String, text)
                let points = try XCTUnwrap(line["points"] as? [[Double]])
                let phi = try XCTUnwrap(line["phi"] as? [[Double]])
                let pi = try XCTUnwrap(line["pi"] as? [[Double]])
                XCTAssertFalse(points.isEmpty)
                XCTAssertEqual(phi.count, points.count)
                XCTAssertEqual(pi.count, points.count)
                XCTAssertTrue(phi.allSatisfy { $0.count == text.count }, "φ over the line's own characters")
                XCTAssertTrue(pi.allSatisfy { $0.count == 2 && abs($0.reduce(0, +) - 1) < 1e-3 })
                XCTAssertTrue(points.allSatisfy { $0.count == 3 && ($0[2] == 0 || $0[2] == 1) })
                XCTAssertEqual(points.last?[2], 1, "the pen lifts after a line's last point")
                XCTAssertTrue(points.allSatisfy { $0[0] >= 0 && $0[0] <= size["width"] ?? 0 && $0[1] >= 0 && $0[1] <= size["height"] ?? 0 })
            }
            XCTAssertNotNil(answer["resampled"] as? [Any])
            // Style "none" is the page's own hand.
            let own = try Self.json(try await Self.post(client, "/v1/write", #"{"text": "abc", "style": "none"}"#))
            XCTAssertTrue(own["style"] is NSNull)
            // Replaceable characters are replaced, as quill write does, and reported.
            let curly = try Self.json(try await Self.post(client, "/v1/write", #"{"text": "“abc”"}"#))
            XCTAssertEqual(curly["replaced"] as? [String], ["'“'→\"", "'”'→\""])
        }
    }

    /// Every bad request is a 4xx whose JSON error names the field at fault.
    func testBadRequestsNameTheField() async throws {
        let server = try server { $0.maxChars = 20; $0.maxBody = 2048 }
        let cases: [(body: String, status: HTTPResponse.Status, field: String?, says: String)] = [
            (#"{"text": ""}"#, .badRequest, "text", "empty"),
            (#"{"text": "  \n "}"#, .badRequest, "text", "empty"),
            (#"{"text": "\u200b"}"#, .badRequest, "text", "invisible"),
            (#"{}"#, .badRequest, "text", "missing"),
            (#"{"text": 3}"#, .badRequest, "text", "must be a string"),
            (#"{"text": "abc ☃ \u0007"}"#, .badRequest, "text", "'☃', U+0007"),
            (#"{"text": "aaaaaaaaaaaaaaaaaaaaa"}"#, .badRequest, "text", "--max-chars"),
            (#"{"text": "abc", "bias": 21}"#, .badRequest, "bias", "from 0 to 20"),
            (#"{"text": "abc", "bias": -1}"#, .badRequest, "bias", "from 0 to 20"),
            (#"{"text": "abc", "bias": "x"}"#, .badRequest, "bias", "a number"),
            (#"{"text": "abc", "seed": -1}"#, .badRequest, "seed", "whole number"),
            (#"{"text": "abc", "seed": 1.5}"#, .badRequest, "seed", "whole number"),
            (#"{"text": "abc", "style": "nope"}"#, .badRequest, "style", "unknown style 'nope'"),
            (#"{"text": "abc", "style": "../model"}"#, .badRequest, "style", "unknown style"),
            (#"{"text": "abc", "color": "blurple"}"#, .badRequest, "color", "not a colour"),
            (#"{"text": "abc", "width": 0}"#, .badRequest, "width", "from 0.1 to 50"),
            (#"{"text": "abc", "width": 1e-300}"#, .badRequest, "width", "from 0.1 to 50"),
            (#"{"text": "abc", "width": 51}"#, .badRequest, "width", "from 0.1 to 50"),
            (#"{"text": "abc", "model": "/etc"}"#, .badRequest, "model", "unknown field 'model'"),
            (#"{"text": "abc""#, .badRequest, nil, "not valid JSON"),
            (#"{"text": "abc", "text": "hello"}"#, .badRequest, "text", "given twice"),
            (#"{"text": "abc", "te\u0078t": "hello"}"#, .badRequest, "text", "given twice"),
            (#"{"text": "abc", "seed": 1, "bias": 1, "seed": 2}"#, .badRequest, "seed", "given twice"),
            ("{\"text\": " + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "}", .badRequest, nil, "more than 32 levels deep"),
            ("{\"text\": " + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}", .badRequest, nil, "more than 32 levels deep"),
            (#"["abc"]"#, .badRequest, nil, "JSON object"),
            (#"{"text": ""# + String(repeating: "a", count: 3000) + #""}"#, .contentTooLarge, nil, "--max-body"),
        ]
        try await withClient(server) { client in
            for endpoint in ["/v1/write", "/v1/write/stream"] {
                for c in cases {
                    let response = try await Self.post(client, endpoint, c.body)
                    XCTAssertEqual(response.status, c.status, "\(endpoint) \(c.body.prefix(60))")
                    let error = try Self.error(response)
                    XCTAssertEqual(error.field, c.field, "\(endpoint) \(c.body.prefix(60)): \(error.message)")
                    XCTAssertTrue(error.message.contains(c.says), "\(endpoint) \(c.body.prefix(60)): \(error.message)")
                }
            }
            // Render's fields.
            for (body, field) in [(#"{"lines": [], "format": "svg"}"#, "lines"),
                                  (#"{"lines": [{"points": [[1, 2]]}], "format": "svg"}"#, "lines[0].points[0]"),
                                  (#"{"lines": [{"points": [[1, 2, 1]]}], "format": "gif"}"#, "format"),
                                  (#"{"lines": [{"points": [[1, 2, 1]], "path": "/etc/passwd"}], "format": "svg"}"#, "lines[0].path"),
                                  (#"{"lines": [{"points": [[1, 2, 1]]}], "format": "svg", "width": -2}"#, "width")] {
                let response = try await Self.post(client, "/v1/render", body)
                XCTAssertEqual(response.status, .badRequest, body)
                XCTAssertEqual(try Self.error(response).field, field, body)
            }
        }
    }

    func testRenderDrawsEachFormat() async throws {
        let server = try server()
        try await withClient(server) { client in
            let answer = try await Self.post(client, "/v1/write", #"{"text": "abc", "seed": 2}"#)
            let written = try Self.json(answer)
            for (format, type, magic) in [("svg", "image/svg+xml", "<?xml"), ("png", "image/png", "\u{89}PNG"), ("pdf", "application/pdf", "%PDF")] {
                let body = try JSONSerialization.data(withJSONObject: ["lines": written["lines"] as Any, "format": format,
                                                                      "size": written["size"] as Any, "color": "navy"])
                let response = try await client.execute(uri: "/v1/render", method: .post, headers: [.contentType: "application/json"],
                                                        body: ByteBuffer(bytes: body))
                XCTAssertEqual(response.status, .ok, format)
                XCTAssertEqual(response.headers[.contentType], type)
                let bytes = Data(buffer: response.body)
                XCTAssertGreaterThan(bytes.count, 200, format)
                XCTAssertEqual(String(decoding: bytes.prefix(magic.unicodeScalars.count), as: Unicode.ASCII.self),
                               String(decoding: magic.unicodeScalars.map { UInt8($0.value) }, as: Unicode.ASCII.self), format)
            }
        }
    }

    /// Without a size, the page covers all the ink: ink at negative x or y is moved to the margin (it was cut off,
    /// or the page blank, with 200); ink at positive coordinates stays where it is.
    func testRenderPageCoversInkAtNegativeCoordinates() throws {
        func body(_ points: String) throws -> RenderBody {
            try JSONDecoder().decode(RenderBody.self, from: Data(#"{"lines": [{"points": \#(points)}], "format": "svg"}"#.utf8))
        }
        let margin = PageOptions().margin + 1
        let negative = try body("[[-50, -50, 0], [-10, -10, 1]]")
        XCTAssertEqual(negative.lines[0][0], [Point(x: margin, y: margin), Point(x: margin + 40, y: margin + 40)])
        XCTAssertEqual(negative.size.width, margin + 40 + margin, accuracy: 1e-9)
        let across = try body("[[-50, 5, 0], [30, 30, 1]]")
        XCTAssertEqual(across.lines[0][0], [Point(x: margin, y: 5), Point(x: margin + 80, y: 30)])
        let positive = try body("[[5, 5, 0], [30, 30, 1]]")
        XCTAssertEqual(positive.lines[0][0], [Point(x: 5, y: 5), Point(x: 30, y: 30)])
        XCTAssertEqual(positive.size.height, 30 + margin, accuracy: 1e-9)
    }

    /// A `/v1/write` answer larger than `--max-body` (its window weights make most of it) goes back to `/v1/render`
    /// as it came, under `--max-render-body`; beyond that limit, a 413 names it.
    func testRenderTakesAWriteAnswerLargerThanMaxBody() async throws {
        let server = try server()
        try await withClient(server) { client in
            let text = Array(repeating: "abc", count: 20).joined(separator: " ")
            let answer = try await Self.post(client, "/v1/write", #"{"text": "\#(text)", "seed": 4}"#)
            XCTAssertEqual(answer.status, .ok, String(buffer: answer.body))
            let written = try Self.json(answer)
            let body = try JSONSerialization.data(withJSONObject: ["lines": written["lines"] as Any, "format": "svg",
                                                                  "size": written["size"] as Any])
            XCTAssertGreaterThan(body.count, ServerConfiguration().maxBody, "the write answer should exceed --max-body")
            let response = try await client.execute(uri: "/v1/render", method: .post, headers: [.contentType: "application/json"],
                                                    body: ByteBuffer(bytes: body))
            XCTAssertEqual(response.status, .ok, String(buffer: response.body).prefix(300).description)
        }
        let small = try self.server { $0.maxRenderBody = 4096 }
        try await withClient(small) { client in
            let lines = (0..<800).map { i in [Double(i), 0.0, 0.0] }
            let body = try JSONSerialization.data(withJSONObject: ["lines": [["points": lines]], "format": "svg"])
            XCTAssertGreaterThan(body.count, 4096)
            let response = try await client.execute(uri: "/v1/render", method: .post, headers: [.contentType: "application/json"],
                                                    body: ByteBuffer(bytes: body))
            XCTAssertEqual(response.status, .contentTooLarge)
            XCTAssert(String(buffer: response.body).contains("--max-render-body"), String(buffer: response.body))
        }
    }

    // MARK: - The stream

    /// Parses Server-Sent Events into (name, JSON) pairs; comment lines are skipped.
    static func events(_ text: String) throws -> [(name: String, data: Any)] {
        try text.components(separatedBy: "\n\n").filter { $0.hasPrefix("event: ") }.map { block in
            let lines = block.components(separatedBy: "\n")
            let name = String(lines[0].dropFirst("event: ".count))
            let data = try XCTUnwrap(lines.first { $0.hasPrefix("data: ") }?.dropFirst("data: ".count))
            return (name, try JSONSerialization.jsonObject(with: Data(data.utf8), options: .fragmentsAllowed))
        }
    }

    /// start, points…, a line per written line, then done, which is the /v1/write answer for the same request.
    func testStreamEndsWithDoneAndMatchesWrite() async throws {
        let server = try server()
        try await withClient(server) { client in
            let body = #"{"text": "hello\nabc", "seed": 9, "style": "none"}"#
            let response = try await Self.post(client, "/v1/write/stream", body)
            XCTAssertEqual(response.status, .ok)
            XCTAssertEqual(response.headers[.contentType], "text/event-stream")
            let events = try Self.events(String(buffer: response.body))
            let names = events.map(\.name)
            XCTAssertEqual(names.first, "start")
            XCTAssertEqual(names.last, "done")
            XCTAssertEqual(names.filter { $0 == "line" }.count, 2)
            XCTAssertGreaterThan(names.filter { $0 == "points" }.count, 1)
            XCTAssertEqual(Array(names.drop { $0 != "line" }), ["line", "line", "done"], "drafts come before the lines")
            let start = try XCTUnwrap(events[0].data as? [String: Any])
            XCTAssertEqual(start["lines"] as? [String], ["hello", "abc"])
            XCTAssertGreaterThan(start["scale"] as? Double ?? 0, 0)
            let written = try Self.json(try await Self.post(client, "/v1/write", body))
            let done = try XCTUnwrap(events.last?.data as? [String: Any])
            XCTAssertEqual(NSDictionary(dictionary: done), NSDictionary(dictionary: written))
            // The drafts of each line, summed, are the first try's raw strokes; each final line is the answer's.
            let lines = try XCTUnwrap(written["lines"] as? [[String: Any]])
            for event in events where event.name == "line" {
                let line = try XCTUnwrap(event.data as? [String: Any])
                let i = try XCTUnwrap(line["line"] as? Int)
                XCTAssertEqual(line["points"] as? [[Double]], lines[i]["points"] as? [[Double]])
                XCTAssertEqual(line["text"] as? String, lines[i]["text"] as? String)
            }
            let resampled = Set((written["resampled"] as? [[String: Int]] ?? []).compactMap { $0["line"] })
            for i in 0..<2 where !resampled.contains(i) {
                let drafts = events.filter { $0.name == "points" }.compactMap { $0.data as? [String: Any] }
                    .filter { $0["line"] as? Int == i }.flatMap { $0["points"] as? [[Double]] ?? [] }
                XCTAssertEqual(drafts.count, (lines[i]["points"] as? [[Double]])?.count, "line \(i)")
            }
        }
    }

    // MARK: - The same strokes as quill write

    /// /v1/write's points are the points `quill write -o page.json --candidates 1` writes for the same text, style,
    /// bias, seed and pen width (the server writes each line once, its strokes streamed as sampled): with the
    /// default style, a named style, and "none" (--own-hand).
    func testWriteEqualsQuillWriteForTheSameSeed() async throws {
        let server = try server()
        let model = self.model, dir = self.dir!
        try await withClient(server) { client in
            for (style, flags) in [(nil, [String]()), ("default", ["--style", "default"]), ("none", ["--own-hand"])] {
                let text = "hello world\nabc"
                let file = dir.path("page-\(style ?? "unset").json")
                var command = try Quill.parseCommand(["write", text, "--model", model, "-o", file, "--seed", "11",
                                                      "--bias", "1.5", "--pen-width", "3", "--candidates", "1"] + flags)
                try command.run()
                let exported = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
                var request: [String: Any] = ["text": text, "seed": 11, "bias": 1.5, "width": 3]
                if let style { request["style"] = style }
                let body = try JSONSerialization.data(withJSONObject: request)
                let answer = try Self.json(try await client.execute(uri: "/v1/write", method: .post, headers: [.contentType: "application/json"],
                                                                    body: ByteBuffer(bytes: body)))
                let page = try XCTUnwrap(exported["page"] as? [String: Double])
                XCTAssertEqual(answer["size"] as? [String: Double], page, style ?? "unset")
                let mine = try XCTUnwrap(answer["lines"] as? [[String: Any]])
                let theirs = try XCTUnwrap(exported["lines"] as? [[String: Any]])
                XCTAssertEqual(mine.count, theirs.count)
                for (a, b) in zip(mine, theirs) {
                    XCTAssertEqual(a["text"] as? String, b["text"] as? String)
                    let strokes = try XCTUnwrap(b["strokes"] as? [[[Double]]])
                    let points: [[Double]] = strokes.flatMap { s in s.enumerated().map { j, p in [p[0], p[1], j == s.count - 1 ? 1 : 0] } }
                    XCTAssertEqual(a["points"] as? [[Double]], points, "\(style ?? "unset"): \(a["text"] ?? "")")
                }
            }
        }
    }

    // MARK: - Limits and cancellation

    /// With one worker busy (held by a hook, not by time) and no queue, a second request gets 503 with Retry-After;
    /// once the worker is free, requests are served again.
    func testQueueFullIs503WithRetryAfter() async throws {
        let gate = Gate()
        let server = try server {
            $0.workers = 1
            $0.queue = 0
            $0.beforeSampling = { gate.holdFirst() }
        }
        try await withClient(server) { client in
            let first = Task { try await Self.post(client, "/v1/write", #"{"text": "abc"}"#) }
            await gate.waitUntilHeld()
            let refused = try await Self.post(client, "/v1/write", #"{"text": "abc"}"#)
            XCTAssertEqual(refused.status, .serviceUnavailable)
            XCTAssertEqual(refused.headers[.retryAfter], "1")
            XCTAssertTrue(try Self.error(refused).message.contains("busy"))
            let refusedStream = try await Self.post(client, "/v1/write/stream", #"{"text": "abc"}"#)
            XCTAssertEqual(refusedStream.status, .serviceUnavailable)
            XCTAssertEqual(refusedStream.headers[.retryAfter], "1")
            // Health checks are answered while every worker is busy.
            let health = try await client.execute(uri: "/healthz", method: .get)
            XCTAssertEqual(health.status, .ok)
            gate.release()
            let served = try await first.value
            XCTAssertEqual(served.status, .ok)
        }
    }

    /// A client that drops the stream in the middle of a line stops its job: the job ends cancelled, seen through
    /// the job hook (no clock involved), and the worker takes the next request.
    func testDroppedStreamCancelsItsJob() async throws {
        let gate = Gate()
        let outcomes = Outcomes()
        let server = try server({
            $0.workers = 1
            $0.queue = 1
            $0.afterPointsSent = { gate.holdFirst() }
        }, jobFinished: { outcomes.append($0) })
        defer { server.shutdown() }
        let body = try JSONDecoder().decode(WriteBody.self, from: Data(#"{"text": "hello world abc", "style": "none"}"#.utf8))
        let job = try server.job(body, deadline: .now + .seconds(3600))
        let response = try server.streamResponse(job)
        // The client reads events until the first points event arrives, then goes away.
        let client = DroppingWriter(dropAt: "event: points")
        async let read: Void = response.body.write(client)
        await gate.waitUntilHeld()
        do { try await read; XCTFail("the writer should have failed") } catch {}
        XCTAssertTrue(client.dropped)
        gate.release()
        let outcome = await outcomes.first()
        XCTAssertEqual(outcome, .cancelled)
        // The worker is free: a request after it is written.
        let again = try server.job(body, deadline: .now + .seconds(3600))
        let flag = CancelFlag()
        let answer = try await server.onWorker(flag: flag) { writer in server.run(again, writer: writer, flag: flag) }
        XCTAssertEqual(answer.1.lines.count, 1)
    }

    /// A request whose time is up before its job starts gets 504 and never samples.
    func testTimeLimitAnswers504() async throws {
        let outcomes = Outcomes()
        let server = try server(jobFinished: { outcomes.append($0) })
        defer { server.shutdown() }
        let body = try JSONDecoder().decode(WriteBody.self, from: Data(#"{"text": "abc"}"#.utf8))
        let job = try server.job(body, deadline: .now - .seconds(1))
        let flag = CancelFlag()
        do {
            _ = try await server.onWorker(flag: flag) { writer in server.run(job, writer: writer, flag: flag) }
            XCTFail("a request past its time should fail")
        } catch let e as APIError {
            XCTAssertEqual(e.status, .gatewayTimeout)
            XCTAssertTrue(e.message.contains("--timeout"), e.message)
        }
        let outcome = await outcomes.first()
        XCTAssertEqual(outcome, .timedOut)
    }

    func testCORSIsOffUnlessAnOriginIsGiven() async throws {
        let origin: HTTPFields = [.origin: "http://example.com"]
        try await withClient(try server()) { client in
            let response = try await client.execute(uri: "/healthz", method: .get, headers: origin)
            XCTAssertNil(response.headers[.accessControlAllowOrigin])
        }
        try await withClient(try server { $0.cors = "http://example.com" }) { client in
            let response = try await client.execute(uri: "/healthz", method: .get, headers: origin)
            XCTAssertEqual(response.headers[.accessControlAllowOrigin], "http://example.com")
            XCTAssertEqual(response.headers[.accessControlExposeHeaders], "Retry-After")
        }
    }

    /// The request log names the method, path, status and text length; the text only with --log-text.
    func testRequestLogLeavesTheTextOutUnlessAsked() async throws {
        for logText in [false, true] {
            let lines = Outcomes.Lines()
            let server = try server {
                $0.logText = logText
                $0.log = { lines.append($0) }
            }
            try await withClient(server) { client in
                _ = try await Self.post(client, "/v1/write", #"{"text": "tall \"bread\"\u0007"}"#)
            }
            let line = try XCTUnwrap(lines.all.first)
            XCTAssertTrue(line.hasPrefix("quill serve: POST /v1/write"), line)
            XCTAssertEqual(line.contains("tall"), logText, line)
            if logText { XCTAssertTrue(line.hasSuffix(#" "tall \"bread\"<U+0007>""#), line) }
        }
    }

    func testServeOptionsAreChecked() throws {
        XCTAssertTrue(errorText(["serve", "--workers", "0"]).contains("--workers must be between 1 and 256"))
        XCTAssertTrue(errorText(["serve", "--port", "70000"]).contains("--port must be between 0 and 65535"))
        XCTAssertTrue(errorText(["serve", "--timeout", "0"]).contains("--timeout"))
        XCTAssertTrue(errorText(["serve", "--max-body", "10"]).contains("--max-body"))
        for origin in ["a b", "*", "notaurl", "https://example.org/", "https://example.org/path", "ftp://example.org",
                       "https://a.org,https://b.org", "https://user@example.org", ""] {
            XCTAssertTrue(errorText(["serve", "--cors", origin]).contains("--cors takes one origin"), origin)
        }
        for origin in ["http://localhost:3000", "https://example.org", "HTTPS://Example.org:8443"] {
            XCTAssertTrue(ServerConfiguration.isOrigin(origin), origin)
        }
        XCTAssertTrue(errorText(["serve", "--model", dir.path("none")]).contains("none"))
        let settings = try XCTUnwrap(try Quill.parseCommand(["serve", "--workers", "3"]) as? ServeCommand).settings
        XCTAssertEqual(settings.host, "127.0.0.1", "loopback by default")
        XCTAssertEqual(settings.queueLimit, 6, "the queue defaults to twice the workers")
        XCTAssertNil(settings.cors)
        XCTAssertGreaterThan(settings.idleTimeout, settings.timeout, "a stalled body meets its 408 before the idle close")
    }
}

// MARK: - Test helpers

extension XCTestCase {
    func errorText(_ args: [String]) -> String {
        do {
            var c = try Quill.parseCommand(args)
            try c.run()
            return "no error"
        } catch {
            return Quill.errorLine(for: error)
        }
    }
}

/// Holds the first thread that reaches it until `release`, and tells the test when one is held: a worker kept busy
/// without any sleeping.
final class Gate: @unchecked Sendable {
    private let held = DispatchSemaphore(value: 0)
    private let open = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var used = false

    /// Called on a worker: the first caller waits for `release`; later callers pass.
    func holdFirst() {
        lock.lock()
        let first = !used
        used = true
        lock.unlock()
        guard first else { return }
        held.signal()
        open.wait()
    }

    func waitUntilHeld() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { self.held.wait(); c.resume() }
        }
    }

    func release() { open.signal() }
}

/// Job outcomes as the server reports them, awaited without polling.
final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [JobOutcome] = []
    private let arrived = DispatchSemaphore(value: 0)

    func append(_ outcome: JobOutcome) {
        lock.lock(); values.append(outcome); lock.unlock()
        arrived.signal()
    }

    /// The first outcome, once there is one.
    func first() async -> JobOutcome? {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { self.arrived.wait(); c.resume() }
        }
        return firstValue
    }

    private var firstValue: JobOutcome? {
        lock.lock(); defer { lock.unlock() }
        return values.first
    }

    /// Log lines.
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [String] = []
        func append(_ line: String) { lock.lock(); values.append(line); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return values }
    }
}

/// A stream's reader that goes away when it sees `dropAt`: its write fails, as a closed connection's does.
final class DroppingWriter: ResponseBodyWriter, @unchecked Sendable {
    let dropAt: String
    private(set) var dropped = false
    init(dropAt: String) { self.dropAt = dropAt }

    func write(_ buffer: ByteBuffer) async throws {
        if String(buffer: buffer).contains(dropAt) {
            dropped = true
            throw CancellationError()
        }
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
