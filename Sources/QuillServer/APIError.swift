import Foundation
import Hummingbird

/// An error answer of the API: an HTTP status and the JSON body
/// `{"error": {"field": "<name or null>", "message": "<one clear line>"}}`, with any extra headers (Retry-After,
/// Allow).
struct APIError: Error, CustomStringConvertible, Sendable {
    var status: HTTPResponse.Status
    /// The request field at fault (`text`, `bias`, …); nil when the fault is the request as a whole.
    var field: String?
    var message: String
    /// Seconds a client should wait before trying again (503).
    var retryAfter: Int?
    /// The methods the path takes, as the `Allow` header of a 405 ("GET, HEAD" or "POST").
    var allow: String?
    /// Close the connection once the answer is sent (`Connection: close`): a 408 whose body is still arriving.
    var closeConnection = false

    init(_ status: HTTPResponse.Status, field: String? = nil, _ message: String, retryAfter: Int? = nil, allow: String? = nil) {
        self.status = status; self.field = field; self.message = message; self.retryAfter = retryAfter; self.allow = allow
    }

    /// 499 (nginx's "client closed request"): the client went away before its answer. No one reads it; the status is
    /// for the request log.
    static let clientClosedRequest = HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request")

    /// The answer of a request whose client went away while it waited or was worked on.
    static var clientClosed: APIError { APIError(clientClosedRequest, "the client closed the request") }

    var description: String { "\(status.code) \(field.map { "\($0): " } ?? "")\(message)" }

    /// A 400 naming `field`.
    static func bad(_ field: String?, _ message: String) -> APIError { APIError(.badRequest, field: field, message) }

    /// The JSON body.
    var body: Data {
        struct Inner: Encodable { var field: String?; var message: String
            func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(field, forKey: .field)  // null, not left out, when there is no field
                try c.encode(message, forKey: .message)
            }
            enum CodingKeys: String, CodingKey { case field, message }
        }
        struct Outer: Encodable { var error: Inner }
        return (try? JSONEncoder.api.encode(Outer(error: Inner(field: field, message: message))))
            ?? Data(#"{"error":{"field":null,"message":"internal error"}}"#.utf8)
    }

    /// The data of a stream's `error` event: the JSON body with the status the same request without a stream is
    /// answered with, `{"error": {...}, "status": 504}` (the stream itself was sent as 200).
    var eventBody: Data {
        var data = body
        // The body is an object: its closing brace gives way to the status.
        if data.last == UInt8(ascii: "}") {
            data.removeLast()
            data.append(contentsOf: Array(",\"status\":\(status.code)}".utf8))
        }
        return data
    }

    var response: Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if let allow { headers[.allow] = allow }
        if closeConnection { headers[.connection] = "close" }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension JSONEncoder {
    /// The API's encoder: keys sorted, so answers are stable byte for byte.
    static var api: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
