import Testing

@testable import SimulTasks

@Suite struct BlockingHTTPTests {
    @Test func decodesChunkedBodies() throws {
        let body = Array("4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\n\r\n".utf8)
        #expect(try BlockingHTTP.dechunk(body) == Array("Wikipedia".utf8))
        #expect(throws: DownloadError.badResponse("truncated chunk")) {
            try BlockingHTTP.dechunk(Array("9\r\nWiki".utf8))
        }
    }
}
