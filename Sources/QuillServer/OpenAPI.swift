/// The API described as an OpenAPI 3 document, served at `/openapi.json`. Written by hand, beside the code it
/// describes; `QuillServerTests` checks that every route of the router is in it, and it in the router.
enum OpenAPI {
    static let document = #"""
{
  "openapi": "3.0.3",
  "info": {
    "title": "Quill handwriting synthesis",
    "version": "1",
    "description": "Text to handwriting with Graves's (2013) synthesis network. Coordinates are page points (1/72 inch), y down, the placement `quill write --candidates 1 -o page.json` writes for the same text, options and seed (each line written once). Every error is {\"error\": {\"field\": name or null, \"message\": one line}}. POST bodies are JSON sent with Content-Type: application/json (a UTF-8 charset parameter may be given), else 415; a key given twice in one object is a 400 naming it; bodies nest at most 32 levels. A known path asked with a method it does not take is a 405 with an Allow header. Every GET path answers HEAD as GET without the body. A client that goes away stops its request's work, and a request of it still waiting for a worker leaves the queue. A body must arrive within the server's --timeout, else 408 and the connection is closed; a connection that sends nothing for --idle-timeout seconds while no request of it is answered (a request head sent too slowly included) is closed; HTTP/1.0 connections close after their answer unless they ask for keep-alive. With --cors ORIGIN, answers to that origin carry Access-Control-Allow-Origin and expose Retry-After; a preflight (OPTIONS with Access-Control-Request-Method) is a 204 only from that origin, for a method the path takes and the Content-Type header, else a 403 with the error body. No answer names a file of the server's."
  },
  "paths": {
    "/": {
      "get": {
        "summary": "The web page: type a sentence and watch it being written.",
        "responses": {"200": {"description": "The page", "content": {"text/html": {}}}}
      }
    },
    "/healthz": {
      "get": {
        "summary": "Whether the server is up.",
        "responses": {"200": {"description": "Up", "content": {"application/json": {"schema": {
          "type": "object", "properties": {"status": {"type": "string", "enum": ["ok"]}}}}}}}
      }
    },
    "/openapi.json": {
      "get": {
        "summary": "This document.",
        "responses": {"200": {"description": "The OpenAPI document", "content": {"application/json": {}}}}
      }
    },
    "/v1/model": {
      "get": {
        "summary": "The model: its kind, alphabet and size, and the server's limits.",
        "responses": {"200": {"description": "The model", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Model"}}}}}
      }
    },
    "/v1/styles": {
      "get": {
        "summary": "The model's styles (hands to write in); \"none\" is always accepted as well.",
        "responses": {"200": {"description": "The styles", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Styles"}}}}}
      }
    },
    "/v1/write": {
      "post": {
        "summary": "Write a text: the strokes of each line in page points, with the attention window and mixture weights per point.",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WriteRequest"}}}},
        "responses": {
          "200": {"description": "The page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WriteResponse"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "408": {"$ref": "#/components/responses/SlowBody"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "415": {"$ref": "#/components/responses/NotJSON"},
          "500": {"$ref": "#/components/responses/Failed"},
          "503": {"$ref": "#/components/responses/Busy"},
          "504": {"$ref": "#/components/responses/TimedOut"}
        }
      }
    },
    "/v1/write/stream": {
      "post": {
        "summary": "Write a text as Server-Sent Events, while it is sampled.",
        "description": "Events in order: `start` {lines: [string or null], scale: page points per raw unit}; `points` {line, points: [[dx, dy, end]] raw offsets of the first try, phi, pi}, every few pen steps; `line` {line, text, points: [[x, y, end]] in page points, phi, pi}, the final placed line; `done`, the whole /v1/write answer. On failure after the stream has begun: `error`, the error body with `status`, the HTTP status the same request without a stream is answered with (504 past the time limit), and the end. Comment lines (`: still writing`) keep the connection checked while nothing else is sent.",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WriteRequest"}}}},
        "responses": {
          "200": {"description": "The event stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "408": {"$ref": "#/components/responses/SlowBody"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "415": {"$ref": "#/components/responses/NotJSON"},
          "503": {"$ref": "#/components/responses/Busy"}
        }
      }
    },
    "/v1/render": {
      "post": {
        "summary": "Draw strokes (the lines of a /v1/write answer) as SVG, PNG (150 dpi) or PDF.",
        "description": "Points are page points from -100000 to 100000; a page made from the ink (no size given) is at most 100000 points a side, margin included; a PNG is at most 16777216 pixels (16 megapixels, 4096 × 4096) and 32767 pixels a side at 150 dpi. Each is a 400 naming lines or size. Rendering obeys the server's --timeout (504): it stops between strokes; writing the file, at most 16 megapixels for a PNG, cannot be cut short.",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RenderRequest"}}}},
        "responses": {
          "200": {"description": "The image", "content": {"image/svg+xml": {}, "image/png": {}, "application/pdf": {}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "408": {"$ref": "#/components/responses/SlowBody"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "415": {"$ref": "#/components/responses/NotJSON"},
          "500": {"$ref": "#/components/responses/Failed"},
          "503": {"$ref": "#/components/responses/Busy"},
          "504": {"$ref": "#/components/responses/TimedOut"}
        }
      }
    }
  },
  "components": {
    "schemas": {
      "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["field", "message"], "properties": {
          "field": {"type": "string", "nullable": true, "description": "The request field at fault; null when it is the request as a whole."},
          "message": {"type": "string"}}}}
      },
      "Model": {
        "type": "object",
        "properties": {
          "kind": {"type": "string", "enum": ["synthesis"]},
          "alphabet": {"type": "string", "description": "Every character the model writes."},
          "parameters": {"type": "integer"}, "layers": {"type": "integer"}, "hidden": {"type": "integer"},
          "mixtures": {"type": "integer"}, "window": {"type": "integer"},
          "maxChars": {"type": "integer", "description": "The longest text this server takes, in Unicode code points (a letter with a combining accent is two)."},
          "bias": {"type": "object", "properties": {"min": {"type": "number"}, "max": {"type": "number"}}}
        }
      },
      "Styles": {
        "type": "object",
        "properties": {
          "styles": {"type": "array", "items": {"type": "string"}},
          "default": {"type": "string", "nullable": true, "description": "The style used when a request names none."}
        }
      },
      "WriteRequest": {
        "type": "object", "required": ["text"], "additionalProperties": false,
        "properties": {
          "text": {"type": "string", "description": "Up to maxChars Unicode code points (not counting leading and trailing white space); newlines break lines, long lines wrap at 60 characters. Characters the model lacks are replaced by plain equivalents where there are some (é→e, “→\"), else refused."},
          "style": {"type": "string", "description": "A name of /v1/styles, or \"none\" for the model's own hand. Default: the model's default style."},
          "bias": {"type": "number", "minimum": 0, "maximum": 20, "description": "Graves's sampling bias. Default: quill write's."},
          "seed": {"type": "integer", "minimum": 0, "maximum": 18446744073709551615, "description": "Default: 1. The same seed gives the same strokes as quill write --seed."},
          "color": {"type": "string", "description": "Ink: a colour name or #rgb, #rrggbb, #rrggbbaa. Default: ink."},
          "width": {"type": "number", "minimum": 0.1, "maximum": 50, "description": "Pen width in points, as quill write --pen-width. Default: 2."}
        }
      },
      "Line": {
        "type": "object",
        "properties": {
          "text": {"type": "string"},
          "points": {"type": "array", "items": {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3},
                     "description": "[x, y, end] in page points; end is 1 where the pen lifts after the point."},
          "phi": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}, "description": "Per point, the window φ(t, u) over the line's characters."},
          "pi": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}, "description": "Per point, the mixture weights after the bias."}
        }
      },
      "WriteResponse": {
        "type": "object",
        "properties": {
          "seed": {"type": "integer"}, "bias": {"type": "number"},
          "style": {"type": "string", "nullable": true},
          "color": {"type": "string", "description": "#rrggbb"}, "width": {"type": "number"},
          "size": {"type": "object", "properties": {"width": {"type": "number"}, "height": {"type": "number"}}},
          "lines": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Line"}], "nullable": true}, "description": "One per line; null for a blank line (a paragraph gap)."},
          "resampled": {"type": "array", "items": {"type": "object", "properties": {"line": {"type": "integer"}, "tries": {"type": "integer"}}}},
          "replaced": {"type": "array", "items": {"type": "string"}, "description": "What text preparation changed, sorted: characters the model lacks replaced by plain equivalents, as \"'é'→e\"; invisible characters dropped (zero-width spaces and joiners, byte-order marks, soft hyphens, direction marks), as \"U+200B→''\"; Unicode line and paragraph separators made line breaks, as \"U+2028→U+000A\". At most the first 20; replacedCount says how many there are."},
          "replacedCount": {"type": "integer", "description": "How many distinct changes text preparation made (replaced lists the first 20)."}
        }
      },
      "RenderRequest": {
        "type": "object", "required": ["lines", "format"], "additionalProperties": false,
        "properties": {
          "lines": {"type": "array", "items": {"type": "object", "nullable": true, "properties": {
            "points": {"type": "array", "items": {"type": "array", "items": {"type": "number", "minimum": -100000, "maximum": 100000}}}}},
            "description": "The lines of a /v1/write answer (their text, phi and pi are ignored). Errors name a line and point by index: lines[2], lines[2].points, lines[2].points[7]."},
          "format": {"type": "string", "enum": ["svg", "png", "pdf"]},
          "color": {"type": "string"}, "width": {"type": "number", "minimum": 0.1, "maximum": 50, "description": "Pen width in points, as quill write --pen-width. Default: 2."},
          "size": {"type": "object", "properties": {"width": {"type": "number", "minimum": 1, "maximum": 14400}, "height": {"type": "number", "minimum": 1, "maximum": 14400}},
                   "description": "The page's size in points (the size of a /v1/write answer). Default: the ink's extent and the margin (ink at negative x or y is moved right or down to the margin). A PNG of it is at most 16777216 pixels at 150 dpi."}
        }
      }
    },
    "responses": {
      "BadRequest": {"description": "A field is missing, malformed, out of range, unknown or given twice; the error names it. Malformed or too deeply nested JSON: field null.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "SlowBody": {"description": "The body did not arrive within the server's --timeout; the connection is closed (Connection: close).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "TooLarge": {"description": "The body is larger than the server's --max-body (--max-render-body for /v1/render).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Busy": {"description": "Every worker is busy and the queue is full; try again after Retry-After seconds.", "headers": {"Retry-After": {"schema": {"type": "integer"}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "TimedOut": {"description": "The page or image took longer than the server's --timeout, waiting for a worker included.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "MethodNotAllowed": {"description": "The path takes another method, listed in Allow.", "headers": {"Allow": {"schema": {"type": "string"}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NotJSON": {"description": "The body was not sent as Content-Type: application/json (charset, if given, UTF-8).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Failed": {"description": "The server could not finish (the model's output was not a number, the image could not be made); the details are in the server's log, never in the answer.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
  }
}
"""#
}
