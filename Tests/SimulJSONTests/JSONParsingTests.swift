import Foundation
import SimulJSON
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
        ("18446744073709551616", .bigInteger("18446744073709551616")),
        ("-9223372036854775809", .bigInteger("-9223372036854775809")),
        ("1180591620717411303424", .bigInteger("1180591620717411303424")),
        ("1180591620717411303424.0", .number(1180591620717411303424.0)),
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

    /// Python clients send integers of any size: past 64 bits they stay exact, never a rounded `Double`.
    @Test func keepsIntegersPastSixtyFourBitsExactly() throws {
        let digits = "123456789012345678901234567890123456789012345678901234567890"
        let text = #"[1180591620717411303425, -18446744073709551617, \#(digits)]"#
        let value = try JSONValue(parsing: Array(text.utf8))
        #expect(
            value == [.bigInteger("1180591620717411303425"), .bigInteger("-18446744073709551617"), .bigInteger(digits)])
        #expect(value.jsonText == "[1180591620717411303425,-18446744073709551617,\(digits)]")
        #expect(value.arrayValue?.map(\.doubleValue) == [0x1p70, -0x1p64, 1.2345678901234568e59])
        #expect(value.arrayValue?.map(\.intValue) == [nil, nil, nil])
        #expect(JSONValue.bigInteger("1" + String(repeating: "0", count: 400)).doubleValue == .infinity)
        // `Codable` writes up to 38 digits exactly (as a `Decimal`), longer ones as the nearest `Double`.
        let encoded = try JSONEncoder().encode(value)
        #expect(
            String(decoding: encoded, as: UTF8.self)
                == "[1180591620717411303425,-18446744073709551617,1.2345678901234567e+59]")
        // Decoding a container of JSON values as itself keeps them exact.
        #expect(try value.decode(as: [JSONValue].self) == value.arrayValue)
        #expect(try JSONValue.object(["n": value]).decode(as: [String: JSONValue].self) == ["n": value])
    }

    @Test(
        arguments: [
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
