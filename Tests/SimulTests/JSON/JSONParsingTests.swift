import Foundation
import Simul
import Testing

@Suite struct JSONParsingTests {
    @Test(arguments: [
        (
            #"{"a": [1, -2, 3.5, 1e3, true, false, null], "b": {"c": "d"}}"#,
            JSONValue.object(["a": [1, -2, 3.5, 1000.0, true, false, nil], "b": ["c": "d"]])
        ),
        (#" [ ] "#, .array([])),
        (#"{}"#, .object([:])),
        (#""caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \n\t""#, .string("café 😀 \"q\" \\ / \n\t")),
        ("\"naïve ✓\"", .string("naïve ✓")),
        ("-9223372036854775808", .integer(Int64.min)),
        ("18446744073709551615", .unsigned(UInt64.max)),
        ("18446744073709551616", .number(18446744073709551616.0)),
        ("0", .integer(0)),
        ("-0.5e-2", .number(-0.005)),
    ])
    func parsesEveryKindOfValue(text: String, expected: JSONValue) throws {
        #expect(try JSONValue(parsing: Array(text.utf8)) == expected)
    }

    @Test func writtenValuesParseBackToThemselves() throws {
        let value: JSONValue = [
            "text": "line\nbreak \u{01} \"quoted\" back\\slash ünï", "numbers": [0, -1, 2.25, .unsigned(UInt64.max)],
            "nested": [["deep": [nil, true]]],
        ]
        #expect(try JSONValue(parsing: value.jsonBytes) == value)
        #expect(try JSONValue(parsing: Data(value.jsonBytes)) == value)
    }

    @Test(arguments: [
        (Array(#"{"a": 1"#.utf8), "unexpected end of the JSON text at byte 7"),
        (Array("[1] x".utf8), "unexpected bytes after the JSON value at byte 4"),
        (Array("01".utf8), "invalid number: leading zero at byte 0"),
        (Array("[1e400, 1]".utf8), "number out of range at byte 1"),
        (Array("-1e309".utf8), "number out of range at byte 0"),
        (Array("[tru]".utf8), "invalid literal, expected 'true' at byte 1"),
        (Array(#""\ud800""#.utf8), "a lone surrogate \\ud800 is not a character at byte 7"),
        (Array(#""abc"#.utf8), "unterminated string at byte 4"),
        ([0x22, 0x63, 0xC3, 0x22], "invalid UTF-8 in a string at byte 1"),
        (Array("\"a\u{01}\"".utf8), "unescaped control character in a string at byte 2"),
        (
            Array((String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8),
            "nesting deeper than 512 at byte 512"
        ),
        (Array(#"{1: 2}"#.utf8), "expected a string key at byte 1"),
        ([], "unexpected end of the JSON text at byte 0"),
    ] as [([UInt8], String)])
    func rejectsWhatIsNotOneJSONValue(bytes: [UInt8], reason: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue(parsing: bytes) }
        do {
            _ = try JSONValue(parsing: bytes)
        } catch {
            #expect(error.description == reason)
        }
    }
}
